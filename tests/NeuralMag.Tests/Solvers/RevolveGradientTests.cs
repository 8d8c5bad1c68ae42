using NeuralMag.AD;

namespace NeuralMag.Tests.Solvers;

[TestClass]
public sealed class BinomialCheckpointingTests
{
    /// <summary>
    /// The fewest forward steps by exhaustive minimization over the first snapshot position (Griewank's recursion,
    /// T(1, s) = 0, T(n, 1) = n(n − 1)/2, T(n, s) = min_j j + T(j, s) + T(n − j, s − 1)), independent of the closed
    /// form the schedule uses.
    /// </summary>
    private static long[,] BruteForceCosts(int maxSteps, int maxSnapshots)
    {
        var t = new long[maxSteps + 1, maxSnapshots + 1];
        for (int n = 1; n <= maxSteps; n++)
            for (int s = 1; s <= maxSnapshots; s++)
            {
                if (n == 1) { t[n, s] = 0; continue; }
                if (s == 1) { t[n, s] = (long)n * (n - 1) / 2; continue; }
                long best = long.MaxValue;
                for (int j = 1; j < n; j++) best = Math.Min(best, j + t[j, s] + t[n - j, s - 1]);
                t[n, s] = best;
            }
        return t;
    }

    /// <summary>
    /// Runs a schedule on a model chain and checks it: every action finds the state it needs, at most
    /// <paramref name="snapshots"/> are held, each step is reversed exactly once and last first. Returns the steps
    /// advanced in all and the most times any one step was advanced.
    /// </summary>
    private static (long Advances, int MostPerStep) Execute(IReadOnlyList<CheckpointAction> schedule, IEnumerable<int> stored, int steps, int snapshots)
    {
        var held = new HashSet<int>(stored);
        int current = -1, nextReverse = steps - 1;
        long advances = 0;
        var perStep = new int[steps];
        foreach (var a in schedule)
        {
            switch (a.Kind)
            {
                case CheckpointActionKind.Restore:
                    Assert.IsTrue(held.Contains(a.Step), $"{a}: no snapshot there");
                    current = a.Step;
                    break;
                case CheckpointActionKind.Store:
                    Assert.AreEqual(a.Step, current, $"{a}: the current state is {current}");
                    Assert.IsTrue(held.Add(a.Step), $"{a}: stored twice");
                    Assert.IsTrue(held.Count <= snapshots, $"{a}: {held.Count} snapshots held, budget {snapshots}");
                    break;
                case CheckpointActionKind.Discard:
                    Assert.IsTrue(held.Remove(a.Step), $"{a}: not held");
                    break;
                case CheckpointActionKind.Advance:
                    Assert.AreEqual(a.Step, current, $"{a}: the current state is {current}");
                    Assert.IsTrue(a.To > a.Step && a.To < steps, $"{a}: bad range");
                    for (int i = a.Step; i < a.To; i++) perStep[i]++;
                    advances += a.To - a.Step;
                    current = a.To;
                    break;
                case CheckpointActionKind.Reverse:
                    Assert.AreEqual(nextReverse, a.Step, "steps are reversed last first, each once");
                    Assert.AreEqual(a.Step, current, $"{a}: the current state is {current}");
                    nextReverse--;
                    current = -1;
                    break;
            }
        }
        Assert.AreEqual(-1, nextReverse, "every step reversed");
        Assert.AreEqual(0, held.Count, "every snapshot discarded at the end");
        return (advances, perStep.Length == 0 ? 0 : perStep.Max());
    }

    [TestMethod]
    public void ClosedFormCostEqualsExhaustiveMinimum()
    {
        var t = BruteForceCosts(80, 7);
        for (int n = 1; n <= 80; n++)
            for (int s = 1; s <= 7; s++)
                Assert.AreEqual(t[n, s], BinomialCheckpointing.MinimalAdvances(n, s), $"n = {n}, s = {s}");
        // Storing every state (s ≥ n − 1) costs one sweep; one snapshot costs the triangle.
        Assert.AreEqual(999L, BinomialCheckpointing.MinimalAdvances(1000, 999));
        Assert.AreEqual(1000L * 999 / 2, BinomialCheckpointing.MinimalAdvances(1000, 1));
        // r = 2 for 100 steps and 13 snapshots (C(15, 2) = 105 ≥ 100 > C(14, 1) = 14): 2·100 − C(15, 14) = 185.
        Assert.AreEqual(2, BinomialCheckpointing.RepetitionNumber(100, 13));
        Assert.AreEqual(185L, BinomialCheckpointing.MinimalAdvances(100, 13));
    }

