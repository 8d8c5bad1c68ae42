using System.Text.Json;
using NeuralMag.Sweeps;

namespace NeuralMag.Cluster;

/// <summary>
/// A sweep described in a JSON file:
/// <code>
/// { "name": "skyrmion-map", "model": "skyrmion-disk",
///   "settings": { ... the model's settings ... },
///   "grid": { "D": { "from": 2e-3, "to": 4e-3, "count": 5 }, "B": [0, 0.1, 0.2] },
///   "points": [ { "D": 3e-3, "B": 0.05 } ],
///   "initialStates": [ "skyrmion", "uniform" ],
///   "batch": 8,
///   "quick": { "grid": { ... }, "settings": { ... } } }
/// </code>
/// "grid" (axes: a list of values or {from, to, count}) or "points" (an explicit list), or both (grid points first);
/// "initialStates" multiplies every point; "batch" (default 1) is the most points one call runs together as the
/// members of one batched State, where the model has a batched function; "quick" replaces "grid", "points",
/// "settings" or "batch" for --quick runs.
/// </summary>
public sealed class SweepFile
{
    /// <summary>Name of the sweep (rows are keyed by it; one store can hold several sweeps).</summary>
    public required string Name { get; init; }

    /// <summary>Model name (see <see cref="SweepModelCatalog"/>).</summary>
    public required string Model { get; init; }

    /// <summary>The model's settings as JSON text ("" when none).</summary>
    public required string SettingsJson { get; init; }

    /// <summary>The points.</summary>
    public required IReadOnlyList<SweepPoint> Points { get; init; }

    /// <summary>Most points run together in one batched call (1: one at a time; used where the model has a batched function).</summary>
    public int Batch { get; init; } = 1;

    /// <summary>Reads a sweep file; <paramref name="quick"/> applies its "quick" section.</summary>
    /// <exception cref="FormatException">The file is not a valid sweep description (the message names the field).</exception>
    public static SweepFile Load(string path, bool quick)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new FormatException($"sweep file '{path}' cannot be read: {e.Message}"); }
        try { return Parse(text, quick); }
        catch (Exception e) when (e is JsonException or ArgumentException or FormatException) { throw new FormatException($"sweep file '{path}': {e.Message}"); }
    }

    /// <summary>Parses a sweep description.</summary>
    public static SweepFile Parse(string json, bool quick)
    {
        using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new FormatException("the top level must be an object.");
        var known = new[] { "name", "model", "settings", "grid", "points", "initialStates", "batch", "quick", "description" };
        foreach (var p in root.EnumerateObject())
            if (!known.Contains(p.Name)) throw new FormatException($"unknown field '{p.Name}' (known: {string.Join(", ", known)}).");
        JsonElement? Field(string name)
        {
            if (quick && root.TryGetProperty("quick", out var q) && q.ValueKind == JsonValueKind.Object && q.TryGetProperty(name, out var qv)) return qv;
            return root.TryGetProperty(name, out var v) ? v : null;
        }
        string name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() is { Length: > 0 } ns
            ? ns : throw new FormatException("\"name\" (a non-empty string) is required.");
        if (name.Contains('|')) throw new FormatException($"\"name\" '{name}' must not contain '|'.");
        string model = root.TryGetProperty("model", out var mo) && mo.ValueKind == JsonValueKind.String && mo.GetString() is { Length: > 0 } ms
            ? ms : throw new FormatException("\"model\" (a non-empty string) is required.");
        var settings = Field("settings");
        if (settings is { } st && st.ValueKind != JsonValueKind.Object) throw new FormatException("\"settings\" must be an object.");
        var states = new List<string>();
        if (Field("initialStates") is { } isEl)
        {
            if (isEl.ValueKind != JsonValueKind.Array) throw new FormatException("\"initialStates\" must be a list of names.");
            foreach (var s in isEl.EnumerateArray())
                states.Add(s.ValueKind == JsonValueKind.String && s.GetString() is { Length: > 0 } sv ? sv : throw new FormatException($"\"initialStates\": '{s}' is not a name."));
        }
        var points = new List<SweepPoint>();
        if (Field("grid") is { } grid)
        {
            if (grid.ValueKind != JsonValueKind.Object) throw new FormatException("\"grid\" must be an object of axes.");
            var axes = new List<SweepAxis>();
            foreach (var axis in grid.EnumerateObject())
            {
                if (axis.Value.ValueKind == JsonValueKind.Array)
                    axes.Add(new SweepAxis(axis.Name, axis.Value.EnumerateArray().Select(v => Number(v, $"grid.{axis.Name}")).ToArray()));
                else if (axis.Value.ValueKind == JsonValueKind.Object)
                {
                    double from = Number(Get(axis.Value, "from", axis.Name), $"grid.{axis.Name}.from");
                    double to = Number(Get(axis.Value, "to", axis.Name), $"grid.{axis.Name}.to");
                    var c = Get(axis.Value, "count", axis.Name);
                    int count = c.ValueKind == JsonValueKind.Number && c.TryGetInt32(out var ci) ? ci : throw new FormatException($"grid.{axis.Name}.count must be an integer, got {c}.");
                    axes.Add(SweepAxis.Linear(axis.Name, from, to, count));
                }
                else throw new FormatException($"grid.{axis.Name} must be a list of numbers or {{\"from\", \"to\", \"count\"}}.");
            }
            points.AddRange(SweepSpace.Grid(axes, states));
        }
        if (Field("points") is { } list)
        {
            if (list.ValueKind != JsonValueKind.Array) throw new FormatException("\"points\" must be a list of objects.");
            foreach (var p in list.EnumerateArray())
            {
                if (p.ValueKind != JsonValueKind.Object) throw new FormatException($"\"points\": '{p}' is not an object of parameter values.");
                var parameters = p.EnumerateObject().Select(q => new KeyValuePair<string, double>(q.Name, Number(q.Value, $"points.{q.Name}"))).ToArray();
                if (states.Count > 0) points.AddRange(states.Select(s => new SweepPoint(parameters, s)));
                else points.Add(new SweepPoint(parameters));
            }
        }
        if (points.Count == 0) throw new FormatException("no points: give \"grid\" or \"points\".");
        int batch = 1;
        if (Field("batch") is { } b)
            batch = b.ValueKind == JsonValueKind.Number && b.TryGetInt32(out var bv) && bv >= 1 ? bv : throw new FormatException($"\"batch\" must be an integer >= 1 (points per batched call), got {b}.");
        return new SweepFile { Name = name, Model = model, SettingsJson = settings?.GetRawText() ?? "", Points = SweepSpace.List(points), Batch = batch };
    }

    private static JsonElement Get(JsonElement o, string name, string axis) =>
        o.TryGetProperty(name, out var v) ? v : throw new FormatException($"grid.{axis} needs \"{name}\".");

    private static double Number(JsonElement v, string where) =>
        v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw new FormatException($"{where}: '{v}' is not a number.");
}
