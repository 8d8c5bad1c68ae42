using System.Globalization;

namespace NeuralMag.Sweeps;

/// <summary>How a sweep point ended.</summary>
public enum SweepStatus
{
    /// <summary>The point function returned its outputs.</summary>
    Ok,

    /// <summary>The point function threw; <see cref="SweepRow.Error"/> holds the exception's type and message.</summary>
    Failed,
}

/// <summary>
/// One row of a sweep's results table: the point (its key carries the inputs), the outputs of the point function,
/// its wall time, status and error message, and which worker ran it.
/// </summary>
/// <param name="SweepId">Name of the sweep the row belongs to.</param>
/// <param name="PointKey">The point's <see cref="SweepPoint.Key"/>.</param>
/// <param name="Status">Ok or Failed.</param>
/// <param name="Outputs">Named outputs of the point function (empty for a failed point), in the order it returned them.</param>
/// <param name="WallSeconds">Wall time of the point function in seconds.</param>
/// <param name="Error">For a failed point, "ExceptionType: message" (one line); null otherwise.</param>
/// <param name="Worker">Who ran the point (process, silo address), for the record.</param>
/// <param name="FinishedUtc">When the point function returned or threw (UTC).</param>
public sealed record SweepRow(string SweepId, string PointKey, SweepStatus Status, IReadOnlyList<KeyValuePair<string, double>> Outputs,
    double WallSeconds, string? Error, string Worker, DateTime FinishedUtc)
{
    /// <summary>The point, parsed back from <see cref="PointKey"/>.</summary>
    public SweepPoint Point => SweepPoint.Parse(PointKey);

    /// <summary>The output named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The row has no such output (a failed row has none).</exception>
    public double Output(string name)
    {
        foreach (var (n, v) in Outputs) if (n == name) return v;
        throw new KeyNotFoundException($"sweep row '{PointKey}' ({Status}) has no output '{name}'{(Outputs.Count > 0 ? "; it has " + string.Join(", ", Outputs.Select(o => o.Key)) : "")}.");
    }

    /// <summary>Outputs as "name=value;..." in round-trip notation (the form the stores keep).</summary>
    public string OutputsText => string.Join(";", Outputs.Select(o => o.Key + "=" + o.Value.ToString("R", CultureInfo.InvariantCulture)));

    /// <summary>Parses <see cref="OutputsText"/>.</summary>
    /// <exception cref="FormatException">An entry is not name=number.</exception>
    public static IReadOnlyList<KeyValuePair<string, double>> ParseOutputs(string text)
    {
        var list = new List<KeyValuePair<string, double>>();
        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0 || !double.TryParse(part[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                throw new FormatException($"sweep outputs '{text}': '{part}' is not name=number.");
            list.Add(new(part[..eq], v));
        }
        return list;
    }
}

/// <summary>
/// Where a sweep's rows live. A row is written once: a second write of the same (sweep, point key) leaves the first
/// in place and reports false, so a point run twice (a retried call, a second worker) can neither duplicate nor
/// overwrite its row. Implementations are safe to call from several threads.
/// </summary>
public interface ISweepResultStore
{
    /// <summary>Writes the row unless a row of the same sweep and point key exists; true when this call wrote it.</summary>
    Task<bool> TryWriteAsync(SweepRow row, CancellationToken cancellationToken = default);

    /// <summary>The row of one point, or null when the point has none yet.</summary>
    Task<SweepRow?> ReadAsync(string sweepId, string pointKey, CancellationToken cancellationToken = default);

    /// <summary>Every row of the sweep (in the order written, where the store keeps one).</summary>
    Task<IReadOnlyList<SweepRow>> ReadAllAsync(string sweepId, CancellationToken cancellationToken = default);
}
