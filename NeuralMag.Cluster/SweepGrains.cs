using NeuralMag.Sweeps;
using Orleans.Placement;
using Orleans.Runtime;

namespace NeuralMag.Cluster;

/// <summary>What a point grain is asked to run: the sweep, the point, the model and its settings.</summary>
[GenerateSerializer, Immutable, Alias("NeuralMag.Cluster.PointJob")]
public sealed class PointJob
{
    /// <summary>Sweep name.</summary>
    [Id(0)] public required string SweepId { get; init; }

    /// <summary>The point's key.</summary>
    [Id(1)] public required string PointKey { get; init; }

    /// <summary>Model name.</summary>
    [Id(2)] public required string Model { get; init; }

    /// <summary>The model's settings (JSON text, "" when none).</summary>
    [Id(3)] public required string SettingsJson { get; init; }
}

/// <summary>A point grain's answer: the row stored for the point, and whether this call computed it.</summary>
[GenerateSerializer, Immutable, Alias("NeuralMag.Cluster.PointOutcome")]
public sealed class PointOutcome
{
    /// <summary>The point's key.</summary>
    [Id(0)] public required string PointKey { get; init; }

    /// <summary>Ok or failed.</summary>
    [Id(1)] public required bool Ok { get; init; }

    /// <summary>Outputs as "name=value;..." (see <see cref="SweepRow.OutputsText"/>).</summary>
    [Id(2)] public required string Outputs { get; init; }

    /// <summary>The error of a failed point.</summary>
    [Id(3)] public string? Error { get; init; }

    /// <summary>Wall time of the point function (s).</summary>
    [Id(4)] public required double WallSeconds { get; init; }

    /// <summary>Which silo computed the stored row.</summary>
    [Id(5)] public required string Worker { get; init; }

    /// <summary>True when this call ran the point and wrote its row; false when a row was there already.</summary>
    [Id(6)] public required bool RanNow { get; init; }

    internal static PointOutcome From(SweepRow row, bool ranNow) => new()
    {
        PointKey = row.PointKey, Ok = row.Status == SweepStatus.Ok, Outputs = row.OutputsText, Error = row.Error,
        WallSeconds = row.WallSeconds, Worker = row.Worker, RanNow = ranNow,
    };
}

/// <summary>
/// One grain per sweep point (key "sweep|point key"). <see cref="RunAsync"/> returns the point's stored row, running
/// the point first when it has none; running it again (a caller retrying after a silo died) finds the row and does
/// no work, and a race of two activations writes one row (the store writes once per key).
/// </summary>
[Alias("NeuralMag.Cluster.ISweepPointGrain")]
public interface ISweepPointGrain : IGrainWithStringKey
{
    /// <summary>Runs the point unless it has a row; returns the stored row.</summary>
    [Alias("Run")]
    Task<PointOutcome> RunAsync(PointJob job);
}

/// <summary>The point grain: random placement spreads points over the silos; the activation ends after its point.</summary>
[RandomPlacement]
public sealed class SweepPointGrain(ISweepResultStore store, SweepModelCatalog models, ILocalSiloDetails silo) : Grain, ISweepPointGrain
{
    /// <inheritdoc/>
    public async Task<PointOutcome> RunAsync(PointJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var existing = await store.ReadAsync(job.SweepId, job.PointKey).ConfigureAwait(true);
        if (existing != null) return PointOutcome.From(existing, false);
        var point = SweepPoint.Parse(job.PointKey);
        var worker = $"silo {silo.SiloAddress.Endpoint} ({silo.Name}, pid {Environment.ProcessId})";
        // The point function is plain blocking code: it runs on the thread pool, not on the grain's scheduler.
        var row = await Task.Run(() =>
        {
            SweepPointFunction function;
            try { function = models.Create(job.Model, job.SettingsJson); }
            catch (ArgumentException e) { function = (_, _) => throw new ArgumentException(e.Message); }
            return Sweep.RunPoint(job.SweepId, point, function, worker);
        }).ConfigureAwait(true);
        bool wrote = await store.TryWriteAsync(row).ConfigureAwait(true);
        var stored = wrote ? row : await store.ReadAsync(job.SweepId, job.PointKey).ConfigureAwait(true) ?? row;
        DeactivateOnIdle();
        return PointOutcome.From(stored, wrote);
    }
}

