using System.Text.Json;
using NeuralMag.Sweeps;

namespace NeuralMag.Cluster;

/// <summary>
/// A named per-point function that a sweep file (and so every silo) can name: <see cref="Create"/> checks the file's
/// settings and returns the function. Silos run the model by name, so every silo process must know it.
/// </summary>
public interface ISweepModel
{
    /// <summary>The name a sweep file gives in "model".</summary>
    string Name { get; }

    /// <summary>One line saying what a point does and which parameters and outputs it has.</summary>
    string Description { get; }

    /// <summary>Checks <paramref name="settings"/> (the file's "settings" object; null when absent) and returns the point function.</summary>
    /// <exception cref="ArgumentException">A setting is unknown or out of range (the message names it).</exception>
    SweepPointFunction Create(JsonElement? settings);

    /// <summary>
    /// The batched point function for the same settings, which runs a group of points together (e.g. as the members of
    /// one batched State), or null (the default) when the model runs one point at a time.
    /// </summary>
    /// <exception cref="ArgumentException">A setting is unknown or out of range (the message names it).</exception>
    SweepBatchFunction? CreateBatch(JsonElement? settings) => null;
}

/// <summary>The models a process can run, by name.</summary>
public sealed class SweepModelCatalog
{
    private readonly Dictionary<string, ISweepModel> _models = new(StringComparer.Ordinal);

    /// <summary>A catalog of the given models (names must be unique).</summary>
    public SweepModelCatalog(IEnumerable<ISweepModel> models)
    {
        foreach (var m in models)
            if (!_models.TryAdd(m.Name, m)) throw new ArgumentException($"sweep model '{m.Name}' is registered twice.", nameof(models));
    }

    /// <summary>The registered models.</summary>
    public IReadOnlyCollection<ISweepModel> Models => _models.Values;

    /// <summary>
    /// The batched point function of model <paramref name="name"/> (see <see cref="ISweepModel.CreateBatch"/>), or null
    /// when the model has none.
    /// </summary>
    /// <exception cref="ArgumentException">No model of that name, or bad settings.</exception>
    public SweepBatchFunction? CreateBatch(string name, string settingsJson)
    {
        if (!_models.TryGetValue(name, out var model))
            throw new ArgumentException($"unknown sweep model '{name}'; known: {string.Join(", ", _models.Keys.Order(StringComparer.Ordinal))}.", nameof(name));
        if (string.IsNullOrWhiteSpace(settingsJson)) return model.CreateBatch(null);
        using var doc = JsonDocument.Parse(settingsJson);
        return model.CreateBatch(doc.RootElement.Clone());
    }

    /// <summary>The point function of model <paramref name="name"/> with the settings given as JSON text (empty: none).</summary>
    /// <exception cref="ArgumentException">No model of that name, or bad settings.</exception>
    public SweepPointFunction Create(string name, string settingsJson)
    {
        if (!_models.TryGetValue(name, out var model))
            throw new ArgumentException($"unknown sweep model '{name}'; known: {string.Join(", ", _models.Keys.Order(StringComparer.Ordinal))}.", nameof(name));
        if (string.IsNullOrWhiteSpace(settingsJson)) return model.Create(null);
        using var doc = JsonDocument.Parse(settingsJson);
        return model.Create(doc.RootElement.Clone());
    }
}

/// <summary>
/// The engine's own cost, for tests and the overhead benchmark: a point returns "sum" (of its parameters) and "count"
/// (their number) after waiting "sleepMs" (setting, default 0) milliseconds; setting "failWhen" {"name": value} makes
/// the points with that parameter value throw (to test failed rows).
/// </summary>
public sealed class TrivialModel : ISweepModel
{
    /// <inheritdoc/>
    public string Name => "trivial";

    /// <inheritdoc/>
    public string Description => "no physics: outputs sum and count of the parameters after sleepMs; failWhen {name: value} throws";

    /// <inheritdoc/>
    public SweepPointFunction Create(JsonElement? settings)
    {
        double sleepMs = 0;
        var failWhen = new List<(string Name, double Value)>();
        if (settings is { } s)
        {
            if (s.ValueKind != JsonValueKind.Object) throw new ArgumentException($"trivial: settings must be an object, got {s.ValueKind}.", nameof(settings));
            foreach (var p in s.EnumerateObject())
            {
                switch (p.Name)
                {
                    case "sleepMs":
                        sleepMs = p.Value.ValueKind == JsonValueKind.Number && p.Value.GetDouble() is >= 0 and var v ? v
                            : throw new ArgumentException($"trivial: sleepMs must be a number >= 0, got {p.Value}.", nameof(settings));
                        break;
                    case "failWhen":
                        if (p.Value.ValueKind != JsonValueKind.Object) throw new ArgumentException($"trivial: failWhen must be an object {{\"name\": value}}, got {p.Value}.", nameof(settings));
                        foreach (var f in p.Value.EnumerateObject())
                            failWhen.Add((f.Name, f.Value.ValueKind == JsonValueKind.Number ? f.Value.GetDouble()
                                : throw new ArgumentException($"trivial: failWhen.{f.Name} must be a number, got {f.Value}.", nameof(settings))));
                        break;
                    default:
                        throw new ArgumentException($"trivial: unknown setting '{p.Name}' (known: sleepMs, failWhen).", nameof(settings));
                }
            }
        }
        return (point, ct) =>
        {
            if (sleepMs > 0) Task.Delay(TimeSpan.FromMilliseconds(sleepMs), ct).GetAwaiter().GetResult();
            foreach (var (name, value) in failWhen)
                if (point.Get(name, double.NaN) == value)
                    throw new InvalidOperationException($"point {point.Key} fails on purpose (failWhen {name} = {value}).");
            return new[]
            {
                new KeyValuePair<string, double>("sum", point.Parameters.Sum(p => p.Value)),
                new KeyValuePair<string, double>("count", point.Parameters.Count),
            };
        };
    }

    /// <summary>The same outputs for a group of points in one call (the batch runners' engine cost); a failWhen point fails alone.</summary>
    public SweepBatchFunction? CreateBatch(JsonElement? settings)
    {
        var single = Create(settings);
        return (points, ct) => points.Select(p =>
        {
            try { return SweepPointResult.Ok(single(p, ct)); }
            catch (InvalidOperationException e) { return SweepPointResult.Fail($"{e.GetType().Name}: {e.Message}"); }
        }).ToList();
    }
}
