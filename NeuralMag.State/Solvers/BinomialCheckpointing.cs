namespace NeuralMag;

/// <summary>What one action of a <see cref="BinomialCheckpointing"/> schedule does.</summary>
public enum CheckpointActionKind
{
    /// <summary>Keep the current state, the one after <see cref="CheckpointAction.Step"/> steps, as a snapshot.</summary>
    Store,
    /// <summary>Make the snapshot after <see cref="CheckpointAction.Step"/> steps the current state.</summary>
    Restore,
    /// <summary>Take steps <see cref="CheckpointAction.Step"/> … <see cref="CheckpointAction.To"/> − 1 forward without
    /// recording, from the current state (after Step steps) to the state after To steps.</summary>
    Advance,
    /// <summary>Take step <see cref="CheckpointAction.Step"/> from the current state on a tape and pull the cotangent
    /// of its end state back to its start state.</summary>
    Reverse,
    /// <summary>Drop the snapshot after <see cref="CheckpointAction.Step"/> steps.</summary>
    Discard,
}

/// <summary>One action of a checkpointing schedule: a kind, the step (state index) it acts on and, for
/// <see cref="CheckpointActionKind.Advance"/>, the state index it advances to (otherwise equal to Step).</summary>
public readonly record struct CheckpointAction(CheckpointActionKind Kind, int Step, int To)
{
    /// <inheritdoc/>
    public override string ToString() => Kind == CheckpointActionKind.Advance ? $"Advance {Step}→{To}" : $"{Kind} {Step}";
}

/// <summary>
/// Binomial checkpointing (Griewank's "revolve", Griewank &amp; Walther, ACM TOMS 26 (2000) 19–45): reverses a chain of
/// n steps x_{i+1} = Φ_i(x_i), given x_0, while holding at most s states (snapshots) at once, with the fewest
/// forward recomputations possible. With the repetition number r, the least r with β(s, r) = C(s + r, s) ≥ n, the
/// schedule takes r·n − C(s + r, s + 1) unrecorded steps (<see cref="MinimalAdvances"/>; n − 1 when s ≥ n − 1, i.e.
/// every state stored once) and each step at most r times; for s ≥ log2 n that is at most about log2 n sweeps, so
/// O(log n) memory costs O(n log n) time. The schedule is built by the recursion T(n, s) = min over j of
/// j + T(n − j, s − 1) + T(j, s) (advance j steps, store, reverse the right part with one snapshot fewer, then the
/// left part), where the optimal j is found by bisection since the cost is convex in j.
/// </summary>
public static class BinomialCheckpointing
{
    /// <summary>The least r with C(s + r, s) ≥ n: the most times a step is taken forward in an optimal schedule.</summary>
    /// <param name="steps">n ≥ 1.</param>
    /// <param name="snapshots">s ≥ 1, the first state's snapshot included.</param>
    public static int RepetitionNumber(int steps, int snapshots)
    {
        Check(steps, snapshots);
        return Repetition(steps, snapshots).R;
    }

    /// <summary>
    /// Fewest unrecorded forward steps that reverse <paramref name="steps"/> steps when the first state is stored and
    /// at most <paramref name="snapshots"/> states (that one included) are held at once: r·n − C(s + r, s + 1) with
    /// r = <see cref="RepetitionNumber"/> (0 for one step, n(n − 1)/2 for one snapshot).
    /// </summary>
    public static long MinimalAdvances(int steps, int snapshots)
    {
        Check(steps, snapshots);
        return Cost(steps, snapshots);
    }

    /// <summary>
    /// The optimal schedule reversing steps n − 1 … 0 from the state after step n (the output, whose cotangent is
    /// given) with x_0 stored and at most <paramref name="snapshots"/> states held: its Reverse actions visit each
    /// step exactly once, last first, and its Advance actions add up to <see cref="MinimalAdvances"/> steps. It begins
    /// with x_0 stored (no Store action for it) and ends with the Discard of x_0.
    /// </summary>
    public static IReadOnlyList<CheckpointAction> Schedule(int steps, int snapshots) => Reversal(new[] { 0 }, steps, snapshots);

    /// <summary>
    /// A schedule reversing <paramref name="steps"/> steps when a forward run has left the states at
    /// <paramref name="stored"/> (ascending, starting with 0, all below <paramref name="steps"/>) as snapshots: the
    /// intervals between them are reversed last first, each by the optimal schedule with the snapshots not held by
    /// earlier intervals (<paramref name="snapshots"/> − j for the j-th interval, its own start included), and each
    /// interval's start is discarded once it is reversed. At no point are more than <paramref name="snapshots"/>
    /// states held.
    /// </summary>
    /// <param name="stored">The snapshot indices present at the start.</param>
    /// <param name="steps">n ≥ 1.</param>
    /// <param name="snapshots">Most states held at once, at least the number stored.</param>
    public static IReadOnlyList<CheckpointAction> Reversal(IReadOnlyList<int> stored, int steps, int snapshots)
    {
        ArgumentNullException.ThrowIfNull(stored);
        Check(steps, snapshots);
        if (stored.Count == 0 || stored[0] != 0)
            throw new ArgumentException($"The stored states must begin with the start state 0; got [{string.Join(", ", stored)}].", nameof(stored));
        for (int i = 1; i < stored.Count; i++)
            if (stored[i] <= stored[i - 1] || stored[i] >= steps)
                throw new ArgumentException($"The stored states must ascend strictly and lie below steps = {steps}; got [{string.Join(", ", stored)}].", nameof(stored));
        if (stored.Count > snapshots)
            throw new ArgumentException($"{stored.Count} stored states exceed the {snapshots} snapshots allowed.", nameof(stored));
        var actions = new List<CheckpointAction>();
        for (int j = stored.Count - 1; j >= 0; j--)
        {
            int a = stored[j], b = j + 1 < stored.Count ? stored[j + 1] : steps;
            Reverse(actions, a, b, snapshots - j);
            actions.Add(new CheckpointAction(CheckpointActionKind.Discard, a, a));
        }
        return actions;
    }

