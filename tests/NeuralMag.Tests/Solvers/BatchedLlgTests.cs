using NeuralMag.AD;

namespace NeuralMag.Tests.Solvers;

/// <summary>
/// The LLG solver on a batched state: each member steps as it would alone (per-member step control), a common step
/// for time-dependent fields, members that fail are frozen without stopping the others, relaxation per member, and
/// gradients through a batched solve. The field here is a macrospin's uniaxial anisotropy plus a bias field written as a
/// lambda, so that only the solver's batch handling is under test (the batched field terms have their own tests).
/// </summary>
[TestClass]
public sealed class BatchedLlgTests
{
    private static readonly double[][] Starts =
    {
        new[] { 1.0, 0, 0 },
        new[] { 0.6, 0.0, 0.8 },
        new[] { 0.0, -0.28, 0.96 },
    };

    private static readonly double[] Hk = { 2e5, 5e5, 1e5 };
    private static readonly double[] Alpha = { 0.02, 0.3, 0.1 };

    /// <summary>
    /// A 1x1x1-cell macrospin with h = Hk m_z e_z + (0, 2e4, 3e4) A/m, of one member (batch null) or of the members
    /// given, with per-member Hk and alpha ([B, 1, 1, 1, 1] and [B, 1, 1, 1]).
    /// </summary>
    private static NeuralMag.State Macrospin(int[] members, bool batched, Func<NTensor, NTensor>? timeFactor = null, Device? device = null, DType dtype = DType.Float64)
    {
        var mesh = new Mesh(new[] { 1, 1, 1 }, new[] { 2e-9, 2e-9, 2e-9 });
        var state = new NeuralMag.State(mesh, device ?? Device.Cpu, dtype, batch: batched ? members.Length : null);
        state.Material["Ms"] = 8e5;
        var shape = batched ? new[] { members.Length, 1, 1, 1, 1 } : new[] { 1, 1, 1, 1 };
        state.Material["Hk"] = state.Tensor(members.Select(b => Hk[b]).ToArray(), shape);
        state.Material["alpha"] = state.Tensor(members.Select(b => Alpha[b]).ToArray(), shape[..^1]);
        var ez = state.Tensor(new[] { 0.0, 0, 1 });
        var bias = state.Tensor(new[] { 0.0, 2e4, 3e4 });
        if (timeFactor is null)
            state["h"] = (Func<NTensor, NTensor, NTensor>)((m, material__Hk) => m.Slice(-1, 2, 3) * material__Hk * ez + bias);
        else
            state["h"] = (Func<NTensor, NTensor, NTensor, NTensor>)((m, material__Hk, t) => m.Slice(-1, 2, 3) * material__Hk * ez + bias * timeFactor(t));
        var m0 = members.Select(b => state.Tensor(Starts[b]).Expand(2, 2, 2, 3)).ToArray();
        state["m"] = new VectorFunction(state, batched ? NTensor.Stack(0, m0) : m0[0]);
        return state;
    }

    private static double[] Member(NTensor batch, int b) => batch.Slice(0, b, b + 1).ToArray();

    [TestMethod]
    [DataRow("float64", "cpu")]
    [DataRow("float32", "cpu")]
    [DataRow("float64", "ilgpu-cpu")]
    public void EachMemberStepsAsItWouldAloneBitForBit(string dtypeName, string deviceName)
    {
        var dtype = dtypeName == "float64" ? DType.Float64 : DType.Float32;
        var device = deviceName == "cpu" ? Device.Cpu : TestDevices.GetOrSkip(deviceName);
        int[] all = { 0, 1, 2 };
        var batch = Macrospin(all, batched: true, device: device, dtype: dtype);
        var llg = new LLGSolver(batch);
        llg.Step(0.2e-9);
        llg.Step(0.1e-9);
        var outcomes = llg.MemberOutcomes!;
        Assert.AreEqual(3, outcomes.Count);
        Assert.IsTrue(outcomes.All(o => o.Completed));
        var m = batch.M.Tensor;
        CollectionAssert.AreEqual(new[] { 3, 2, 2, 2, 3 }, m.GetShape());
        var steps = new List<long>();
        foreach (int b in all)
        {
            var alone = Macrospin(new[] { b }, batched: false, device: device, dtype: dtype);
            var single = new LLGSolver(alone);
            single.Step(0.2e-9);
            long first = single.Integrator.AcceptedSteps;
            single.Step(0.1e-9);
            CollectionAssert.AreEqual(alone.M.Tensor.ToArray(), Member(m, b), $"member {b}");
            Assert.AreEqual((int)(single.Integrator.AcceptedSteps - first), outcomes[b].AcceptedSteps, $"member {b}: accepted steps of the second Step");
            steps.Add(single.Integrator.AcceptedSteps);
        }
        Assert.IsTrue(steps.Distinct().Count() > 1, $"the members take different numbers of steps ({string.Join(", ", steps)}), so the step control is really per member");
        Assert.AreEqual(0.3e-9, batch.T, 0.3e-9 * batch.Eps, "t of the state (its dtype)");
    }

