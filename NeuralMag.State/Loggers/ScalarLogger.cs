using System.Globalization;
using System.Text;
using NeuralMag.AD;

namespace NeuralMag.Loggers;

/// <summary>
/// Writes one row of scalars per logged step to a plain-text table (upstream's ScalarLogger): a '#' heading line,
/// columns separated by four spaces, values as %+.15e. A column is a state attribute name or (name, state → value);
/// Functions are averaged over the mesh, 3-vectors expand into name_x, name_y, name_z, other vectors into name_0, ...
/// </summary>
public sealed class ScalarLogger : IDisposable
{
    private readonly List<(string Name, Func<State, object?> Get)> _columns = new();
    private StreamWriter? _file;
    private int _calls;

    /// <param name="path">Output file; its folder is created.</param>
    /// <param name="columns">Attribute names (e.g. "t", "m", "E") or (name, getter) pairs.</param>
    /// <param name="every">Write a row every n-th call of <see cref="Log"/>.</param>
    public ScalarLogger(string path, IEnumerable<object> columns, int every = 1)
    {
        if (every < 1) throw new ArgumentException($"every must be at least 1, got {every}.");
        Path = path;
        Every = every;
        foreach (var c in columns) AddColumn(c);
    }

    public string Path { get; }
    public int Every { get; }

    /// <summary>Adds a column (only before the first row is written).</summary>
    public void AddColumn(object column)
    {
        if (_file != null) throw new InvalidOperationException("Columns cannot be added after the first row has been written.");
        _columns.Add(column switch
        {
            string s => (s, st => st[s]),
            ValueTuple<string, Func<State, object?>> p => p,
            ValueTuple<string, Func<State, double>> p => (p.Item1, st => p.Item2(st)),
            _ => throw new ArgumentException($"Column {column} is neither an attribute name nor a (name, Func<State, object?>) pair."),
        });
    }

    /// <summary>Logs the state (every <see cref="Every"/>-th call).</summary>
    public void Log(State state)
    {
        if (_calls++ % Every != 0) return;
        var values = _columns.Select(c => (c.Name, Values: Flatten(c.Get(state), c.Name))).ToList();
        if (_file == null)
        {
            var dir = System.IO.Path.GetDirectoryName(Path);
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            _file = new StreamWriter(Path, false, Encoding.ASCII);
            var headings = new List<string>();
            foreach (var (name, v) in values)
            {
                if (v.IsScalar) headings.Add(name);
                else if (v.Data.Length == 3) headings.AddRange(new[] { "x", "y", "z" }.Select(a => $"{name}_{a}"));
                else headings.AddRange(Enumerable.Range(0, v.Data.Length).Select(i => $"{name}_{i}"));
            }
            _file.Write("#" + string.Join("    ", headings.Select(h => h.PadRight(22))) + "\n");
        }
        var flat = values.SelectMany(v => v.Values.Data);
        _file.Write(string.Join("    ", flat.Select(Format)) + "\n");
        _file.Flush();
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
        Function f => Flatten(f.EntryMean(), name),
        NTensor t => (t.GetShape().Length == 0, t.ToArray()),
        double d => (true, new[] { d }),
        float f => (true, new[] { (double)f }),
        int i => (true, new[] { (double)i }),
        double[] a => (false, a),
        _ => throw new InvalidOperationException($"Column '{name}' gave {value?.GetType().Name ?? "null"}; expected a number, tensor or Function."),
    };

    public void Dispose() { _file?.Dispose(); _file = null; }
}
