using System.Globalization;
using System.Xml.Linq;
using NeuralMag.IO;

namespace NeuralMag.Loggers;

/// <summary>
/// Writes state fields every n-th call as VTI snapshots (name_0000.vti, ...) plus a ParaView collection (.pvd)
/// that lists each snapshot with its simulation time (upstream's FieldLogger).
/// </summary>
public sealed class FieldLogger
{
    private readonly string _stem;
    private readonly string[] _fields;
    private readonly XElement _collection = new("Collection");
    private int _calls;

    /// <param name="pvdPath">The collection file; must end in .pvd. Its folder is created.</param>
    /// <param name="fields">State attribute names of nodal or cell Functions (e.g. "m", "h_demag").</param>
    /// <param name="every">Write a snapshot every n-th call of <see cref="Log"/>.</param>
    public FieldLogger(string pvdPath, IEnumerable<string> fields, int every = 1)
    {
        if (!pvdPath.EndsWith(".pvd", StringComparison.Ordinal)) throw new ArgumentException($"FieldLogger writes a .pvd collection; got '{pvdPath}'.");
        if (every < 1) throw new ArgumentException($"every must be at least 1, got {every}.");
        _stem = pvdPath[..^4];
        _fields = fields.ToArray();
        Every = every;
        var dir = Path.GetDirectoryName(pvdPath);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
    }

    /// <summary>A snapshot is written every n-th call of <see cref="Log"/> (1: every call).</summary>
    public int Every { get; }
    /// <summary>The ParaView collection file (.pvd).</summary>
    public string PvdPath => _stem + ".pvd";

    /// <summary>Snapshots written so far.</summary>
    public int Count => _collection.Elements().Count();

    /// <summary>Writes the snapshot of the fields on every <see cref="Every"/>-th call (the first call included) and rewrites the .pvd.</summary>
    public void Log(State state)
    {
        if (_calls++ % Every != 0) return;
        var file = $"{_stem}_{_calls / Every:0000}.vti";
        WriteVti(state, _fields, file);
        _collection.Add(new XElement("DataSet", new XAttribute("timestep", state.T.ToString("R", CultureInfo.InvariantCulture)),
            new XAttribute("file", Path.GetFileName(file))));
        new XDocument(new XElement("VTKFile", new XAttribute("type", "Collection"), new XAttribute("version", "0.1"),
            new XAttribute("byte_order", "LittleEndian"), _collection)).Save(PvdPath);
    }

    /// <summary>
    /// Writes Functions of a state to one VTI file: nodal ones as point data, cell ones as cell data. Meshes of lower
    /// dimension get one cell of the missing axes' size (upstream pads 1D/2D meshes to 3D); periodic node axes
    /// (n nodes for n cells) are closed by repeating the first node layer.
    /// </summary>
    public static void WriteVti(State state, IEnumerable<string> names, string path)
    {
        var mesh = state.Mesh;
        var cells = Enumerable.Range(0, 3).Select(a => a < mesh.Dim ? mesh.N[a] : 1).ToArray();
        var fields = new List<(string, double[], int, bool)>();
        foreach (var name in names)
        {
            var f = state.GetFunction(name);
            bool nodal = f.Spaces.All(c => c == 'n');
            if (!nodal && !f.Spaces.All(c => c == 'c')) throw new InvalidOperationException($"Function '{name}' has mixed spaces '{f.Spaces}'; VTI needs all-nodal or all-cell data.");
            var t = f.Tensor;
            int comps = f.Shape.Length == 0 ? 1 : f.Shape[0];
            if (nodal)
                for (int a = 0; a < mesh.Dim; a++)
                    if (mesh.Pbc[a].IsPeriodic) t = AD.NTensor.Concat(a, t, t.Slice(a, 0, 1, 1));
            var shape = t.GetShape().Take(mesh.Dim).ToList();
            for (int a = mesh.Dim; a < 3; a++) shape.Add(1);
            var v = t.Reshape(shape.Append(comps).ToArray());
            // Missing axes: nodal data gets both node layers of the padding cell.
            for (int a = mesh.Dim; a < 3 && nodal; a++) v = AD.NTensor.Concat(a, v, v);
            fields.Add((name, v.ToArray(), comps, nodal));
        }
        var dx = Enumerable.Range(0, 3).Select(a => mesh.Dx[a]).ToArray();
        var origin = Enumerable.Range(0, 3).Select(a => a < mesh.Origin.Length ? mesh.Origin[a] : 0).ToArray();
        Vti.Write(path, cells, dx, origin, fields);
    }
}