    [TestMethod]
    public void ATimeDependentFieldNeedsTheCommonStepAndThenMatchesTheSingleRuns()
    {
        static NTensor Ramp(NTensor t) => t * 5e9 + 1.0;
        int[] all = { 0, 1, 2 };
        var refused = Assert.ThrowsExactly<ArgumentException>(() => new LLGSolver(Macrospin(all, true, Ramp)));
        Assert.AreEqual("batchSteps", refused.ParamName);
        StringAssert.Contains(refused.Message, "BatchSteps.Common");
        var batch = Macrospin(all, true, Ramp);
        var llg = new LLGSolver(batch, rtol: 1e-8, atol: 1e-8, batchSteps: BatchSteps.Common);
        llg.Step(0.2e-9);
        var counts = llg.MemberOutcomes!.Select(o => o.AcceptedSteps).Distinct().ToList();
        Assert.AreEqual(1, counts.Count, "one common step: every member took the same steps");
        foreach (int b in all)
        {
            var alone = Macrospin(new[] { b }, false, Ramp);
            new LLGSolver(alone, rtol: 1e-8, atol: 1e-8).Step(0.2e-9);
            var diff = alone.M.Tensor.ToArray().Zip(Member(batch.M.Tensor, b)).Max(p => Math.Abs(p.First - p.Second));
            // Both runs are within their tolerance 1e-8 of the exact solution; the common step is smaller for all but
            // the hardest member, so they differ by the integration error, not by round-off.
            Assert.IsTrue(diff < 1e-6, $"member {b}: max |m_batch - m_alone| = {diff:E2}");
        }
    }

    [TestMethod]
    public void AMemberThatFailsIsFrozenAndTheOthersFinish()
    {
        int[] all = { 0, 1, 2 };
        var batch = Macrospin(all, true);
        // Member 1's anisotropy field is so stiff that the explicit method needs far more than 400 steps.
        batch.Material["Hk"] = batch.Tensor(new[] { Hk[0], 1e13, Hk[2] }, new[] { 3, 1, 1, 1, 1 });
        var m0 = batch.M.Tensor;
        var llg = new LLGSolver(batch, maxSteps: 400);
        llg.Step(0.1e-9);
        var o = llg.MemberOutcomes!;
        Assert.IsTrue(o[0].Completed && o[2].Completed);
        Assert.IsFalse(o[1].Completed);
        StringAssert.Contains(o[1].Message, "steps");
        foreach (int b in new[] { 0, 2 })
        {
            var alone = Macrospin(new[] { b }, false);
            new LLGSolver(alone, maxSteps: 400).Step(0.1e-9);
            CollectionAssert.AreEqual(alone.M.Tensor.ToArray(), Member(batch.M.Tensor, b), $"member {b}");
        }
        var frozen = Member(batch.M.Tensor, 1);
        Assert.IsTrue(frozen.All(double.IsFinite), "the failed member keeps its last accepted (finite) state");
        Assert.IsTrue(o[1].Time < 0.1e-9 / llg.ScaleT, $"it stopped early, at {o[1].Time} (integrator units)");
        _ = m0;
    }

