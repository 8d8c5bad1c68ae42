namespace NeuralMag.Loggers;

/// <summary>
/// A scalar table and field snapshots of one run in one folder (upstream's Logger): scalars go to
/// directory/log.dat (<see cref="ScalarLogger"/>), fields to directory/fields.pvd with its .vti snapshots
/// (<see cref="FieldLogger"/>). Each call of <see cref="Log"/> is one step for both. <see cref="Resume"/> continues
/// an earlier run from its last field snapshot, which must hold "m".
/// </summary>
public sealed class Logger : IDisposable
{
    private readonly string[] _fields;
    private readonly int _fieldsEvery;
    private double? _resumeTime;

    /// <param name="directory">The folder of log.dat and fields.pvd; created when needed.</param>
    /// <param name="scalars">Columns of the scalar table (see <see cref="ScalarLogger"/>); none: no table.</param>
    /// <param name="fields">State attributes to snapshot (see <see cref="FieldLogger"/>); none: no snapshots.</param>
    /// <param name="scalarsEvery">A table row every n-th step (n at least 1).</param>
    /// <param name="fieldsEvery">A snapshot every n-th step (n at least 1).</param>
    /// <exception cref="ArgumentException">The directory is empty, or neither scalars nor fields are given, or a column or field is invalid.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An every is below 1.</exception>
    public Logger(string directory, IEnumerable<object>? scalars = null, IEnumerable<string>? fields = null, int scalarsEvery = 1, int fieldsEvery = 1)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (directory.Trim().Length == 0) throw new ArgumentException("Logger: the directory is empty; give a folder for log.dat and fields.pvd.", nameof(directory));
        var columns = scalars?.ToArray() ?? Array.Empty<object>();
        _fields = fields?.ToArray() ?? Array.Empty<string>();
        if (columns.Length == 0 && _fields.Length == 0)
            throw new ArgumentException("Logger: neither scalars nor fields are given; name at least one column or field.", nameof(scalars));
        if (scalarsEvery < 1) throw new ArgumentOutOfRangeException(nameof(scalarsEvery), scalarsEvery, $"scalarsEvery is {scalarsEvery}; it must be at least 1 (1 = every step).");
        if (fieldsEvery < 1) throw new ArgumentOutOfRangeException(nameof(fieldsEvery), fieldsEvery, $"fieldsEvery is {fieldsEvery}; it must be at least 1 (1 = every step).");
        Directory = directory;
        _fieldsEvery = fieldsEvery;
        if (columns.Length > 0) Scalars = new ScalarLogger(System.IO.Path.Combine(directory, "log.dat"), columns, scalarsEvery);
        if (_fields.Length > 0) Fields = NewFieldLogger();
    }

    /// <summary>The folder of the log files.</summary>
    public string Directory { get; }

    /// <summary>The scalar table directory/log.dat, or null without scalar columns.</summary>
    public ScalarLogger? Scalars { get; }

    /// <summary>The snapshots directory/fields.pvd, or null without fields.</summary>
    public FieldLogger? Fields { get; private set; }

    private FieldLogger NewFieldLogger() => new(System.IO.Path.Combine(Directory, "fields.pvd"), _fields, _fieldsEvery);

    /// <summary>
    /// True when <see cref="Resume"/> can continue a run: the folder holds a field collection with at least one snapshot.
    /// </summary>
    /// <exception cref="IO.FileFormatException">The collection file cannot be read.</exception>
    public bool IsResumable => Fields != null && NewFieldLogger().Resume() != null;

    /// <summary>
    /// Logs one step. Right after <see cref="Resume"/>, a call with the restored time is the step already recorded and is
    /// skipped, so a driver can log its state before each step as usual.
    /// </summary>
    public void Log(State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (_resumeTime is double t)
        {
            _resumeTime = null;
            if (state.T == t) return;
        }
        Scalars?.Log(state);
        Fields?.Log(state);
    }

    /// <summary>
    /// Continues the run recorded in <see cref="Directory"/> (upstream's resume): finds the last field snapshot (step s),
    /// sets the state's "m" and time from it, keeps the table rows of steps up to s and drops later ones, so that the
    /// next logged step is s + 1 for both files and nothing recorded up to s is overwritten. Without a snapshot nothing
    /// changes, the state is left as it is and the run starts over (the files are rewritten).
    /// </summary>
    /// <returns>True when the run was resumed, false when there was nothing to resume.</returns>
    /// <exception cref="InvalidOperationException">The logger has no fields, its fields lack "m", it has logged already,
    /// or the table ends before the last snapshot's step (it cannot be aligned with the snapshots).</exception>
    /// <exception cref="IO.FileFormatException">The collection or the table cannot be read.</exception>
    public bool Resume(State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (Fields == null || !_fields.Contains("m"))
            throw new InvalidOperationException($"Logger '{Directory}': resuming restores m from the field snapshots; log \"m\" among the fields (fields: {string.Join(", ", _fields)}).");
        int? last = Fields.Resume();
        if (last == null) return false;
        int tableEnd = Scalars?.ResumableStep() ?? int.MaxValue;
        if (tableEnd < last + 1)
        {
            Fields = NewFieldLogger();
            throw new InvalidOperationException(
                $"Logger '{Directory}': the last snapshot is of step {last}, but log.dat has rows for steps before {tableEnd} only; the files cannot be aligned.");
        }
        var (m, t) = Fields.StepData(last.Value, "m", state);
        Scalars?.Resume(last.Value + 1);
        state["m"] = m;
        state.T = t;
        _resumeTime = t;
        return true;
    }

    /// <summary>Closes the scalar table.</summary>
    public void Dispose() => Scalars?.Dispose();
}