/// <summary>What a batch grain is asked to run: a group of points of one sweep, run together by the model's batched function.</summary>
[GenerateSerializer, Immutable, Alias("NeuralMag.Cluster.BatchJob")]
public sealed class BatchJob
{
    /// <summary>Sweep name.</summary>
    [Id(0)] public required string SweepId { get; init; }

    /// <summary>The points' keys, in order.</summary>
    [Id(1)] public required string[] PointKeys { get; init; }

    /// <summary>Model name.</summary>
    [Id(2)] public required string Model { get; init; }

    /// <summary>The model's settings (JSON text, "" when none).</summary>
    [Id(3)] public required string SettingsJson { get; init; }
}

/// <summary>
/// One grain per group of points (key "sweep|batch|first key|count"): runs the points of the group that have no row
/// yet in one call of the model's batched function (the members of one batched State), or point by point when the
/// model has none, and returns the stored row of every point of the group. As for the point grain, a retried call
/// finds the rows and does no work again, and each row is written once.
/// </summary>
[Alias("NeuralMag.Cluster.ISweepBatchGrain")]
public interface ISweepBatchGrain : IGrainWithStringKey
{
    /// <summary>Runs the points of the group that have no row; returns the stored row of each, in order.</summary>
    [Alias("Run")]
    Task<PointOutcome[]> RunAsync(BatchJob job);
}

/// <summary>The batch grain: random placement spreads groups over the silos; the activation ends after its group.</summary>
[RandomPlacement]
public sealed class SweepBatchGrain(ISweepResultStore store, SweepModelCatalog models, ILocalSiloDetails silo) : Grain, ISweepBatchGrain
{
    /// <inheritdoc/>
    public async Task<PointOutcome[]> RunAsync(BatchJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var stored = new SweepRow?[job.PointKeys.Length];
        for (int i = 0; i < stored.Length; i++) stored[i] = await store.ReadAsync(job.SweepId, job.PointKeys[i]).ConfigureAwait(true);
        var pending = Enumerable.Range(0, stored.Length).Where(i => stored[i] == null).ToArray();
        var ranNow = new bool[stored.Length];
        if (pending.Length > 0)
        {
            var points = pending.Select(i => SweepPoint.Parse(job.PointKeys[i])).ToArray();
            var worker = $"silo {silo.SiloAddress.Endpoint} ({silo.Name}, pid {Environment.ProcessId})";
            // The batched function is plain blocking code: it runs on the thread pool, not on the grain's scheduler.
            var rows = await Task.Run(() =>
            {
                try
                {
                    if (models.CreateBatch(job.Model, job.SettingsJson) is { } batch) return Sweep.RunBatch(job.SweepId, points, batch, worker);
                    var single = models.Create(job.Model, job.SettingsJson);
                    return points.Select(p => Sweep.RunPoint(job.SweepId, p, single, worker)).ToList();
                }
                catch (ArgumentException e)
                {
                    return points.Select(p => Sweep.RunPoint(job.SweepId, p, (_, _) => throw new ArgumentException(e.Message), worker)).ToList();
                }
            }).ConfigureAwait(true);
            for (int k = 0; k < pending.Length; k++)
            {
                int i = pending[k];
                ranNow[i] = await store.TryWriteAsync(rows[k]).ConfigureAwait(true);
                stored[i] = ranNow[i] ? rows[k] : await store.ReadAsync(job.SweepId, job.PointKeys[i]).ConfigureAwait(true) ?? rows[k];
            }
        }
        DeactivateOnIdle();
        return Enumerable.Range(0, stored.Length).Select(i => PointOutcome.From(stored[i]!, ranNow[i])).ToArray();
    }
}