    [TestMethod]
    public void AFailedMemberStaysFrozenOverLaterOutputTimesAndAnEmptySolveReportsEveryMember()
    {
        var batch = Macrospin(new[] { 0, 1, 2 }, true);
        batch.Material["Hk"] = batch.Tensor(new[] { Hk[0], 1e13, Hk[2] }, new[] { 3, 1, 1, 1, 1 });
        var llg = new LLGSolver(batch, maxSteps: 400);
        var at = llg.Solve(new[] { 0.05e-9, 0.1e-9 });
        var o = llg.MemberOutcomes!;
        Assert.IsFalse(o[1].Completed, "member 1 failed in the first interval and is still reported failed at the end");
        Assert.IsTrue(o[1].Time < 0.05e-9 / llg.ScaleT, $"its time is where it failed: {o[1].Time}");
        CollectionAssert.AreEqual(Member(at[0], 1), Member(at[1], 1), "it does not move after failing");
        Assert.IsTrue(o[0].Completed && o[2].Completed);
        var still = new LLGSolver(Macrospin(new[] { 0, 1 }, true));
        still.Solve(new[] { 0.0 });
        Assert.AreEqual(2, still.MemberOutcomes!.Count, "a solve that ends where it starts reports every member");
        Assert.IsTrue(still.MemberOutcomes.All(m => m.Completed && m.AcceptedSteps == 0));
    }

    [TestMethod]
    public void RelaxConvergesEachMemberAsAloneAndReportsPerMember()
    {
        int[] all = { 0, 1, 2 };
        var batch = Macrospin(all, true);
        var llg = new LLGSolver(batch);
        int intervals = llg.Relax();
        var outcomes = llg.RelaxOutcomes!;
        Assert.IsTrue(outcomes.All(r => r.Converged), string.Join("; ", outcomes));
        Assert.AreEqual(outcomes.Max(r => r.Intervals), intervals);
        foreach (int b in all)
        {
            var alone = Macrospin(new[] { b }, false);
            int own = new LLGSolver(alone).Relax();
            Assert.AreEqual(own, outcomes[b].Intervals, $"member {b}: intervals");
            CollectionAssert.AreEqual(alone.M.Tensor.ToArray(), Member(batch.M.Tensor, b), $"member {b}");
        }
    }

    [TestMethod]
    public void GradientsThroughABatchedSolveAreEachMembersOwn()
    {
        int[] all = { 0, 1, 2 };
        var batch = Macrospin(all, true);
        var weights = batch.Tensor(new[] { 0.3, -0.7, 1.1 });
        var llg = new LLGSolver(batch);
        var grad = Autodiff.Grad(m0 => (llg.Solve(0.05e-9, m0) * weights).Sum())(batch.M.Tensor);
        foreach (int b in all)
        {
            var alone = Macrospin(new[] { b }, false);
            var single = new LLGSolver(alone);
            var g = Autodiff.Grad(m0 => (single.Solve(0.05e-9, m0) * weights).Sum())(alone.M.Tensor);
            var diff = g.ToArray().Zip(Member(grad, b)).Max(p => Math.Abs(p.First - p.Second));
            Assert.IsTrue(diff <= 1e-12 * g.Abs().Max().Item(), $"member {b}: max gradient difference {diff:E2}");
        }
    }

    [TestMethod]
    public void GradientPassesThatReplayStepsAndImplicitMethodsRefuseABatch()
    {
        var batch = Macrospin(new[] { 0, 1 }, true);
        var llg = new LLGSolver(batch);
        StringAssert.Contains(Assert.ThrowsExactly<NotSupportedException>(() => llg.SolveCheckpointed(1e-11)).Message, "batched state");
        StringAssert.Contains(Assert.ThrowsExactly<NotSupportedException>(() => llg.SolveRevolve(1e-11)).Message, "batched state");
        StringAssert.Contains(Assert.ThrowsExactly<NotSupportedException>(() => llg.SolveAdjoint(1e-11)).Message, "batched state");
        StringAssert.Contains(Assert.ThrowsExactly<NotSupportedException>(() => new LLGSolver(batch, implicitMethod: ImplicitMethod.Kvaerno5)).Message, "members of a batch");
    }
}

