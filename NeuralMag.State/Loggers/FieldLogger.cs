using System.Globalization;
using System.Xml.Linq;
using NeuralMag.IO;

namespace NeuralMag.Loggers;

/// <summary>
/// Writes state fields every n-th call as VTI snapshots plus a ParaView collection (.pvd) that lists each snapshot
/// with its simulation time (upstream's FieldLogger). Snapshots are numbered from 0 by their own count, whatever
/// <see cref="Every"/> is: calls 0, n, 2n, ... of <see cref="Log"/> write name_0000.vti, name_0001.vti, name_0002.vti, ...
/// (upstream numbers by call count / n, so its series starts at _0001 for n = 1 and at _0000 for n &gt; 1).
/// </summary>
public sealed class FieldLogger
{
    private readonly string _stem;
    private readonly string[] _fields;
    private readonly XElement _collection = new("Collection");
    private int _calls;

    /// <param name="pvdPath">The collection file; must end in .pvd. Its folder is created.</param>
    /// <param name="fields">State attribute names of nodal or cell Functions (e.g. "m", "h_demag"); at least one, no repeats.</param>
    /// <param name="every">Write a snapshot every n-th call of <see cref="Log"/> (n at least 1), starting with the first call.</param>
    /// <exception cref="ArgumentException">The path does not end in .pvd, or the field list is empty, has blanks or repeats.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="every"/> is below 1.</exception>
    /// <exception cref="IOException">The folder cannot be created; the message names it.</exception>
    public FieldLogger(string pvdPath, IEnumerable<string> fields, int every = 1)
    {
        ArgumentNullException.ThrowIfNull(pvdPath);
        ArgumentNullException.ThrowIfNull(fields);
        if (!pvdPath.EndsWith(".pvd", StringComparison.Ordinal) || Path.GetFileName(pvdPath).Length <= 4)
            throw new ArgumentException($"FieldLogger writes a .pvd collection; pvdPath must be a file name ending in .pvd, got '{pvdPath}'.", nameof(pvdPath));
        if (every < 1) throw new ArgumentOutOfRangeException(nameof(every), every, $"every is {every}; it must be at least 1 (1 = every call).");
        _fields = CheckFieldNames(fields, nameof(fields));
        _stem = pvdPath[..^4];
        Every = every;
        FileArguments.CreateFolderOf(pvdPath, "FieldLogger");
    }

    /// <summary>A snapshot is written on every n-th call of <see cref="Log"/>.</summary>
    public int Every { get; }

    /// <summary>The collection file.</summary>
    public string PvdPath => _stem + ".pvd";

    /// <summary>Snapshots written so far.</summary>
    public int Count => _collection.Elements().Count();

    /// <summary>The file of snapshot <paramref name="index"/> (0 for the first): stem_0000.vti, stem_0001.vti, ...</summary>
    public string SnapshotPath(int index) =>
        index >= 0 ? $"{_stem}_{index:0000}.vti" : throw new ArgumentOutOfRangeException(nameof(index), index, "Snapshot indices start at 0.");

    /// <summary>Writes a snapshot on calls 0, n, 2n, ... (n = <see cref="Every"/>) and rewrites the collection file.</summary>
    public void Log(State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (_calls++ % Every != 0) return;
        var file = SnapshotPath(Count);
        WriteVti(state, _fields, file);
        _collection.Add(new XElement("DataSet", new XAttribute("timestep", state.T.ToString("R", CultureInfo.InvariantCulture)),
            new XAttribute("file", Path.GetFileName(file))));
        FileArguments.Write(PvdPath, "FieldLogger", () =>
            new XDocument(new XElement("VTKFile", new XAttribute("type", "Collection"), new XAttribute("version", "0.1"),
                new XAttribute("byte_order", "LittleEndian"), _collection)).Save(PvdPath));
    }

    internal static string[] CheckFieldNames(IEnumerable<string> fields, string paramName)
    {
        var names = fields.ToArray();
        if (names.Length == 0) throw new ArgumentException("No fields given; name at least one state attribute (e.g. \"m\").", paramName);
        foreach (var n in names)
            if (string.IsNullOrWhiteSpace(n)) throw new ArgumentException("A field name is empty.", paramName);
        var repeated = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (repeated != null) throw new ArgumentException($"Field '{repeated.Key}' is listed twice.", paramName);
        return names;
    }

    /// <summary>Writes Functions of a state to one VTI file (<see cref="State.WriteVti"/>).</summary>
    public static void WriteVti(State state, IEnumerable<string> names, string path)
    {
        ArgumentNullException.ThrowIfNull(state);
        state.WriteVti(path, names);
    }
}
