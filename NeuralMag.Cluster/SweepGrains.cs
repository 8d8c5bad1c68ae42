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