    [TestMethod]
    public void ScheduleReversesEveryStepOnceWithinTheBudgetAtTheBinomialCost()
    {
        foreach (int n in new[] { 1, 2, 3, 7, 16, 33, 100, 257, 1215 })
            foreach (int s in new[] { 1, 2, 3, 4, 6, 11, 40 })
            {
                if (s == 1 && n > 300) continue;
                var (advances, most) = Execute(BinomialCheckpointing.Schedule(n, s), new[] { 0 }, n, s);
                Assert.AreEqual(BinomialCheckpointing.MinimalAdvances(n, s), advances, $"n = {n}, s = {s}: advances");
                if (s > 1)
                    Assert.IsTrue(most <= BinomialCheckpointing.RepetitionNumber(n, s), $"n = {n}, s = {s}: a step advanced {most} times, r = {BinomialCheckpointing.RepetitionNumber(n, s)}");
            }
        // O(log n) snapshots: 1215 steps with 12 = ⌈log2 1215⌉ + 1 snapshots need r = 4 sweeps at most.
        Assert.AreEqual(4, BinomialCheckpointing.RepetitionNumber(1215, 12));
    }

    [TestMethod]
    public void ForwardSnapshotsThinEvenlyAndTheReversalStaysWithinTheBudget()
    {
        foreach (int n in new[] { 1, 5, 64, 65, 300, 1215 })
            foreach (int s in new[] { 2, 3, 8, 64, 80 })
            {
                var forward = new ForwardCheckpoints<int>(Math.Max(1, s / 2));
                for (int i = 0; i < n; i++)
                {
                    forward.Offer(i, () => i);
                    Assert.IsTrue(forward.Count <= forward.Capacity);
                }
                var indices = forward.Indices;
                Assert.AreEqual(0, indices[0]);
                Assert.IsTrue(indices.All(i => i % forward.Spacing == 0 && forward[i] == i), "kept at multiples of the spacing");
                Assert.AreEqual((int)((n - 1) / forward.Spacing) + 1, indices.Count, "every multiple below n kept");
                var (advances, _) = Execute(BinomialCheckpointing.Reversal(indices, n, s), indices, n, s);
                // Each interval j is reversed optimally with s − j snapshots.
                long bound = 0;
                for (int j = 0; j < indices.Count; j++)
                    bound += BinomialCheckpointing.MinimalAdvances((j + 1 < indices.Count ? indices[j + 1] : n) - indices[j], s - j);
                Assert.AreEqual(bound, advances, $"n = {n}, s = {s}");
                Assert.IsTrue(advances <= BinomialCheckpointing.MinimalAdvances(n, s), $"n = {n}, s = {s}: {advances} advances, more than revolve from the start alone");
            }
        // sp4 over 1 ns (1215 steps) with 80 snapshots: intervals of 32 steps, each recomputed once.
        var sp4 = new ForwardCheckpoints<int>(40);
        for (int i = 0; i < 1215; i++) sp4.Offer(i, () => i);
        Assert.AreEqual(32L, sp4.Spacing);
        var cost = Execute(BinomialCheckpointing.Reversal(sp4.Indices, 1215, 80), sp4.Indices, 1215, 80);
        Assert.AreEqual(1215L - sp4.Indices.Count, cost.Advances);
        Assert.AreEqual(1, cost.MostPerStep);
    }

    [TestMethod]
    public void BadArgumentsAreRejectedWithTheirNames()
    {
        Assert.AreEqual("steps", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => BinomialCheckpointing.Schedule(0, 3)).ParamName);
        Assert.AreEqual("snapshots", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => BinomialCheckpointing.MinimalAdvances(5, 0)).ParamName);
        Assert.AreEqual("stored", Assert.ThrowsExactly<ArgumentException>(() => BinomialCheckpointing.Reversal(new[] { 1, 3 }, 5, 3)).ParamName);
        Assert.AreEqual("stored", Assert.ThrowsExactly<ArgumentException>(() => BinomialCheckpointing.Reversal(new[] { 0, 5 }, 5, 3)).ParamName);
        Assert.AreEqual("stored", Assert.ThrowsExactly<ArgumentException>(() => BinomialCheckpointing.Reversal(new[] { 0, 1, 2 }, 5, 2)).ParamName);
    }
}

