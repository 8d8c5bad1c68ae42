using NeuralMag.Sweeps;

namespace NeuralMag.Cluster;

/// <summary>
/// Runs a sweep on Orleans: every point without a row becomes a call to its point grain; Orleans places the grains
/// on the silos, and a call that fails because its silo died (or timed out) is made again, which re-activates the
/// grain on a live silo. Rows are written once per point key by the grains, so retries cannot duplicate them.
/// </summary>
public static class ClusterSweep
{
    /// <summary>Runs the points of <paramref name="file"/> that have no row in <paramref name="store"/>.</summary>
    /// <param name="grains">The cluster client (or an in-process silo's grain factory).</param>
    /// <param name="file">The sweep.</param>
    /// <param name="store">The results store the silos write to (read here to skip done points and to return the rows).</param>
    /// <param name="parallel">Point calls in flight at once (e.g. the number of silos times the points each should run at a time).</param>
    /// <param name="progress">Told after each point.</param>
    /// <param name="cancellationToken">Stops issuing points; calls in flight finish on their silos.</param>
    /// <param name="maxAttempts">Calls per point before the sweep gives up on the cluster (an exception then).</param>
    /// <exception cref="AggregateException">A point's call failed <paramref name="maxAttempts"/> times (the cluster is down).</exception>
    public static async Task<SweepSummary> RunAsync(IGrainFactory grains, SweepFile file, ISweepResultStore store, int parallel,
        IProgress<SweepProgress>? progress = null, CancellationToken cancellationToken = default, int maxAttempts = 30)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(store);
        if (parallel < 1) throw new ArgumentOutOfRangeException(nameof(parallel), parallel, "parallel must be at least 1.");
        if (maxAttempts < 1) throw new ArgumentOutOfRangeException(nameof(maxAttempts), maxAttempts, "maxAttempts must be at least 1.");
        var existing = (await store.ReadAllAsync(file.Name, cancellationToken).ConfigureAwait(false)).Select(r => r.PointKey).ToHashSet(StringComparer.Ordinal);
        var pending = file.Points.Where(p => !existing.Contains(p.Key)).ToList();
        int skipped = file.Points.Count - pending.Count, done = skipped, ran = 0, failed = 0;
        var gate = new object();
        progress?.Report(new SweepProgress(done, file.Points.Count, skipped, 0, null));
        using var slots = new SemaphoreSlim(parallel);
        // With "batch" > 1, groups of pending points (in order) go to one batch grain each, which runs them together.
        var groups = file.Batch > 1 ? pending.Chunk(file.Batch).ToList() : pending.Select(p => new[] { p }).ToList();
        var calls = groups.Select(async group =>
        {
            await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var outcomes = file.Batch > 1
                    ? await CallBatchAsync(grains, file, group, maxAttempts, cancellationToken).ConfigureAwait(false)
                    : new[] { await CallAsync(grains, file, group[0], maxAttempts, cancellationToken).ConfigureAwait(false) };
                lock (gate)
                    foreach (var outcome in outcomes)
                    {
                        done++;
                        if (outcome.RanNow) ran++;
                        if (outcome.RanNow && !outcome.Ok) failed++;
                        progress?.Report(new SweepProgress(done, file.Points.Count, skipped, failed, outcome.PointKey));
                    }
            }
            finally { slots.Release(); }
        }).ToList();
        await Task.WhenAll(calls).ConfigureAwait(false);
        return new SweepSummary(file.Points.Count, skipped, ran, failed, await Sweep.RowsInOrderAsync(file.Name, file.Points, store, cancellationToken).ConfigureAwait(false));
    }

    private static Task<PointOutcome> CallAsync(IGrainFactory grains, SweepFile file, SweepPoint point, int maxAttempts, CancellationToken cancellationToken)
    {
        var job = new PointJob { SweepId = file.Name, PointKey = point.Key, Model = file.Model, SettingsJson = file.SettingsJson };
        return WithRetries(() => grains.GetGrain<ISweepPointGrain>($"{file.Name}|{point.Key}").RunAsync(job), $"sweep {file.Name}: point {point.Key}", maxAttempts, cancellationToken);
    }

    private static Task<PointOutcome[]> CallBatchAsync(IGrainFactory grains, SweepFile file, SweepPoint[] group, int maxAttempts, CancellationToken cancellationToken)
    {
        var job = new BatchJob { SweepId = file.Name, PointKeys = group.Select(p => p.Key).ToArray(), Model = file.Model, SettingsJson = file.SettingsJson };
        var key = $"{file.Name}|batch|{group[0].Key}|{group.Length}";
        return WithRetries(() => grains.GetGrain<ISweepBatchGrain>(key).RunAsync(job), $"sweep {file.Name}: the group of {group.Length} points from {group[0].Key}", maxAttempts, cancellationToken);
    }

    /// <summary>Calls a grain until it answers: a call that fails (its silo died, a timeout) is made again, up to <paramref name="maxAttempts"/> calls.</summary>
    private static async Task<T> WithRetries<T>(Func<Task<T>> call, string what, int maxAttempts, CancellationToken cancellationToken)
    {
        var errors = new List<Exception>();
        for (int attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return await call().WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                errors.Add(e);
                if (attempt >= maxAttempts)
                    throw new AggregateException($"{what} could not be run after {attempt} calls; last: {e.GetType().Name}: {e.Message}", errors);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 100 * attempt)), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
