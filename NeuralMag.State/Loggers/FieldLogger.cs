using System.Globalization;
using System.Xml.Linq;
using NeuralMag.IO;

namespace NeuralMag.Loggers;

/// <summary>
/// Writes state fields every n-th call as VTI snapshots plus a ParaView collection (.pvd) that lists each snapshot
/// with its simulation time (upstream's FieldLogger). Snapshots are numbered from 0 by their own count, whatever
/// <see cref="Every"/> is: calls 0, n, 2n, ... of <see cref="Log"/> write name_0000.vti, name_0001.vti, name_0002.vti, ...
/// (upstream numbers by call count / n, so its series starts at _0001 for n = 1 and at _0000 for n &gt; 1).
/// A call of <see cref="Log"/> is a step: call k is step k, and snapshot i holds step i * n. <see cref="Resume"/>
/// continues an earlier run's collection from its last snapshot.
/// </summary>
public sealed class FieldLogger
{
    private readonly string _stem;
    private readonly string[] _fields;
    private XElement _collection = new("Collection");
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

    /// <summary>The step of the last snapshot ((<see cref="Count"/> - 1) * <see cref="Every"/>), or null before the first one.</summary>
    public int? LastRecordedStep => Count == 0 ? null : (Count - 1) * Every;

    /// <summary>The first step that has no snapshot yet and would get one: <see cref="Count"/> * <see cref="Every"/>.</summary>
    public int ResumableStep => Count * Every;

    /// <summary>
    /// Continues the collection <see cref="PvdPath"/> of an earlier run (upstream's resume): its snapshots are kept and
    /// the next one is numbered <see cref="Count"/>, so no recorded file is overwritten. The next call of <see cref="Log"/>
    /// is step <see cref="LastRecordedStep"/> + 1: restore the state from <see cref="StepData"/> of the last recorded step
    /// and log from the step after it. Without a collection file nothing changes and the logger starts a new series.
    /// A snapshot file that the collection does not list (one written by a run stopped before it rewrote the .pvd) is
    /// not a record: the step it holds is logged again and the file replaced.
    /// </summary>
    /// <returns>The last recorded step, or null when there is no collection file or it lists no snapshot.</returns>
    /// <exception cref="InvalidOperationException">This logger has been called already.</exception>
    /// <exception cref="FileFormatException">The collection file is not a VTK collection of DataSets with a file and a numeric timestep, or a listed snapshot file is missing.</exception>
    public int? Resume()
    {
        if (_calls != 0 || Count != 0)
            throw new InvalidOperationException($"FieldLogger '{PvdPath}' has logged {_calls} steps already; resume a fresh logger, before its first Log.");
        if (!File.Exists(PvdPath)) return null;
        XDocument doc;
        try { doc = XDocument.Load(PvdPath); }
        catch (System.Xml.XmlException e) { throw new FileFormatException(PvdPath, $"not an XML file ({e.Message}).", e); }
        var root = doc.Root!;
        if (root.Name != "VTKFile" || (string?)root.Attribute("type") != "Collection")
            throw new FileFormatException(PvdPath, $"the root element is <{root.Name} type=\"{(string?)root.Attribute("type")}\">; a collection has <VTKFile type=\"Collection\">.");
        var collection = root.Element("Collection") ?? throw new FileFormatException(PvdPath, "there is no <Collection> element.");
        var folder = Path.GetDirectoryName(PvdPath) ?? "";
        int i = 0;
        foreach (var set in collection.Elements())
        {
            var file = (string?)set.Attribute("file");
            var t = (string?)set.Attribute("timestep");
            if (set.Name != "DataSet" || string.IsNullOrEmpty(file) || !double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                throw new FileFormatException(PvdPath, $"entry {i} is <{set.Name} file=\"{file}\" timestep=\"{t}\">; each entry must be a DataSet with a file and a numeric timestep.");
            if (!File.Exists(Path.Combine(folder, file)))
                throw new FileFormatException(PvdPath, $"entry {i} lists '{file}', which does not exist in '{folder}'.");
            i++;
        }
        _collection = collection;
        _calls = Count == 0 ? 0 : (Count - 1) * Every + 1;
        return LastRecordedStep;
    }

    /// <summary>
    /// A recorded field and its time (upstream's step_data): the array <paramref name="field"/> of the snapshot of
    /// <paramref name="step"/>, read as a Function of <paramref name="state"/>, and the snapshot's simulation time.
    /// </summary>
    /// <param name="step">A recorded step: a multiple of <see cref="Every"/> up to <see cref="LastRecordedStep"/>.</param>
    /// <param name="field">The array name (one of the logged fields, e.g. "m").</param>
    /// <param name="state">The state whose mesh the snapshot was written on.</param>
    /// <exception cref="ArgumentOutOfRangeException">The step is not recorded.</exception>
    /// <exception cref="ArgumentException">The snapshot has no such array or its grid does not fit the state's mesh.</exception>
    public (Function Field, double Time) StepData(int step, string field, State state)
    {
        ArgumentNullException.ThrowIfNull(field);
        ArgumentNullException.ThrowIfNull(state);
        if (step < 0 || step % Every != 0 || step / Every >= Count)
            throw new ArgumentOutOfRangeException(nameof(step), step,
                Count == 0 ? $"FieldLogger '{PvdPath}' has no snapshots."
                    : $"Step {step} has no snapshot; recorded are the multiples of {Every} from 0 to {LastRecordedStep}.");
        var set = _collection.Elements().ElementAt(step / Every);
        var file = Path.Combine(Path.GetDirectoryName(PvdPath) ?? "", (string)set.Attribute("file")!);
        var time = double.Parse((string)set.Attribute("timestep")!, NumberStyles.Float, CultureInfo.InvariantCulture);
        return (state.ReadVti(file, field), time);
    }

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
