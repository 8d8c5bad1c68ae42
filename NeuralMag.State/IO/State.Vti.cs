using NeuralMag.AD;
using NeuralMag.IO;

namespace NeuralMag;

/// <summary>Functions of the state to and from VTK ImageData files (upstream's state.write_vti / read_vti).</summary>
public sealed partial class State
{
    /// <summary>
    /// Writes Functions of a state to one VTI file: nodal ones as point data, cell ones as cell data. Meshes of lower
    /// dimension get one cell of the missing axes' size (upstream pads 1D/2D meshes to 3D); periodic node axes
    /// (n nodes for n cells) are closed by repeating the first node layer.
    /// </summary>
    /// <param name="path">The file to write; its folder must exist.</param>
    /// <param name="names">Names of Functions of this state (all-nodal or all-cell each).</param>
    /// <exception cref="ArgumentException">The name list is empty, has blanks or repeats.</exception>
    /// <exception cref="InvalidOperationException">A name is not a Function of the state, or a Function mixes nodal and cell spaces.</exception>
    public void WriteVti(string path, IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        names = NeuralMag.Loggers.FieldLogger.CheckFieldNames(names, nameof(names));
        var mesh = Mesh;
        var cells = Enumerable.Range(0, 3).Select(a => a < mesh.Dim ? mesh.N[a] : 1).ToArray();
        var fields = new List<(string, double[], int, bool)>();
        foreach (var name in names)
        {
            var f = GetFunction(name);
            bool nodal = f.Spaces.All(c => c == 'n');
            if (!nodal && !f.Spaces.All(c => c == 'c')) throw new InvalidOperationException($"Function '{name}' has mixed spaces '{f.Spaces}'; VTI needs all-nodal or all-cell data.");
            var t = f.Tensor;
            int comps = f.Shape.Length == 0 ? 1 : f.Shape[0];
            if (nodal)
                for (int a = 0; a < mesh.Dim; a++)
                    if (mesh.Pbc[a].IsPeriodic) t = NTensor.Concat(a, t, t.Slice(a, 0, 1, 1));
            var shape = t.GetShape().Take(mesh.Dim).ToList();
            for (int a = mesh.Dim; a < 3; a++) shape.Add(1);
            var v = t.Reshape(shape.Append(comps).ToArray());
            // Missing axes: nodal data gets both node layers of the padding cell.
            for (int a = mesh.Dim; a < 3 && nodal; a++) v = NTensor.Concat(a, v, v);
            fields.Add((name, v.ToArray(), comps, nodal));
        }
        var dx = Enumerable.Range(0, 3).Select(a => mesh.Dx[a]).ToArray();
        var origin = Enumerable.Range(0, 3).Select(a => a < mesh.Origin.Length ? mesh.Origin[a] : 0).ToArray();
        Vti.Write(path, cells, dx, origin, fields);
    }

    /// <summary>Writes the named Functions to one VTI file (see the other overload).</summary>
    public void WriteVti(string path, params string[] names) => WriteVti(path, (IEnumerable<string>)names);

    /// <summary>
    /// Reads a field of a VTI file as a Function of this state, the inverse of <see cref="WriteVti(string, IEnumerable{string})"/>
    /// (upstream's read_vti): point data becomes a nodal Function, cell data a cell Function; one component gives a
    /// scalar, three a vector. The file's grid must be this mesh padded to 3D (one cell on each missing axis); on 1D and
    /// 2D meshes the padding layer is dropped, and on periodic axes the repeated last node layer is dropped.
    /// </summary>
    /// <param name="path">The VTI file.</param>
    /// <param name="name">The array to read; null: the first array of the file.</param>
    /// <exception cref="FileFormatException">The file is not a readable VTI file.</exception>
    /// <exception cref="ArgumentException">The file's grid does not fit this mesh, the array is missing, or it has neither 1 nor 3 components.</exception>
    public Function ReadVti(string path, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var all = Vti.Read(path);
        if (all.Count == 0) throw new ArgumentException($"{path}: the file holds no data arrays.", nameof(path));
        var f = name == null ? all[0] : all.FirstOrDefault(x => x.Name == name)
            ?? throw new ArgumentException($"{path}: no data array named '{name}' (arrays: {string.Join(", ", all.Select(x => $"'{x.Name}'"))}).", nameof(name));
        var cells = Enumerable.Range(0, 3).Select(a => a < Mesh.Dim ? Mesh.N[a] : 1).ToArray();
        var expected = f.OnPoints ? cells.Select(c => c + 1).ToArray() : cells;
        if (!f.GridShape.SequenceEqual(expected))
            throw new ArgumentException($"{path}: array '{f.Name}' has a grid of {string.Join(" x ", f.GridShape)} {(f.OnPoints ? "points" : "cells")}; " +
                $"this {Mesh.Dim}D mesh of {string.Join(" x ", Mesh.N)} cells needs {string.Join(" x ", expected)}.", nameof(path));
        if (f.Components is not (1 or 3))
            throw new ArgumentException($"{path}: array '{f.Name}' has {f.Components} components; a Function holds 1 (scalar) or 3 (vector).", nameof(path));
        var t = NTensor.FromArray(f.Values, f.GridShape.Append(f.Components).ToArray(), DType, Device);
        for (int a = 2; a >= Mesh.Dim; a--) t = t.Slice(a, 0, 1, 1).Reshape(t.GetShape().Where((_, i) => i != a).ToArray());
        if (f.OnPoints)
            for (int a = 0; a < Mesh.Dim; a++)
                if (Mesh.Pbc[a].IsPeriodic) t = t.Slice(a, 0, Mesh.N[a], 1);
        if (f.Components == 1) t = t.Reshape(t.GetShape()[..^1]);
        var spaces = new string(f.OnPoints ? 'n' : 'c', Mesh.Dim);
        return new Function(this, spaces, f.Components == 1 ? Array.Empty<int>() : new[] { 3 }, t, f.Name);
    }
}
