using System.Diagnostics;

namespace NeuralMag.Sweeps;

/// <summary>
/// A user's per-point function: sets up, relaxes or integrates, measures, and returns named outputs. It throws to
/// report a failed point (the message lands in the row); it observes <paramref name="cancellationToken"/> on long work.
/// </summary>
public delegate IEnumerable<KeyValuePair<string, double>> SweepPointFunction(SweepPoint point, CancellationToken cancellationToken);

/// <summary>Progress of a sweep: points finished so far (run or skipped) out of the total.</summary>
/// <param name="Done">Points with a row (run now, or found in the store).</param>
/// <param name="Total">Points in the sweep.</param>
/// <param name="Skipped">Points found done in the store and not run again.</param>
/// <param name="Failed">Rows with status Failed among those run now.</param>
/// <param name="LastKey">Key of the point that just finished.</param>
public sealed record SweepProgress(int Done, int Total, int Skipped, int Failed, string? LastKey);

/// <summary>What a sweep run did.</summary>
/// <param name="Total">Points in the sweep.</param>
/// <param name="Skipped">Points that already had a row and were not run.</param>
/// <param name="Ran">Points run by this call.</param>
/// <param name="Failed">Of those run by this call, how many failed.</param>
/// <param name="Rows">The sweep's rows in point order (every point has one at the end of a completed run).</param>
public sealed record SweepSummary(int Total, int Skipped, int Ran, int Failed, IReadOnlyList<SweepRow> Rows);

/// <summary>
/// Runs sweeps: one user function per point, one row per point in a results store, resumable (points with a row are
/// skipped). This is the engine-free core: it runs points one after another in this process; the distributed runner
/// (NeuralMag.Cluster, on Orleans) calls <see cref="RunPoint"/> for each point on whichever silo the engine picks and
/// writes to the same kind of store. A point is the unit of a row; the batched runner (<see cref="SweepBatchFunction"/>) hands
/// a group of points to one batched function and still writes one row per point with the same keys.
/// </summary>
public static partial class Sweep
{
    /// <summary>
    /// Runs one point and returns its row: Ok with the outputs, or Failed with "ExceptionType: message" when the function
    /// throws (or returns a non-finite output). Cancellation of <paramref name="cancellationToken"/> is not a failure: it
    /// propagates as <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <param name="sweepId">The sweep the row belongs to.</param>
    /// <param name="point">The point.</param>
    /// <param name="function">The per-point function.</param>
    /// <param name="worker">Who runs it (recorded in the row).</param>
    /// <param name="cancellationToken">Stops the point (the function must observe it).</param>
    public static SweepRow RunPoint(string sweepId, SweepPoint point, SweepPointFunction function, string worker, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sweepId);
        ArgumentNullException.ThrowIfNull(point);
        ArgumentNullException.ThrowIfNull(function);
        cancellationToken.ThrowIfCancellationRequested();
        var sw = Stopwatch.StartNew();
        try
        {
            var outputs = function(point, cancellationToken).ToList();
            CheckOutputs(outputs);
            return new SweepRow(sweepId, point.Key, SweepStatus.Ok, outputs, sw.Elapsed.TotalSeconds, null, worker, DateTime.UtcNow);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { throw; }
        catch (Exception e)
        {
            return FailedRow(sweepId, point, e, sw.Elapsed.TotalSeconds, worker);
        }
    }