    private static void Check(int steps, int snapshots)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "A schedule needs at least one step.");
        if (snapshots < 1) throw new ArgumentOutOfRangeException(nameof(snapshots), snapshots, "At least one snapshot (the start state) is needed.");
    }

    /// <summary>Reverses steps b − 1 … a with the state after a steps stored and k snapshots (that one included).</summary>
    private static void Reverse(List<CheckpointAction> actions, int a, int b, int k)
    {
        while (b > a)
        {
            int l = b - a;
            if (l == 1 || k == 1)
            {
                // Nothing to spare: restart from a for every step, last first (l(l − 1)/2 advances when k = 1).
                for (int i = b - 1; i >= a; i--)
                {
                    actions.Add(new CheckpointAction(CheckpointActionKind.Restore, a, a));
                    if (i > a) actions.Add(new CheckpointAction(CheckpointActionKind.Advance, a, i));
                    actions.Add(new CheckpointAction(CheckpointActionKind.Reverse, i, i));
                }
                return;
            }
            int j = a + Split(l, k);
            actions.Add(new CheckpointAction(CheckpointActionKind.Restore, a, a));
            actions.Add(new CheckpointAction(CheckpointActionKind.Advance, a, j));
            actions.Add(new CheckpointAction(CheckpointActionKind.Store, j, j));
            Reverse(actions, j, b, k - 1);
            actions.Add(new CheckpointAction(CheckpointActionKind.Discard, j, j));
            b = j; // the left part, with all k snapshots again
        }
    }

    /// <summary>
    /// An optimal first snapshot position j (1 ≤ j &lt; l) for l steps and k ≥ 2 snapshots: the smallest minimizer of
    /// g(j) = j + T(j, k) + T(l − j, k − 1). Both T terms are convex in their step count (piecewise linear with slopes
    /// equal to the repetition number, which grows with it), so g is convex and its forward difference changes sign once.
    /// </summary>
    private static int Split(int l, int k)
    {
        long G(int j) => j + Cost(j, k) + Cost(l - j, k - 1);
        int lo = 1, hi = l - 1;
        while (lo < hi)
        {
            int mid = lo + (hi - lo) / 2;
            if (G(mid + 1) - G(mid) >= 0) hi = mid; else lo = mid + 1;
        }
        return lo;
    }

    /// <summary>T(n, s) = r·n − β(s + 1, r − 1), β(s, r) = C(s + r, s).</summary>
    private static long Cost(int n, int s)
    {
        var (r, beta) = Repetition(n, s);
        if (r == 0) return 0;
        // β(s + 1, r − 1) = C(s + r, r − 1) = C(s + r, r)·r/(s + 1).
        var betaUp = beta * r / (s + 1);
        return (long)(r * (Int128)n - betaUp);
    }

    /// <summary>The repetition number r for n steps and s snapshots and β(s, r) = C(s + r, r) ≥ n.</summary>
    private static (int R, Int128 Beta) Repetition(int n, int s)
    {
        Int128 beta = 1;
        int r = 0;
        // β(s, r) = β(s, r − 1)·(s + r)/r, exact in integers; β stays below n·(s + r) before the last step.
        while (beta < n)
        {
            r++;
            beta = beta * (s + r) / r;
        }
        return (r, beta);
    }
}

/// <summary>
/// Snapshots of a forward run whose length is not known in advance, at most <see cref="Capacity"/> at once: the
/// states after multiples of <see cref="Spacing"/> steps, starting with spacing 1; when one more would exceed the
/// capacity the spacing doubles and the states at odd multiples of the old spacing are dropped. After n steps the
/// stored states are 0, d, 2d, … below n with n/d ≤ capacity (at least capacity/2 of them once the spacing has
/// grown), so the intervals between them have at most d ≤ 2n/capacity steps.
/// </summary>
internal sealed class ForwardCheckpoints<T>
{
    private readonly SortedDictionary<int, T> _states = new();

    public ForwardCheckpoints(int capacity)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "At least the start state must be storable.");
        Capacity = capacity;
    }

    public int Capacity { get; }

    public long Spacing { get; private set; } = 1;

    public int Count => _states.Count;

    /// <summary>The most states held at once so far.</summary>
    public int PeakCount { get; private set; }

    /// <summary>The stored state indices, ascending.</summary>
    public IReadOnlyList<int> Indices => _states.Keys.ToArray();

    public T this[int index] => _states[index];

    /// <summary>Hands the stored states over (index → state) and forgets them.</summary>
    public Dictionary<int, T> Release()
    {
        var states = new Dictionary<int, T>(_states);
        _states.Clear();
        return states;
    }

    /// <summary>Offers the state after <paramref name="index"/> steps (indices offered in increasing order, from 0);
    /// <paramref name="value"/> is called only when it is kept.</summary>
    public void Offer(int index, Func<T> value)
    {
        if (index % Spacing != 0) return;
        while (_states.Count >= Capacity && index > 0)
        {
            Spacing *= 2;
            foreach (var i in _states.Keys.Where(i => i % Spacing != 0).ToArray()) _states.Remove(i);
            if (index % Spacing != 0) return;
        }
        _states[index] = value();
        PeakCount = Math.Max(PeakCount, _states.Count);
    }
}
