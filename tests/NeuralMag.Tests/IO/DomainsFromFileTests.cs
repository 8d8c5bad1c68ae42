using System.IO.Compression;
using System.Text;
using NeuralMag.AD;
using NeuralMag.IO;

namespace NeuralMag.Tests.IO;

using State = NeuralMag.State;

/// <summary>
/// State.DomainsFromFile: domain ids from the cell data of a VTI file on the mesh's grid, and PNG masks stretched over
/// the mesh in x and y as mumax3's ImageShape (dark = 1, light or transparent = 0, top pixel row at the largest y).
/// The PNG files are encoded here, independently of the decoder.
/// </summary>
[TestClass]
public sealed class DomainsFromFileTests
{
    private string _dir = "";

    [TestInitialize]
    public void Init() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), $"nm_domains_{Guid.NewGuid():N}"));

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_dir, true);

    private static State NewState(params int[] n) =>
        new(new Mesh(n, new[] { 2e-9, 3e-9, 1e-9 }), Device.Cpu, DType.Float64);

    private string WriteVti(string name, int[] cells, double[] ids, bool onPoints = false, string array = "domains", int components = 1)
    {
        var path = Path.Combine(_dir, name);
        Vti.Write(path, cells, new[] { 2e-9, 3e-9, 1e-9 }, new double[3], new[] { (array, ids, components, onPoints) });
        return path;
    }

    [TestMethod]
    public void VtiCellDataGivesTheIdOfEachCell()
    {
        // 3D: id = 1 + i + 2 j - k on 3 x 2 x 2 cells, in row-major order (x slowest).
        var state = NewState(3, 2, 2);
        var ids = new double[12];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 2; j++) for (int k = 0; k < 2; k++) ids[(i * 2 + j) * 2 + k] = 1 + i + 2 * j - k;
        var f = state.DomainsFromFile(WriteVti("d3.vti", new[] { 3, 2, 2 }, ids));
        Assert.AreEqual("ccc", f.Spaces);
        CollectionAssert.AreEqual(new[] { 3, 2, 2 }, f.Tensor.GetShape());
        CollectionAssert.AreEqual(ids, f.Tensor.ToArray());

        // 2D: the file's grid is the mesh padded with one cell along z; ids 0 leave the cell outside the magnet (rho = eps).
        var flat = NewState(2, 2);
        var path = WriteVti("d2.vti", new[] { 2, 2, 1 }, new double[] { 0, 3, 1, 2 });
        flat["domains"] = flat.DomainsFromFile(path);
        CollectionAssert.AreEqual(new double[] { 0, 3, 1, 2 }, flat.Tensor("domains").ToArray());
        var rho = flat.Tensor("rho").ToArray();
        Assert.AreEqual(DType.Float64.Eps(), rho[0]);
        CollectionAssert.AreEqual(new double[] { 1, 1, 1 }, rho[1..]);
    }

    [TestMethod]
    public void VtiArraysAndGridsThatDoNotFitAreRefused()
    {
        var state = NewState(2, 2);
        var grid = Assert.ThrowsExactly<ArgumentException>(() => state.DomainsFromFile(WriteVti("g.vti", new[] { 2, 3, 1 }, new double[6])));
        Assert.AreEqual("path", grid.ParamName);
        StringAssert.Contains(grid.Message, "grid of 2 x 3 x 1 cells; this 2D mesh of 2 x 2 cells needs 2 x 2 x 1");

        var frac = Assert.ThrowsExactly<ArgumentException>(() => state.DomainsFromFile(WriteVti("f.vti", new[] { 2, 2, 1 }, new[] { 1, 1, 1.5, 1 })));
        StringAssert.Contains(frac.Message, "cell (1, 0, 0) of 'domains' holds 1.5; domain ids must be integers");

        var points = WriteVti("p.vti", new[] { 2, 2, 1 }, new double[18], onPoints: true, array: "m");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => state.DomainsFromFile(points)).Message, "no one-component cell array");
        var vector = WriteVti("v.vti", new[] { 2, 2, 1 }, new double[12], array: "axis", components: 3);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => state.DomainsFromFile(vector, "axis")).Message, "has 3 components");
        var named = Assert.ThrowsExactly<ArgumentException>(() => state.DomainsFromFile(vector, "ids"));
        Assert.AreEqual("arrayName", named.ParamName);
        StringAssert.Contains(named.Message, "no cell array named 'ids' (cell arrays: 'axis')");

        File.WriteAllText(Path.Combine(_dir, "d.txt"), "1 2 3");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => state.DomainsFromFile(Path.Combine(_dir, "d.txt"))).Message, "extension '.txt'");
        Assert.ThrowsExactly<FileNotFoundException>(() => state.DomainsFromFile(Path.Combine(_dir, "none.vti")));
    }

    /// <summary>An 8-bit PNG (color type 0 gray, 2 RGB or 6 RGBA) of rows top first, each row width x channels bytes.</summary>
    private string WritePng(string name, int width, int height, int colorType, byte[] pixels)
    {
        int channels = colorType switch { 0 => 1, 2 => 3, 6 => 4, _ => throw new ArgumentOutOfRangeException(nameof(colorType)) };
        Assert.AreEqual(width * height * channels, pixels.Length);
        var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0); // filter: none
            raw.Write(pixels, y * width * channels, width * channels);
        }
        var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true)) raw.WriteTo(zs);
        var png = new MemoryStream();
        png.Write(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A });
        var ihdr = new byte[13];
        BigEndian(ihdr, 0, (uint)width);
        BigEndian(ihdr, 4, (uint)height);
        ihdr[8] = 8;
        ihdr[9] = (byte)colorType;
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", z.ToArray());
        Chunk(png, "IEND", Array.Empty<byte>());
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, png.ToArray());
        return path;
    }

    private static void BigEndian(byte[] b, int o, uint v) { b[o] = (byte)(v >> 24); b[o + 1] = (byte)(v >> 16); b[o + 2] = (byte)(v >> 8); b[o + 3] = (byte)v; }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var head = new byte[8];
        BigEndian(head, 0, (uint)data.Length);
        Encoding.ASCII.GetBytes(type, 0, 4, head, 4);
        s.Write(head);
        s.Write(data);
        // CRC-32 (polynomial 0xEDB88320) over type and data.
        uint crc = 0xFFFFFFFF;
        foreach (var b in head[4..].Concat(data))
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        var tail = new byte[4];
        BigEndian(tail, 0, ~crc);
        s.Write(tail);
    }

    private static double[,] Plane(CellFunction f, int nx, int ny, int layer = 0, int nz = 1)
    {
        var v = f.Tensor.ToArray();
        var p = new double[nx, ny];
        for (int i = 0; i < nx; i++) for (int j = 0; j < ny; j++) p[i, j] = v[(i * ny + j) * nz + layer];
        return p;
    }

    [TestMethod]
    public void PngMaskIsStretchedOverTheMeshWithTheTopRowAtTheLargestY()
    {
        // 2 x 2 gray pixels, top row: black, white; bottom row: white, black. On 4 x 6 cells each pixel covers 2 x 3 cells.
        var path = WritePng("checker.png", 2, 2, 0, new byte[] { 0, 255, 255, 0 });
        var state = NewState(4, 6);
        var p = Plane(state.DomainsFromFile(path), 4, 6);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 6; j++)
            {
                bool left = i < 2, top = j >= 3;
                Assert.AreEqual(left == top ? 1.0 : 0.0, p[i, j], $"cell ({i}, {j})");
            }

        // 3D: every z layer the same.
        var thick = NewState(4, 6, 3);
        var f = thick.DomainsFromFile(path);
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 6; j++) Assert.AreEqual(p[i, j], Plane(f, 4, 6, k, 3)[i, j], $"cell ({i}, {j}, {k})");
    }

    [TestMethod]
    public void PngMaskSamplesThePixelUnderEachCellCentre()
    {
        // 3 pixels over 4 cells: centres at 3/8, 9/8, 15/8, 21/8 pixel widths fall on pixels 0, 1, 1, 2.
        var path = WritePng("row.png", 3, 1, 0, new byte[] { 0, 255, 0 });
        var p = Plane(NewState(4, 1).DomainsFromFile(path), 4, 1);
        CollectionAssert.AreEqual(new double[] { 1, 0, 0, 1 }, Enumerable.Range(0, 4).Select(i => p[i, 0]).ToArray());
    }

    [TestMethod]
    public void PngMaskDarkMeansOpaqueAndBelowHalfBrightness()
    {
        // RGBA pixels: opaque black, fully transparent black, mean 127 (inside), mean 128 (outside), red (mean 85, inside), faint opaque-1 black.
        var pixels = new byte[]
        {
            0, 0, 0, 255,
            0, 0, 0, 0,
            127, 127, 127, 255,
            128, 128, 128, 255,
            255, 0, 0, 255,
            0, 0, 0, 1,
        };
        var path = WritePng("shades.png", 6, 1, 6, pixels);
        var p = Plane(NewState(6, 1).DomainsFromFile(path), 6, 1);
        CollectionAssert.AreEqual(new double[] { 1, 0, 1, 0, 1, 1 }, Enumerable.Range(0, 6).Select(i => p[i, 0]).ToArray());

        var rgb = WritePng("rgb.png", 2, 1, 2, new byte[] { 10, 20, 30, 250, 240, 230 });
        var q = Plane(NewState(2, 1).DomainsFromFile(rgb), 2, 1);
        CollectionAssert.AreEqual(new double[] { 1, 0 }, new[] { q[0, 0], q[1, 0] });
    }

    [TestMethod]
    public void PngMasksThatCannotBeUsedAreRefused()
    {
        var path = WritePng("one.png", 1, 1, 0, new byte[] { 0 });
        var line = Assert.ThrowsExactly<ArgumentException>(() => new State(new Mesh(new[] { 5 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64).DomainsFromFile(path));
        StringAssert.Contains(line.Message, "this mesh is 1D");
        var broken = Path.Combine(_dir, "broken.png");
        File.WriteAllBytes(broken, File.ReadAllBytes(path)[..20]);
        var e = Assert.ThrowsExactly<FileFormatException>(() => NewState(2, 2).DomainsFromFile(broken));
        Assert.AreEqual(broken, e.FilePath);
        StringAssert.Contains(e.Message, "cannot be decoded as a PNG image");
    }
}