[TestClass]
public sealed class DormandPrinceStepReplayTests
{
    private static DormandPrince DampedRotation() => new((t, y) =>
    {
        var a = y[0..1]; var b = y[1..2];
        return NTensor.Concat(0, -a * 0.3 + b * 3.0 + Math.Sin(t), -b * 0.3 - a * 3.0);
    }, 1e-8, 1e-8);

    [TestMethod]
    public void TakeStepRepeatsEveryAcceptedStepBitForBit()
    {
        var dp = DampedRotation();
        var accepted = new List<(double T, double H, double[] Y, double[] F)>();
        dp.OnAcceptedStep = (t, h, y1, f1) => accepted.Add((t, h, y1.ToArray(), f1.ToArray()));
        var y0 = NTensor.FromArray(new[] { 1.0, 0.5 });
        var end = dp.Integrate(y0, 0, 2).ToArray();
        Assert.IsTrue(accepted.Count > 20, $"{accepted.Count} accepted steps");
        Assert.AreEqual(2.0, accepted[^1].T + accepted[^1].H, 1e-15, "the last step lands on the end");
        var y = y0;
        var f = dp.Evaluate(0, y0);
        foreach (var step in accepted)
        {
            (y, f) = dp.TakeStep(y, f, step.T, step.H);
            CollectionAssert.AreEqual(step.Y, y.ToArray(), $"y after the step at t = {step.T}");
            CollectionAssert.AreEqual(step.F, f.ToArray(), $"f after the step at t = {step.T}");
        }
        CollectionAssert.AreEqual(end, y.ToArray());
    }

    [TestMethod]
    public void TakeStepRejectsBadArguments()
    {
        var dp = DampedRotation();
        var y = NTensor.FromArray(new[] { 1.0, 0.5 });
        var f = dp.Evaluate(0, y);
        Assert.AreEqual("h", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => dp.TakeStep(y, f, 0, 0)).ParamName);
        Assert.AreEqual("h", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => dp.TakeStep(y, f, 0, double.NaN)).ParamName);
        Assert.AreEqual("t", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => dp.TakeStep(y, f, double.PositiveInfinity, 0.1)).ParamName);
        Assert.AreEqual("fy", Assert.ThrowsExactly<ArgumentException>(() => dp.TakeStep(y, NTensor.FromArray(new[] { 1.0 }), 0, 0.1)).ParamName);
    }
}

[TestClass]
public sealed class RevolveGradientTests
{
    /// <summary>
    /// Two nodes × 2 × 2 of exchange + Zeeman on 2 nm cells (stiff enough for a few dozen steps in 20 ps) with alpha
    /// as a solver parameter; L(m0, alpha) = w · m(t1) through a given solve, with its value and gradients.
    /// </summary>
    private static (NeuralMag.State State, LLGSolver Llg, Func<Func<NTensor, NTensor, NTensor>, NTensor[]> Grads, Func<NTensor, double> Loss) CoupledMacrospins(double tol) =>
        CheckpointedGradientTests.CoupledMacrospins(2e-9, tol);

    private const double T1 = 5e-12;

    [TestMethod]
    public void RevolveGradientsEqualBackpropThroughAllStepsToRoundOff()
    {
        var (_, llg, Grads, _) = CoupledMacrospins(1e-8);
        var direct = Grads((m, a) => llg.Solve(T1, m, [a]));
        Assert.AreNotEqual(0.0, direct[2].Item());
        foreach (int snapshots in new[] { 2, 3, 5, 0 })
        {
            var revolve = Grads((m, a) => llg.SolveRevolve(T1, m, [a], snapshots));
            var stats = llg.LastRevolve!;
            Console.WriteLine($"snapshots {snapshots}: {stats}");
            Assert.AreEqual(direct[0].Item(), revolve[0].Item(), "the same forward solve, bit for bit");
            Assert.AreEqual(direct[2].Item(), revolve[2].Item(), 1e-12 * Math.Abs(direct[2].Item()), $"dL/dalpha, {snapshots} snapshots");
            var a1 = direct[1].ToArray(); var b1 = revolve[1].ToArray();
            double scale = a1.Max(Math.Abs);
            for (int i = 0; i < a1.Length; i++) Assert.AreEqual(a1[i], b1[i], 1e-12 * scale, $"dL/dm0[{i}], {snapshots} snapshots");
            int budget = snapshots == 0 ? LLGSolver.DefaultRevolveSnapshots : snapshots;
            Assert.AreEqual(budget, stats.Snapshots);
            Assert.IsTrue(stats.PeakSnapshots <= budget, $"{stats.PeakSnapshots} snapshots held, budget {budget}");
            Assert.IsTrue(stats.Steps >= 20, $"{stats.Steps} steps: too few to exercise the schedule");
            Assert.IsTrue(stats.RecomputedSteps >= stats.Steps - budget, $"{stats.RecomputedSteps} steps recomputed");
            if (budget <= 5) Assert.AreEqual(budget, stats.PeakSnapshots, "a small budget is used in full");
        }
    }

