namespace NeuralMag;

/// <summary>
/// Keeps the managed heap a computation adds within a budget of bytes: after each unit of work (<see cref="Check"/>),
/// when the heap above its level at <see cref="Reset"/>, plus the most that one unit has allocated so far, would
/// exceed the budget, the garbage is collected (a blocking full collection, the only one that returns the
/// large-object heap where field-sized arrays live).
/// What is still held after a collection is the computation's live memory: <see cref="PeakLiveBytes"/>.
/// </summary>
internal sealed class HeapBudget
{
    private long _baseline;
    private long _allocatedAtCheck;
    private long _largestUnit;

    /// <param name="bytes">The budget in bytes, positive; <see cref="long.MaxValue"/>: no limit (no collections).</param>
    public HeapBudget(long bytes) => Bytes = bytes;

    /// <summary>The budget in bytes.</summary>
    public long Bytes { get; }

    /// <summary>Collections this budget induced.</summary>
    public int Collections { get; private set; }

    /// <summary>Largest heap above the baseline measured right after an induced collection (0 if none was needed).</summary>
    public long PeakLiveBytes { get; private set; }

    /// <summary>Whether the budget is finite.</summary>
    public bool Enforced => Bytes != long.MaxValue;

    /// <summary>Takes the present live heap as the baseline (collecting first, so that old garbage does not count).</summary>
    public void Reset()
    {
        if (!Enforced) return;
        _baseline = GC.GetTotalMemory(forceFullCollection: true);
        _allocatedAtCheck = GC.GetTotalAllocatedBytes(precise: false);
    }

    /// <summary>Collects the garbage when the heap exceeds the baseline by more than the budget.</summary>
    public void Check()
    {
        if (!Enforced) return;
        long allocated = GC.GetTotalAllocatedBytes(precise: false);
        _largestUnit = Math.Max(_largestUnit, allocated - _allocatedAtCheck);
        _allocatedAtCheck = allocated;
        if (GC.GetTotalMemory(forceFullCollection: false) - _baseline + _largestUnit <= Bytes) return;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
        Collections++;
        PeakLiveBytes = Math.Max(PeakLiveBytes, GC.GetTotalMemory(forceFullCollection: false) - _baseline);
    }
}