/// <summary>
/// <see cref="EnergyMinimizer.MinimizeMany"/> (upstream's minimize_many; its test compares against looped single
/// minimizations, as here): each member iterates as a fresh minimizer on it alone would.
/// </summary>
[TestClass]
public sealed class MinimizeManyTests
{
    private static readonly double[][] Starts =
    {
        new[] { 1.0, 0.0, 0.2 },
        new[] { -1.0, 0.0, -0.2 },
        new[] { 0.3, 0.9, 0.1 },
    };

    /// <summary>A macrospin with h = Hk m_z e_z + 1e3 e_x A/m and a quadratic "energy" E per member (for the trace).</summary>
    private static NeuralMag.State Uniaxial(int[] members, bool batched)
    {
        var state = new NeuralMag.State(new Mesh(new[] { 1, 1, 1 }, new[] { 2e-9, 2e-9, 2e-9 }), Device.Cpu, DType.Float64, batch: batched ? members.Length : null);
        state.Material["Ms"] = 8e5;
        var ez = state.Tensor(new[] { 0.0, 0, 1 });
        var bias = state.Tensor(new[] { 1e3, 0, 0 });
        state["h"] = (Func<NTensor, NTensor>)(m => m.Slice(-1, 2, 3) * 4e5 * ez + bias);
        int k = members.Length;
        state["E"] = (Func<NTensor, NTensor>)(m => batched ? (-m.Slice(-1, 2, 3).Square()).Reshape(k, -1).Sum(1) : (-m.Slice(-1, 2, 3).Square()).Sum());
        var m0 = members.Select(b => state.Tensor(Starts[b]).Expand(2, 2, 2, 3)).ToArray();
        state["m"] = new VectorFunction(state, batched ? NTensor.Stack(0, m0) : m0[0]);
        return state;
    }

    [TestMethod]
    public void EachMemberMinimizesAsAFreshMinimizerOnItAloneAndReachesItsOwnMinimum()
    {
        int[] all = { 0, 1, 2 };
        foreach (var update in new[] { MinimizerUpdate.Cayley, MinimizerUpdate.Projected })
        {
            var batch = Uniaxial(all, true);
            var results = new EnergyMinimizer(batch, update: update, tol: 1e-2, maxIter: 500).MinimizeMany(traceEnergy: true);
            foreach (int b in all)
            {
                var alone = Uniaxial(new[] { b }, false);
                var single = new EnergyMinimizer(alone, update: update, tol: 1e-2, maxIter: 500).MinimizeWithInfo(traceEnergy: true);
                Assert.IsTrue(results[b].Converged, $"{update} member {b}");
                Assert.AreEqual(single.Iterations, results[b].Iterations, $"{update} member {b}: iterations");
                Assert.AreEqual(single.MaxTorque, results[b].MaxTorque, $"{update} member {b}: final torque");
                CollectionAssert.AreEqual(single.EnergyTrace.ToArray(), results[b].EnergyTrace.ToArray(), $"{update} member {b}: energy trace");
                CollectionAssert.AreEqual(alone.M.Tensor.ToArray(), batch.M.Tensor.Slice(0, b, b + 1).ToArray(), $"{update} member {b}: m");
            }
            var mz = batch.M.Tensor.Slice(-1, 2, 3).Reshape(3, -1).Mean(1).ToArray();
            Assert.IsTrue(mz[0] > 0.99 && mz[1] < -0.99, $"distinct minima reached: m_z = {string.Join(", ", mz)}");
        }
    }

    [TestMethod]
    public void TheOneSystemMethodsRefuseABatchAndMinimizeManyRefusesOneSystem()
    {
        var batch = Uniaxial(new[] { 0, 1 }, true);
        var minimizer = new EnergyMinimizer(batch);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => minimizer.Minimize()).Message, "MinimizeMany");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => minimizer.Step()).Message, "MinimizeMany");
        var one = new EnergyMinimizer(Uniaxial(new[] { 0 }, false));
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => one.MinimizeMany()).Message, "batched state");
    }
}