    [TestMethod]
    public void RevolveGradientsMatchCentralDifferences()
    {
        var (state, llg, Grads, Loss) = CoupledMacrospins(1e-10);
        var g = Grads((m, a) => llg.SolveRevolve(T1, m, [a], snapshots: 4));
        var m0 = state.M.Tensor;
        var m0v = m0.ToArray();
        const double h = 1e-6;
        double L(NTensor m, double alpha) => Loss(llg.Solve(T1, m, [state.Scalar(alpha)]));
        double dAlpha = (L(m0, 0.1 + h) - L(m0, 0.1 - h)) / (2 * h);
        Assert.AreEqual(dAlpha, g[2].Item(), Math.Abs(dAlpha) * 1e-6, "dL/dalpha");
        var gm = g[1].ToArray();
        foreach (int idx in new[] { 0, 7, 20, 35 })
        {
            NTensor Shift(double d) { var v = (double[])m0v.Clone(); v[idx] += d; return state.Tensor(v, new[] { 3, 2, 2, 3 }); }
            double fd = (L(Shift(h), 0.1) - L(Shift(-h), 0.1)) / (2 * h);
            Assert.AreEqual(fd, gm[idx], Math.Abs(fd) * 1e-6 + 1e-8, $"dL/dm0[{idx}]");
        }
    }

    [TestMethod]
    public void AMemoryBudgetCollectsGarbageAndLeavesTheGradientUnchanged()
    {
        var (_, llg, Grads, _) = CoupledMacrospins(1e-10);
        var free = Grads((m, a) => llg.SolveRevolve(T1, m, [a], snapshots: 4));
        var bounded = Grads((m, a) => llg.SolveRevolve(T1, m, [a], snapshots: 4, memoryBudget: 100_000));
        var stats = llg.LastRevolve!;
        for (int k = 0; k < free.Length; k++)
            CollectionAssert.AreEqual(free[k].ToArray(), bounded[k].ToArray(), $"gradient {k}: collecting garbage changes no arithmetic");
        // The heap is the process's: tests running beside this one add to it, so only the count is asserted.
        Assert.IsTrue(stats.Collections > 0, $"{stats.Steps} steps under a 100 kB budget induced {stats.Collections} collections");
    }

    [TestMethod]
    public void AMemoryBudgetTooSmallForTheSnapshotsIsRejected()
    {
        var (state, llg, _, _) = CoupledMacrospins(1e-8);
        var negative = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => llg.SolveRevolve(T1, memoryBudget: -1));
        Assert.AreEqual("memoryBudget", negative.ParamName);
        using var tape = new Tape();
        var mw = tape.Watch(state.M.Tensor);
        var small = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => llg.SolveRevolve(T1, mw, snapshots: 64, memoryBudget: 1000));
        Assert.AreEqual("memoryBudget", small.ParamName);
        StringAssert.Contains(small.Message, "64 snapshots");
    }

    [TestMethod]
    public void WithoutATapeOrTimeItIsThePlainSolve()
    {
        var (state, llg, _, _) = CoupledMacrospins(1e-8);
        var plain = llg.Solve(T1).ToArray();
        var revolve = llg.SolveRevolve(T1).ToArray();
        CollectionAssert.AreEqual(plain, revolve);
        using var tape = new Tape();
        var mw = tape.Watch(state.M.Tensor);
        var same = llg.SolveRevolve(state.T, mw);
        var grad = tape.Gradient((same * 2.0).Sum(), new[] { mw })[0].ToArray();
        Assert.IsTrue(grad.All(x => x == 2.0), "zero duration: m(t0) = m0");
    }

    [TestMethod]
    public void SnapshotBudgetBelowTwoIsRejected()
    {
        var (_, llg, _, _) = CoupledMacrospins(1e-8);
        foreach (int bad in new[] { -1, 1 })
        {
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => llg.SolveRevolve(T1, snapshots: bad));
            Assert.AreEqual("snapshots", e.ParamName);
            StringAssert.Contains(e.Message, "at least 2");
        }
    }
}
