using System.Globalization;
using System.Text;
using NeuralMag.AD;
using NeuralMag.IO;

namespace NeuralMag.Loggers;

/// <summary>
/// Writes one row of scalars per logged step to a plain-text table (upstream's ScalarLogger): a '#' heading line,
/// columns separated by four spaces, values as %+.15e. A column is a state attribute name or (name, state → value);
/// Functions are logged as their volume-weighted average (<see cref="Function.Avg"/>, upstream's avg), 3-vectors expand into name_x, name_y, name_z, other vectors into name_0, ...
/// </summary>
public sealed class ScalarLogger : IDisposable
{
    private readonly List<(string Name, Func<State, object?> Get)> _columns = new();
    private StreamWriter? _file;
    private int _calls;
    private int _width = -1;
    private bool _disposed;
    private (string[] Header, long KeepBytes)? _resume;

    /// <param name="path">Output file (not a folder); its folder is created here.</param>
    /// <param name="columns">Attribute names (e.g. "t", "m", "E") or (name, getter) pairs; distinct names.</param>
    /// <param name="every">Write a row every n-th call of <see cref="Log"/> (n at least 1), starting with the first call.</param>
    /// <exception cref="ArgumentException">The path is empty or a folder, or a column is invalid or repeated.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="every"/> is below 1.</exception>
    /// <exception cref="IOException">The folder cannot be created; the message names it.</exception>
    public ScalarLogger(string path, IEnumerable<object> columns, int every = 1)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(columns);
        if (path.Trim().Length == 0) throw new ArgumentException("ScalarLogger: the file path is empty.", nameof(path));
        if (Directory.Exists(path)) throw new ArgumentException($"ScalarLogger: '{path}' is a folder; give a file name.", nameof(path));
        if (every < 1) throw new ArgumentOutOfRangeException(nameof(every), every, $"every is {every}; it must be at least 1 (1 = every call).");
        Path = path;
        Every = every;
        foreach (var c in columns) AddColumn(c);
        FileArguments.CreateFolderOf(path, "ScalarLogger");
    }

    /// <summary>The table file.</summary>
    public string Path { get; }

    /// <summary>A row is written on every n-th call of <see cref="Log"/>.</summary>
    public int Every { get; }

    /// <summary>Adds a column (only before the first row is written).</summary>
    /// <exception cref="ArgumentException">The column is not a name or (name, getter) pair, its name is empty, or repeats another column's.</exception>
    /// <exception cref="InvalidOperationException">A row has been written already.</exception>
    public void AddColumn(object column)
    {
        ArgumentNullException.ThrowIfNull(column);
        if (_file != null) throw new InvalidOperationException("Columns cannot be added after the first row has been written.");
        (string Name, Func<State, object?> Get) c = column switch
        {
            string s => (s, st => st[s]),
            ValueTuple<string, Func<State, object?>> p => (p.Item1, p.Item2),
            ValueTuple<string, Func<State, double>> p when p.Item2 != null => (p.Item1, st => p.Item2(st)),
            _ => throw new ArgumentException($"Column {column} ({column.GetType().Name}) is neither an attribute name nor a (name, Func<State, object?>) or (name, Func<State, double>) pair.", nameof(column)),
        };
        if (string.IsNullOrWhiteSpace(c.Name) || c.Name.Any(char.IsWhiteSpace))
            throw new ArgumentException($"Column name '{c.Name}' is empty or holds whitespace; the heading line separates names by spaces.", nameof(column));
        if (c.Get == null) throw new ArgumentException($"Column '{c.Name}' has no getter (null).", nameof(column));
        if (_columns.Any(x => x.Name == c.Name)) throw new ArgumentException($"Column '{c.Name}' is listed twice.", nameof(column));
        _columns.Add(c);
    }

    /// <summary>Logs the state on calls 0, n, 2n, ... (n = <see cref="Every"/>); the first row also writes the heading.</summary>
    /// <exception cref="ObjectDisposedException">The logger was disposed.</exception>
    /// <exception cref="InvalidOperationException">There are no columns, a column gives no number, or a column's width changed between rows.</exception>
    public void Log(State state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(state);
        if (_columns.Count == 0) throw new InvalidOperationException($"ScalarLogger '{Path}' has no columns; add at least one.");
        if (_calls++ % Every != 0) return;
        var values = _columns.Select(c => (c.Name, Values: Flatten(c.Get(state), c.Name))).ToList();
        int width = values.Sum(v => v.Values.Data.Length);
        if (_width >= 0 && width != _width)
            throw new InvalidOperationException($"ScalarLogger '{Path}': this row has {width} numbers, the heading has {_width}; a column changed its length.");
        if (_file == null)
        {
            var headings = new List<string>();
            foreach (var (name, v) in values)
            {
                if (v.IsScalar) headings.Add(name);
                else if (v.Data.Length == 3) headings.AddRange(new[] { "x", "y", "z" }.Select(a => $"{name}_{a}"));
                else headings.AddRange(Enumerable.Range(0, v.Data.Length).Select(i => $"{name}_{i}"));
            }
            if (_resume is { } r)
            {
                if (!r.Header.SequenceEqual(headings))
                    throw new InvalidOperationException(
                        $"ScalarLogger '{Path}': cannot append, the table's columns ({string.Join(", ", r.Header)}) differ from this logger's ({string.Join(", ", headings)}).");
                FileArguments.Write(Path, "ScalarLogger", () =>
                {
                    using (var f = new FileStream(Path, FileMode.Open, FileAccess.Write)) f.SetLength(r.KeepBytes);
                    _file = new StreamWriter(Path, true, Encoding.ASCII);
                });
                _resume = null;
            }
            else
            {
                FileArguments.Write(Path, "ScalarLogger", () => _file = new StreamWriter(Path, false, Encoding.ASCII));
                _file!.Write("#" + string.Join("    ", headings.Select(h => h.PadRight(22))) + "\n");
            }
            _width = width;
        }
        var flat = values.SelectMany(v => v.Values.Data);
        FileArguments.Write(Path, "ScalarLogger", () =>
        {
            _file!.Write(string.Join("    ", flat.Select(Format)) + "\n");
            _file.Flush();
        });
    }

    /// <summary>
    /// The first step an earlier run's table has no row for (upstream's resumable_step): its complete rows times
    /// <see cref="Every"/>; 0 when the file does not exist. A last line without a line end (a run stopped while writing)
    /// does not count.
    /// </summary>
    /// <exception cref="InvalidOperationException">This logger is writing the file already.</exception>
    /// <exception cref="FileFormatException">The file does not start with a '#' heading line.</exception>
    public int ResumableStep() => ReadTable().Rows * Every;

    /// <summary>
    /// Appends to the table of an earlier run from <paramref name="step"/> on (upstream's resume): rows of steps before
    /// it are kept, later ones are dropped, and the next call of <see cref="Log"/> is that step. The file is changed only on
    /// that next call, after its columns have been checked against the table's heading: a different heading throws and
    /// leaves the file as it is. Step 0 starts a new table.
    /// </summary>
    /// <param name="step">The step to continue with; at most <see cref="ResumableStep"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The step is negative or beyond the rows of the table.</exception>
    /// <exception cref="FileNotFoundException">The step is positive and the file does not exist.</exception>
    /// <exception cref="InvalidOperationException">This logger has been called already.</exception>
    /// <exception cref="FileFormatException">The heading is missing or a kept row has a different count of numbers.</exception>
    public void Resume(int step)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_calls != 0) throw new InvalidOperationException($"ScalarLogger '{Path}' has logged {_calls} steps already; resume a fresh logger, before its first Log.");
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "The step to resume from must be at least 0.");
        if (step == 0) return;
        if (!File.Exists(Path)) throw new FileNotFoundException($"ScalarLogger: cannot resume at step {step}, the table '{Path}' does not exist.", Path);
        var table = ReadTable();
        int keep = (step + Every - 1) / Every; // rows of calls 0, n, 2n, ... below step
        if (keep > table.Rows)
            throw new ArgumentOutOfRangeException(nameof(step), step,
                $"The table '{Path}' has {table.Rows} rows (every {Every}: steps before {table.Rows * Every}); resume at a step up to {table.Rows * Every}.");
        for (int i = 0; i < keep; i++)
            if (table.RowWidths[i] != table.Header.Length)
                throw new FileFormatException(Path, $"row {i + 1} has {table.RowWidths[i]} numbers, the heading {table.Header.Length} columns.");
        _resume = (table.Header, table.LineEnds[keep]);
        _calls = step;
    }

    /// <summary>Heading names, complete row count, byte offset after the heading and after each row, numbers per row.</summary>
    private (string[] Header, int Rows, long[] LineEnds, int[] RowWidths) ReadTable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_file != null) throw new InvalidOperationException($"ScalarLogger '{Path}' is writing the table; resume a fresh logger.");
        if (!File.Exists(Path)) return (Array.Empty<string>(), 0, new long[] { 0 }, Array.Empty<int>());
        byte[] bytes;
        try { bytes = File.ReadAllBytes(Path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new IOException($"ScalarLogger: cannot read '{Path}' ({e.Message}).", e); }
        var ends = new List<long>();
        var widths = new List<int>();
        string[]? header = null;
        int start = 0;
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != (byte)'\n') continue;
            var line = Encoding.ASCII.GetString(bytes, start, i - start);
            var words = line.TrimStart('#').Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (header == null)
            {
                if (!line.StartsWith('#')) throw new FileFormatException(Path, $"the first line '{line}' is not a '#' heading of column names.");
                header = words;
            }
            else widths.Add(words.Length);
            ends.Add(i + 1);
            start = i + 1;
        }
        if (header == null) throw new FileFormatException(Path, "there is no complete '#' heading line.");
        return (header, widths.Count, ends.ToArray(), widths.ToArray());
    }

    /// <summary>C's %+.15e: sign, 16 significant digits, two-digit signed exponent.</summary>
    internal static string Format(double v)
    {
        if (!double.IsFinite(v)) return double.IsNaN(v) ? "nan" : v > 0 ? "+inf" : "-inf";
        var s = v.ToString("E15", CultureInfo.InvariantCulture); // d.dddE+ddd
        int e = s.IndexOf('E');
        int exp = int.Parse(s[(e + 1)..], CultureInfo.InvariantCulture);
        var mant = s[..e];
        if (!mant.StartsWith('-')) mant = "+" + mant;
        return $"{mant}e{(exp < 0 ? '-' : '+')}{Math.Abs(exp):00}";
    }

    private static (bool IsScalar, double[] Data) Flatten(object? value, string name) => value switch
    {
        Function f => Flatten(f.Avg(), name), // upstream logs a Function as its avg(): the volume-weighted average
        NTensor t => (t.GetShape().Length == 0, t.ToArray()),
        double d => (true, new[] { d }),
        float f => (true, new[] { (double)f }),
        int i => (true, new[] { (double)i }),
        double[] a => (false, a),
        _ => throw new InvalidOperationException($"Column '{name}' gave {value?.GetType().Name ?? "null"}; expected a number, tensor or Function."),
    };

    /// <summary>Closes the file; later calls of <see cref="Log"/> throw.</summary>
    public void Dispose() { _file?.Dispose(); _file = null; _disposed = true; }
}
