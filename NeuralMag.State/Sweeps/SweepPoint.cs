using System.Globalization;
using System.Text;

namespace NeuralMag.Sweeps;

/// <summary>
/// One point of a sweep: named parameter values (in the order the sweep lists its axes) and, optionally, the name of
/// an initial state. <see cref="Key"/> is a stable text key built from both ("D=0.003;H=0.1;m0=skyrmion", values in
/// round-trip notation), the same on every machine and in every run, so that a results store can tell which points
/// are done.
/// </summary>
public sealed class SweepPoint
{
    private readonly KeyValuePair<string, double>[] _parameters;

    /// <summary>Creates a point from parameter values and an optional initial-state name.</summary>
    /// <param name="parameters">Parameter name and value pairs; names must be non-empty, unique and free of '=' and ';', values finite.</param>
    /// <param name="initialState">Name of the initial state (e.g. "skyrmion"), or null when the point function chooses it.</param>
    /// <exception cref="ArgumentException">A name is empty, repeated or contains '=' or ';', a value is not finite, or <paramref name="initialState"/> contains ';'.</exception>
    public SweepPoint(IEnumerable<KeyValuePair<string, double>> parameters, string? initialState = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters.ToArray();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, value) in _parameters)
        {
            if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(new[] { '=', ';' }) >= 0 || name == InitialStateName)
                throw new ArgumentException($"parameter name '{name}' is not allowed: names are non-empty, without '=' or ';', and not '{InitialStateName}'.", nameof(parameters));
            if (!seen.Add(name)) throw new ArgumentException($"parameter '{name}' is given twice.", nameof(parameters));
            if (!double.IsFinite(value)) throw new ArgumentException($"parameter '{name}' = {value} is not finite.", nameof(parameters));
        }
        if (initialState != null && (initialState.Length == 0 || initialState.Contains(';')))
            throw new ArgumentException($"initialState '{initialState}' must be non-empty and without ';'.", nameof(initialState));
        InitialState = initialState;
        var key = new StringBuilder();
        foreach (var (name, value) in _parameters)
            key.Append(key.Length > 0 ? ";" : "").Append(name).Append('=').Append(value.ToString("R", CultureInfo.InvariantCulture));
        if (initialState != null) key.Append(key.Length > 0 ? ";" : "").Append(InitialStateName).Append('=').Append(initialState);
        Key = key.ToString();
    }

    /// <summary>The key word under which <see cref="InitialState"/> appears in <see cref="Key"/>.</summary>
    public const string InitialStateName = "m0";

    /// <summary>Parameter names and values, in the sweep's axis order.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> Parameters => _parameters;

    /// <summary>Name of the initial state, or null.</summary>
    public string? InitialState { get; }

    /// <summary>Stable key of the point: "name=value;..." in axis order, then "m0=name" when an initial state is set.</summary>
    public string Key { get; }

    /// <summary>The value of parameter <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The point has no parameter of that name (the message lists those it has).</exception>
    public double this[string name]
    {
        get
        {
            foreach (var (n, v) in _parameters) if (n == name) return v;
            throw new KeyNotFoundException($"sweep point '{Key}' has no parameter '{name}'; it has {string.Join(", ", _parameters.Select(p => p.Key))}.");
        }
    }

    /// <summary>The value of parameter <paramref name="name"/>, or <paramref name="fallback"/> when the point has none.</summary>
    public double Get(string name, double fallback)
    {
        foreach (var (n, v) in _parameters) if (n == name) return v;
        return fallback;
    }

    /// <summary>Parses a key written by <see cref="Key"/> back into a point.</summary>
    /// <exception cref="FormatException">The text is not a point key.</exception>
    public static SweepPoint Parse(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var parameters = new List<KeyValuePair<string, double>>();
        string? initial = null;
        foreach (var part in key.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0) throw new FormatException($"sweep point key '{key}': '{part}' is not name=value.");
            var name = part[..eq];
            var text = part[(eq + 1)..];
            if (name == InitialStateName) { initial = text; continue; }
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                throw new FormatException($"sweep point key '{key}': '{text}' is not a number.");
            parameters.Add(new(name, value));
        }
        return new SweepPoint(parameters, initial);
    }

    /// <inheritdoc/>
    public override string ToString() => Key;
}

/// <summary>One axis of a sweep grid: a parameter name and its values.</summary>
/// <param name="Name">Parameter name.</param>
/// <param name="Values">Values in sweep order.</param>
public sealed record SweepAxis(string Name, IReadOnlyList<double> Values)
{
    /// <summary><paramref name="count"/> evenly spaced values from <paramref name="from"/> to <paramref name="to"/> (both included).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is below 1, or 1 while the ends differ.</exception>
    public static SweepAxis Linear(string name, double from, double to, int count)
    {
        if (count < 1 || (count == 1 && from != to))
            throw new ArgumentOutOfRangeException(nameof(count), count, $"axis '{name}': count must be at least 1 (and 2 or more when from {from} differs from to {to}).");
        return new SweepAxis(name, Enumerable.Range(0, count).Select(i => count == 1 ? from : from + (to - from) * i / (count - 1)).ToArray());
    }
}

/// <summary>Builds the points of a sweep: a grid (Cartesian product of axes) or an explicit list, times initial states.</summary>
public static class SweepSpace
{
    /// <summary>
    /// Every combination of the axes' values (the last axis varies fastest), once per initial state when
    /// <paramref name="initialStates"/> is given (the state varies fastest of all).
    /// </summary>
    /// <exception cref="ArgumentException">No axis, an axis without values, or a repeated axis name.</exception>
    public static IReadOnlyList<SweepPoint> Grid(IReadOnlyList<SweepAxis> axes, IReadOnlyList<string>? initialStates = null)
    {
        ArgumentNullException.ThrowIfNull(axes);
        if (axes.Count == 0) throw new ArgumentException("a sweep grid needs at least one axis.", nameof(axes));
        foreach (var a in axes)
            if (a.Values.Count == 0) throw new ArgumentException($"axis '{a.Name}' has no values.", nameof(axes));
        var points = new List<SweepPoint>();
        var index = new int[axes.Count];
        while (true)
        {
            var parameters = axes.Select((a, i) => new KeyValuePair<string, double>(a.Name, a.Values[index[i]])).ToArray();
            if (initialStates is { Count: > 0 }) points.AddRange(initialStates.Select(s => new SweepPoint(parameters, s)));
            else points.Add(new SweepPoint(parameters));
            int k = axes.Count - 1;
            while (k >= 0 && ++index[k] == axes[k].Values.Count) index[k--] = 0;
            if (k < 0) break;
        }
        CheckUnique(points);
        return points;
    }

    /// <summary>An explicit list of points; keys must be unique.</summary>
    /// <exception cref="ArgumentException">Two points have the same key.</exception>
    public static IReadOnlyList<SweepPoint> List(IEnumerable<SweepPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var list = points.ToList();
        CheckUnique(list);
        return list;
    }

    private static void CheckUnique(IReadOnlyList<SweepPoint> points)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in points)
            if (!keys.Add(p.Key)) throw new ArgumentException($"sweep point '{p.Key}' occurs twice.", nameof(points));
    }
}
