using System.Diagnostics;

namespace NeuralMag.Sweeps;

/// <summary>
/// What a batched point function returns for one point of its group: the outputs, or why the point failed (a member
/// of a batch can fail without failing the others, e.g. a relaxation that did not converge).
/// </summary>
/// <param name="Outputs">Named outputs (null for a failed point).</param>
/// <param name="Error">Why the point failed (null when it has outputs).</param>
public sealed record SweepPointResult(IReadOnlyList<KeyValuePair<string, double>>? Outputs, string? Error)
{
    /// <summary>A point that produced its outputs.</summary>
    public static SweepPointResult Ok(IEnumerable<KeyValuePair<string, double>> outputs) => new(outputs.ToList(), null);

    /// <summary>A point that failed with <paramref name="error"/>.</summary>
    public static SweepPointResult Fail(string error) => new(null, error);
}

/// <summary>
/// A user's batched point function: runs a group of points together (e.g. as the members of one batched
/// <see cref="NeuralMag.State"/>, <c>new State(mesh, batch: points.Count)</c>) and returns one result per point, in
/// the order given. Throwing fails the whole group; the runner then retries each point of it alone, so that only the
/// point at fault is recorded as failed.
/// </summary>
public delegate IReadOnlyList<SweepPointResult> SweepBatchFunction(IReadOnlyList<SweepPoint> points, CancellationToken cancellationToken);

public static partial class Sweep
{
    /// <summary>
    /// Runs a group of points through <paramref name="function"/> and returns one row per point (wall time: the group's
    /// time divided among its points). When the function throws for the group, each point is run again alone, so one
    /// bad point fails only its own row; cancellation propagates.
    /// </summary>
    public static IReadOnlyList<SweepRow> RunBatch(string sweepId, IReadOnlyList<SweepPoint> points, SweepBatchFunction function, string worker, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sweepId);
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(function);
        if (points.Count == 0) return Array.Empty<SweepRow>();
        cancellationToken.ThrowIfCancellationRequested();
        var sw = Stopwatch.StartNew();
        IReadOnlyList<SweepPointResult> results;
        try
        {
            results = function(points, cancellationToken);
            if (results is null || results.Count != points.Count)
                throw new InvalidOperationException($"the batched point function returned {results?.Count ?? 0} results for {points.Count} points; it must return one per point, in order.");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { throw; }
        catch (Exception) when (points.Count > 1)
        {
            return points.SelectMany(p => RunBatch(sweepId, new[] { p }, function, worker, cancellationToken)).ToList();
        }
        catch (Exception e)
        {
            return new[] { FailedRow(sweepId, points[0], e, sw.Elapsed.TotalSeconds, worker) };
        }
        double each = sw.Elapsed.TotalSeconds / points.Count;
        var rows = new SweepRow[points.Count];
        for (int i = 0; i < points.Count; i++)
        {
            var r = results[i];
            if (r is { Outputs: null, Error: { } error })
            {
                rows[i] = new SweepRow(sweepId, points[i].Key, SweepStatus.Failed, Array.Empty<KeyValuePair<string, double>>(), each, CsvSweepStore.OneLine(error), worker, DateTime.UtcNow);
                continue;
            }
            try
            {
                if (r?.Outputs is null) throw new InvalidOperationException("the batched point function returned neither outputs nor an error for this point.");
                CheckOutputs(r.Outputs);
                rows[i] = new SweepRow(sweepId, points[i].Key, SweepStatus.Ok, r.Outputs, each, null, worker, DateTime.UtcNow);
            }
            catch (Exception e)
            {
                rows[i] = FailedRow(sweepId, points[i], e, each, worker);
            }
        }
        return rows;
    }

    /// <summary>
    /// As <see cref="RunAsync(string, IReadOnlyList{SweepPoint}, SweepPointFunction, ISweepResultStore, IProgress{SweepProgress}?, CancellationToken)"/>,
    /// with the points that have no row grouped, in order, into batches of up to <paramref name="batchSize"/> for one
    /// call of <paramref name="function"/> each; every point still gets its own row, written as its group finishes.
    /// </summary>
    /// <param name="batchSize">Most points per call, 1 or more.</param>
    public static async Task<SweepSummary> RunAsync(string sweepId, IReadOnlyList<SweepPoint> points, SweepBatchFunction function, int batchSize, ISweepResultStore store,
        IProgress<SweepProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sweepId);
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(store);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize (points per batched call) must be at least 1.");
        SweepSpace.List(points);
        var existing = (await store.ReadAllAsync(sweepId, cancellationToken).ConfigureAwait(false)).Select(r => r.PointKey).ToHashSet(StringComparer.Ordinal);
        var pending = points.Where(p => !existing.Contains(p.Key)).ToList();
        int skipped = points.Count - pending.Count, done = skipped, ran = 0, failed = 0;
        progress?.Report(new SweepProgress(done, points.Count, skipped, 0, null));
        var worker = $"{Environment.MachineName}/pid {Environment.ProcessId}";
        foreach (var group in pending.Chunk(batchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var row in RunBatch(sweepId, group, function, worker, cancellationToken))
            {
                await store.TryWriteAsync(row, cancellationToken).ConfigureAwait(false);
                ran++;
                done++;
                if (row.Status == SweepStatus.Failed) failed++;
                progress?.Report(new SweepProgress(done, points.Count, skipped, failed, row.PointKey));
            }
        }
        return new SweepSummary(points.Count, skipped, ran, failed, await RowsInOrderAsync(sweepId, points, store, cancellationToken).ConfigureAwait(false));
    }

    private static SweepRow FailedRow(string sweepId, SweepPoint point, Exception e, double seconds, string worker)
    {
        var inner = e is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerException! : e;
        return new SweepRow(sweepId, point.Key, SweepStatus.Failed, Array.Empty<KeyValuePair<string, double>>(), seconds,
            CsvSweepStore.OneLine($"{inner.GetType().Name}: {inner.Message}"), worker, DateTime.UtcNow);
    }
}
