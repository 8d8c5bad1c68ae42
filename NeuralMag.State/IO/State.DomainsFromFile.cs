using NeuralMag.AD;
using NeuralMag.IO;
using StbImageSharp;

namespace NeuralMag;

public sealed partial class State
{
    /// <summary>
    /// Domain ids per cell read from a file (upstream's domains_from_file), as a cell Function to assign to
    /// <c>state["domains"]</c>:
    /// <list type="bullet">
    /// <item>a VTK ImageData file (.vti) on this mesh's grid: a one-component cell array whose values are integers
    /// (stored as floats) gives the id of each cell; the grid is this mesh padded to 3D (one cell on each missing axis);</item>
    /// <item>a VTK UnstructuredGrid file (.vtu, e.g. a tetrahedral mesh of a device from gmsh or ParaView), as upstream:
    /// each cell centre of this 3D mesh is located in the unstructured grid and gets the value of the cell array there,
    /// −1 where no volume cell contains it (file coordinates × <paramref name="scale"/> = metres);</item>
    /// <item>a PNG mask (.png), as mumax3's ImageShape: the image is stretched over the mesh's extent in x and y, the
    /// top row of pixels at the largest y, and the cell whose centre falls on a dark pixel (not fully transparent, mean of
    /// red, green and blue below half of full scale) gets id 1, any other cell id 0; on a 3D mesh every z layer gets the
    /// same ids.</item>
    /// </list>
    /// </summary>
    /// <param name="path">A .vti, .vtu or .png file.</param>
    /// <param name="arrayName">For .vti and .vtu files: the cell array to read; null: the file's first one-component cell array. Not used for images.</param>
    /// <param name="scale">For .vtu files: the length in m of one unit of the file's coordinates (1e-9 for a mesh in nm); positive.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FileFormatException">The file cannot be decoded as VTI or PNG.</exception>
    /// <exception cref="ArgumentException">The extension is neither .vti nor .png; the VTI array is missing, not a
    /// one-component cell array, on another grid, or holds a value that is not an integer; an image mask is applied
    /// to a 1D mesh.</exception>
    public CellFunction DomainsFromFile(string path, string? arrayName = null, double scale = 1.0)
    {
        if (!(scale > 0) || !double.IsFinite(scale)) throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale is the length in m of one unit of the file's coordinates; it must be positive and finite.");
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"DomainsFromFile: '{path}' does not exist.", path);
        var ext = Path.GetExtension(path).ToLowerInvariant();
        var ids = ext switch
        {
            ".vti" => DomainIdsFromVti(path, arrayName),
            ".vtu" => DomainIdsFromUnstructuredGrid(path, arrayName, scale),
            ".png" => DomainIdsFromImage(path),
            _ => throw new ArgumentException($"DomainsFromFile: '{path}' has the extension '{ext}'; read are .vti (cell data of domain ids), .vtu (an unstructured grid with cell data) and .png (a mask).", nameof(path)),
        };
        return new CellFunction(this, tensor: NTensor.FromArray(ids, Mesh.N.ToArray(), DType, Device), name: "domains");
    }

    private double[] DomainIdsFromVti(string path, string? arrayName)
    {
        var arrays = Vti.Read(path);
        var cellScalars = arrays.Where(a => !a.OnPoints && a.Components == 1).ToList();
        var f = arrayName == null
            ? cellScalars.FirstOrDefault() ?? throw new ArgumentException(
                $"{path}: no one-component cell array of domain ids (arrays: {string.Join(", ", arrays.Select(a => $"'{a.Name}' ({(a.OnPoints ? "points" : "cells")}, {a.Components} components)"))}).", nameof(path))
            : arrays.FirstOrDefault(a => a.Name == arrayName && !a.OnPoints) ?? throw new ArgumentException(
                $"{path}: no cell array named '{arrayName}' (cell arrays: {string.Join(", ", arrays.Where(a => !a.OnPoints).Select(a => $"'{a.Name}'"))}).", nameof(arrayName));
        if (f.Components != 1)
            throw new ArgumentException($"{path}: cell array '{f.Name}' has {f.Components} components; domain ids are one number per cell.", nameof(arrayName));
        var cells = Enumerable.Range(0, 3).Select(a => a < Mesh.Dim ? Mesh.N[a] : 1).ToArray();
        if (!f.GridShape.SequenceEqual(cells))
            throw new ArgumentException($"{path}: cell array '{f.Name}' is on a grid of {string.Join(" x ", f.GridShape)} cells; " +
                $"this {Mesh.Dim}D mesh of {string.Join(" x ", Mesh.N)} cells needs {string.Join(" x ", cells)}.", nameof(path));
        for (int c = 0; c < f.Values.Length; c++)
        {
            double v = f.Values[c];
            if (!double.IsFinite(v) || v != Math.Round(v))
            {
                int i = c / (cells[1] * cells[2]), j = c / cells[2] % cells[1], k = c % cells[2];
                throw new ArgumentException($"{path}: cell ({i}, {j}, {k}) of '{f.Name}' holds {v}; domain ids must be integers.", nameof(path));
            }
        }
        return f.Values;
    }

    private double[] DomainIdsFromUnstructuredGrid(string path, string? arrayName, double scale)
    {
        if (Mesh.Dim != 3)
            throw new ArgumentException($"DomainsFromFile: an unstructured grid is sampled at the cell centres of a 3D mesh; this mesh is {Mesh.Dim}D.", nameof(path));
        var grid = Vtu.Read(path);
        var array = arrayName == null
            ? grid.CellData.FirstOrDefault(a => a.Components == 1) ?? throw new ArgumentException(
                $"{path}: no one-component cell array of domain ids (cell arrays: {(grid.CellData.Count == 0 ? "none" : string.Join(", ", grid.CellData.Select(a => $"'{a.Name}' ({a.Components} components)")))}).", nameof(path))
            : grid.CellData.FirstOrDefault(a => a.Name == arrayName) ?? throw new ArgumentException(
                $"{path}: no cell array named '{arrayName}' (cell arrays: {string.Join(", ", grid.CellData.Select(a => $"'{a.Name}'"))}).", nameof(arrayName));
        if (array.Components != 1)
            throw new ArgumentException($"{path}: cell array '{array.Name}' has {array.Components} components; domain ids are one number per cell.", nameof(arrayName));
        var locator = new CellLocator(grid, path);
        int nx = Mesh.N[0], ny = Mesh.N[1], nz = Mesh.N[2];
        var ids = new double[nx * ny * nz];
        for (int i = 0; i < nx; i++)
            for (int j = 0; j < ny; j++)
                for (int k = 0; k < nz; k++)
                {
                    double x = (Mesh.Origin[0] + (i + 0.5) * Mesh.Dx[0]) / scale;
                    double y = (Mesh.Origin[1] + (j + 0.5) * Mesh.Dx[1]) / scale;
                    double z = (Mesh.Origin[2] + (k + 0.5) * Mesh.Dx[2]) / scale;
                    int cell = locator.Find(x, y, z);
                    double v = cell < 0 ? -1 : array.Values[cell];
                    if (!double.IsFinite(v) || v != Math.Round(v))
                        throw new ArgumentException($"{path}: cell {cell} of '{array.Name}' (at the centre of mesh cell ({i}, {j}, {k})) holds {v}; domain ids must be integers.", nameof(path));
                    ids[(i * ny + j) * nz + k] = v;
                }
        return ids;
    }

    private double[] DomainIdsFromImage(string path)
    {
        if (Mesh.Dim < 2)
            throw new ArgumentException($"DomainsFromFile: an image mask covers the xy plane; this mesh is 1D ({Mesh.N[0]} cells). Use a .vti file of domain ids.", nameof(path));
        ImageResult image;
        try { image = ImageResult.FromMemory(File.ReadAllBytes(path), ColorComponents.RedGreenBlueAlpha); }
        catch (Exception e) when (e is not (OutOfMemoryException or IOException or UnauthorizedAccessException))
        {
            throw new FileFormatException(path, $"cannot be decoded as a PNG image ({e.Message}).", e);
        }
        int w = image.Width, h = image.Height;
        if (w < 1 || h < 1 || image.Data == null || image.Data.Length < (long)w * h * 4)
            throw new FileFormatException(path, $"the decoded image has {w} x {h} pixels and {image.Data?.Length ?? 0} bytes; it holds no pixels.");
        int nx = Mesh.N[0], ny = Mesh.N[1], nz = Mesh.Dim == 3 ? Mesh.N[2] : 1;
        var ids = new double[nx * ny * nz];
        for (int i = 0; i < nx; i++)
        {
            // Cell centre (i + 1/2) of nx cells over the image width: pixel column floor(w (i + 1/2) / nx).
            int px = (int)Math.Floor(w * (i + 0.5) / nx);
            for (int j = 0; j < ny; j++)
            {
                // y grows upwards, pixel rows downwards: the cell row j sits on pixel row h - 1 - floor(h (j + 1/2) / ny).
                int py = h - 1 - (int)Math.Floor(h * (j + 0.5) / ny);
                int o = (py * w + px) * 4;
                byte r = image.Data[o], g = image.Data[o + 1], b = image.Data[o + 2], a = image.Data[o + 3];
                bool inside = a > 0 && 2 * (r + g + b) < 3 * 255;
                for (int k = 0; k < nz; k++) ids[(i * ny + j) * nz + k] = inside ? 1 : 0;
            }
        }
        return ids;
    }
}