    /// <summary>Throws unless every output has an allowed, unique name and a finite value.</summary>
    private static void CheckOutputs(IReadOnlyList<KeyValuePair<string, double>> outputs)
    {
        foreach (var (name, value) in outputs)
        {
            if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(new[] { '=', ';' }) >= 0)
                throw new InvalidOperationException($"output name '{name}' is not allowed (non-empty, without '=' or ';').");
            if (!double.IsFinite(value)) throw new InvalidOperationException($"output '{name}' = {value} is not finite.");
        }
        if (outputs.Select(o => o.Key).Distinct(StringComparer.Ordinal).Count() != outputs.Count)
            throw new InvalidOperationException($"the point function returned an output name twice ({string.Join(", ", outputs.Select(o => o.Key))}).");
    }

    /// <summary>
    /// Runs every point of <paramref name="points"/> that has no row in <paramref name="store"/>, one after another in
    /// this process, writing each row as soon as it is done. A failed point is recorded and the sweep goes on.
    /// </summary>
    /// <param name="sweepId">Name of the sweep (rows are keyed by it and the point key).</param>
    /// <param name="points">The points (unique keys).</param>
    /// <param name="function">The per-point function.</param>
    /// <param name="store">Where the rows go; points with a row there are skipped.</param>
    /// <param name="progress">Told after each point.</param>
    /// <param name="cancellationToken">Stops the sweep between points (and inside a point that observes it); finished rows stay.</param>
    /// <exception cref="ArgumentException">Two points have the same key.</exception>
    public static async Task<SweepSummary> RunAsync(string sweepId, IReadOnlyList<SweepPoint> points, SweepPointFunction function, ISweepResultStore store,
        IProgress<SweepProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sweepId);
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(store);
        SweepSpace.List(points);
        var existing = (await store.ReadAllAsync(sweepId, cancellationToken).ConfigureAwait(false)).Select(r => r.PointKey).ToHashSet(StringComparer.Ordinal);
        int skipped = points.Count(p => existing.Contains(p.Key)), done = skipped, ran = 0, failed = 0;
        progress?.Report(new SweepProgress(done, points.Count, skipped, 0, null));
        var worker = $"{Environment.MachineName}/pid {Environment.ProcessId}";
        foreach (var point in points)
        {
            if (existing.Contains(point.Key)) continue;
            cancellationToken.ThrowIfCancellationRequested();
            var row = RunPoint(sweepId, point, function, worker, cancellationToken);
            await store.TryWriteAsync(row, cancellationToken).ConfigureAwait(false);
            ran++;
            done++;
            if (row.Status == SweepStatus.Failed) failed++;
            progress?.Report(new SweepProgress(done, points.Count, skipped, failed, point.Key));
        }
        return new SweepSummary(points.Count, skipped, ran, failed, await RowsInOrderAsync(sweepId, points, store, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The store's rows of <paramref name="points"/>, in point order (points without a row are left out).</summary>
    public static async Task<IReadOnlyList<SweepRow>> RowsInOrderAsync(string sweepId, IReadOnlyList<SweepPoint> points, ISweepResultStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(store);
        var rows = (await store.ReadAllAsync(sweepId, cancellationToken).ConfigureAwait(false)).ToDictionary(r => r.PointKey, StringComparer.Ordinal);
        return points.Where(p => rows.ContainsKey(p.Key)).Select(p => rows[p.Key]).ToList();
    }

    /// <summary>
    /// Writes rows as a wide CSV table: one column per input (and "m0" when points have an initial state), then status,
    /// wall_s, one column per output (the union over the rows, in first-seen order; empty where a row lacks it), error.
    /// </summary>
    public static void WriteTable(string path, IReadOnlyList<SweepRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var points = rows.Select(r => r.Point).ToList();
        var inputs = points.SelectMany(p => p.Parameters.Select(q => q.Key)).Distinct().ToList();
        bool hasM0 = points.Any(p => p.InitialState != null);
        var outputs = rows.SelectMany(r => r.Outputs.Select(o => o.Key)).Distinct().ToList();
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        using var w = new StreamWriter(path);
        w.WriteLine(string.Join(",", inputs.Concat(hasM0 ? new[] { SweepPoint.InitialStateName } : Array.Empty<string>())
            .Concat(new[] { "status", "wall_s" }).Concat(outputs).Concat(new[] { "error" })));
        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            var cells = inputs.Select(n => points[i].Parameters.Any(q => q.Key == n) ? points[i][n].ToString("R", inv) : "").ToList();
            if (hasM0) cells.Add(points[i].InitialState ?? "");
            cells.Add(r.Status == SweepStatus.Ok ? "ok" : "failed");
            cells.Add(r.WallSeconds.ToString("G6", inv));
            cells.AddRange(outputs.Select(n => r.Outputs.Any(o => o.Key == n) ? r.Output(n).ToString("R", inv) : ""));
            var err = r.Error ?? "";
            cells.Add(err.IndexOfAny(new[] { ',', '"' }) >= 0 ? "\"" + err.Replace("\"", "\"\"") + "\"" : err);
            w.WriteLine(string.Join(",", cells));
        }
    }
}
