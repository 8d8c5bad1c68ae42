using NeuralMag.AD;

namespace NeuralMag.Tests.Solvers;

using State = NeuralMag.State;

/// <summary>
/// How long solver calls are steered: unit-length m, progress reports, cancellation, one solver per state at a time,
/// and the step size carried from one output time to the next.
/// </summary>
[TestClass]
public sealed class SolverControlTests
{
    /// <summary>Collects reports synchronously (Progress&lt;T&gt; would post them to the thread pool).</summary>
    private sealed class Recorder(Action<SolverProgress>? onReport = null) : IProgress<SolverProgress>
    {
        public List<SolverProgress> Reports { get; } = new();
        public void Report(SolverProgress value) { Reports.Add(value); onReport?.Invoke(value); }
    }

    /// <summary>Exchange + Zeeman on 3 x 2 x 2 cells with a non-uniform start (the coupled-macrospin setup).</summary>
    internal static State ExchangeBlock()
    {
        var state = new State(new Mesh(new[] { 3, 2, 2 }, new[] { 3e-9, 3e-9, 3e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["alpha"] = 0.05;
        var m = new double[4 * 3 * 3 * 3];
        for (int i = 0; i < m.Length / 3; i++) { double a = 0.3 * i; m[3 * i] = Math.Cos(a); m[3 * i + 2] = Math.Sin(a); }
        state["m"] = new VectorFunction(state, state.Tensor(m, new[] { 4, 3, 3, 3 }));
        new ExchangeField().Register(state, "exchange");
        new ExternalField(new[] { 1e5, 0, 3e5 }).Register(state, "external");
        new TotalField("exchange", "external").Register(state);
        return state;
    }

    [TestMethod]
    [DoNotParallelize] // captures the process-wide notice writer
    public void ANonUnitMagnetizationIsNormalizedWithOneNotice()
    {
        var notices = new StringWriter();
        var previous = Config.Notices;
        Config.Notices = notices;
        try
        {
            var state = SolverBadInputTests.Macrospin(m: new[] { 5.0, 0, 0 });
            var llg = new LLGSolver(state);
            llg.Step(1e-12);
            llg.Step(1e-12);
            var lengths = state.M.Tensor.Norm(-1).ToArray();
            foreach (var l in lengths) Assert.AreEqual(1.0, l, 1e-9, "m is unit length after the step");
            state.M.Tensor = state.M.Tensor * 3.0;
            llg.Step(1e-12);
            var text = notices.ToString();
            int count = text.Split("LLGSolver.Step: |m| differs from 1").Length - 1;
            Assert.AreEqual(1, count, $"one notice per solver: {text}");
            StringAssert.Contains(text, "by up to 4 at 8 of 8 magnetic points");
            // The minimizer normalizes the state's m at its start too.
            var s2 = SolverBadInputTests.Macrospin(m: new[] { 0.0, 2.0, 0 });
            new EnergyMinimizer(s2, maxIter: 0).Minimize();
            foreach (var l in s2.M.Tensor.Norm(-1).ToArray()) Assert.AreEqual(1.0, l, 1e-12);
            StringAssert.Contains(notices.ToString(), "EnergyMinimizer.Minimize: |m| differs from 1");
            // Within 1e-6 of unit length nothing is touched or said.
            var s3 = SolverBadInputTests.Macrospin(m: new[] { 1.0 + 5e-7, 0, 0 });
            var before = notices.ToString().Length;
            new LLGSolver(s3).Step(1e-13);
            Assert.AreEqual(before, notices.ToString().Length);
        }
        finally { Config.Notices = previous; }
    }

    [TestMethod]
    [DoNotParallelize] // captures the process-wide notice writer
    public void TheSolversOwnDriftFromUnitLengthIsNormalizedWithoutANotice()
    {
        var notices = new StringWriter();
        var previous = Config.Notices;
        Config.Notices = notices;
        try
        {
            // Loose tolerances: Runge–Kutta steps do not conserve |m|, so one Step leaves it off by far more than 1e-6.
            var state = SolverBadInputTests.Macrospin(alpha: 0.02, m: new[] { 0.6, 0, 0.8 });
            var llg = new LLGSolver(state, rtol: 1e-2, atol: 1e-2);
            llg.Step(2e-10);
            double drift = state.M.Tensor.Norm(-1).ToArray().Max(l => Math.Abs(l - 1));
            Assert.IsTrue(drift > 1e-5, $"the loose step drifts from unit length (by {drift:g3})");
            llg.Step(1e-13);
            Assert.AreEqual("", notices.ToString(), "no notice for the solver's own result");
            // The next call started from the normalized m: one tiny step keeps it within the integrator's error of 1.
            double after = state.M.Tensor.Norm(-1).ToArray().Max(l => Math.Abs(l - 1));
            Assert.IsTrue(after < drift / 10, $"m normalized at the second call's start (|m| - 1 now {after:g3}, was {drift:g3})");
            // A new solver of the same state (relax with one, switch with another, as the sp4 demo does) is silent too.
            llg.Step(2e-10);
            Assert.IsTrue(state.M.Tensor.Norm(-1).ToArray().Max(l => Math.Abs(l - 1)) > 1e-5, "drifted again");
            new LLGSolver(state).Step(1e-13);
            Assert.AreEqual("", notices.ToString(), "no notice for another solver's result");
            // An m the user sets is still reported.
            state.M.Tensor = state.M.Tensor * 1.01;
            llg.Step(1e-13);
            StringAssert.Contains(notices.ToString(), "LLGSolver.Step: |m| differs from 1");
        }
        finally { Config.Notices = previous; }
    }

    [TestMethod]
    public void StepSolveRelaxAndMinimizeReportProgress()
    {
        var state = ExchangeBlock();
        var rec = new Recorder();
        var llg = new LLGSolver(state) { Progress = rec };
        llg.Step(5e-12);
        Assert.IsTrue(rec.Reports.Count >= 2, $"{rec.Reports.Count} reports");
        Assert.IsTrue(rec.Reports.All(r => r.Operation == "step"));
        Assert.AreEqual(1.0, rec.Reports[^1].Fraction);
        Assert.AreEqual(5e-12, rec.Reports[^1].Time, 1e-24);
        Assert.IsTrue(rec.Reports.Zip(rec.Reports.Skip(1)).All(p => p.Second.Fraction >= p.First.Fraction), "fractions increase");
        rec.Reports.Clear();
        llg.Relax(tol: 1e9);
        Assert.IsTrue(rec.Reports.Count >= 2 && rec.Reports.All(r => r.Operation == "relax"));
        Assert.AreEqual(1.0, rec.Reports[^1].Fraction);
        Assert.IsTrue(rec.Reports[^1].Residual <= 1e9 && rec.Reports[^1].Tolerance == 1e9);
        var min = new EnergyMinimizer(ExchangeBlock(), tol: 1, maxIter: 50) { Progress = rec };
        rec.Reports.Clear();
        min.Minimize();
        Assert.AreEqual(min.Iterations, rec.Reports.Count, "one report per minimizer step");
        Assert.IsTrue(rec.Reports.All(r => r.Operation == "minimize" && r.Residual >= 0));
        var lines = new StringWriter();
        var text = new TextProgress(lines, TimeSpan.Zero);
        text.Report(new SolverProgress("solve", 0.5, 1e-12, 10, 70));
        StringAssert.Contains(lines.ToString(), "[NeuralMag] solve 50% t = 1.0000E-012 s, 10 steps, 70 evaluations");
    }

    [TestMethod]
    public void CancellationStopsAStepAndLeavesTheStateAsItWas()
    {
        var state = ExchangeBlock();
        var m0 = state.M.Tensor.ToArray();
        using var cts = new CancellationTokenSource();
        var llg = new LLGSolver(state) { Progress = new Recorder(r => { if (r.Steps >= 3) cts.Cancel(); }) };
        Assert.ThrowsExactly<OperationCanceledException>(() => llg.Step(1e-9, cts.Token));
        Assert.AreEqual(0.0, state.T);
        CollectionAssert.AreEqual(m0, state.M.Tensor.ToArray());
        // A token cancelled beforehand stops every long call at once.
        Assert.ThrowsExactly<OperationCanceledException>(() => llg.Solve(1e-9, cancellationToken: cts.Token));
        Assert.ThrowsExactly<OperationCanceledException>(() => llg.Relax(cancellationToken: cts.Token));
        Assert.ThrowsExactly<OperationCanceledException>(() => new EnergyMinimizer(state, tol: 0).Minimize(cancellationToken: cts.Token));
        // The state is free again after a cancelled call.
        llg.Progress = null;
        llg.Step(1e-13);
        Assert.AreEqual(1e-13, state.T);
    }

    [TestMethod]
    public void OneStateIsAdvancedByOneSolverAtATime()
    {
        // A second solver that starts while the first runs (here: from the first one's progress callback) is refused.
        var state = ExchangeBlock();
        var other = new LLGSolver(state);
        InvalidOperationException? nested = null;
        var llg = new LLGSolver(state)
        {
            Progress = new Recorder(_ =>
            {
                if (nested != null) return;
                nested = Assert.ThrowsExactly<InvalidOperationException>(() => other.Step(1e-13));
            }),
        };
        llg.Step(2e-12);
        Assert.IsNotNull(nested);
        StringAssert.Contains(nested.Message, "already being advanced by LLGSolver.Step");
        StringAssert.Contains(nested.Message, "separate State");
        Assert.AreEqual(2e-12, state.T, 1e-25, "the first solver's step is complete and the refused one left no trace");

        // Two threads stepping one state: every step either runs whole or is refused; none is lost.
        var shared = ExchangeBlock();
        int done = 0, refused = 0;
        using var start = new Barrier(2);
        void Worker()
        {
            var solver = new LLGSolver(shared);
            start.SignalAndWait();
            for (int i = 0; i < 20; i++)
            {
                try { solver.Step(1e-13); Interlocked.Increment(ref done); }
                catch (InvalidOperationException) { Interlocked.Increment(ref refused); }
            }
        }
        var threads = new[] { new Thread(Worker), new Thread(Worker) };
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        Assert.AreEqual(40, done + refused);
        Assert.AreEqual(done * 1e-13, shared.T, 1e-24, $"{done} steps done, {refused} refused");
    }

    [TestMethod]
    public void TheStepSizeCarriesOverOutputTimes()
    {
        // 100 ps sampled every 2 ps: restarting the step-size choice at every output time (ResetStepSize) costs more
        // right-hand-side evaluations than continuing with the carried step, which comes close to one single run.
        const double dt = 2e-12;
        const int outputs = 50;
        long Run(Action<LLGSolver> body, out double[] m)
        {
            var state = ExchangeBlock();
            var llg = new LLGSolver(state, rtol: 1e-7, atol: 1e-7);
            body(llg);
            m = state.M.Tensor.ToArray();
            return llg.Evaluations;
        }
        long restart = Run(llg => { for (int i = 0; i < outputs; i++) { llg.ResetStepSize(); llg.Step(dt); } }, out var mRestart);
        long carried = Run(llg => { for (int i = 0; i < outputs; i++) llg.Step(dt); }, out var mCarried);
        long once = Run(llg => llg.Step(outputs * dt), out var mOnce);
        var times = Enumerable.Range(1, outputs).Select(i => i * dt).ToArray();
        var solveState = ExchangeBlock();
        var solver = new LLGSolver(solveState, rtol: 1e-7, atol: 1e-7);
        var trajectory = solver.Solve(times);
        long solved = solver.Evaluations;
        Console.WriteLine($"evaluations over 100 ps sampled every 2 ps: restart {restart}, carried {carried}, Solve(times) {solved}; one run {once}");
        // Measured (rtol = atol = 1e-7): restart 4570, carried 3915, Solve(times) 3866, one run 3710.
        Assert.IsTrue(carried < 0.9 * restart, $"carried {carried} vs restart {restart}");
        Assert.IsTrue(solved <= carried, $"Solve(times) {solved} vs carried Steps {carried}");
        Assert.IsTrue(solved < 2 * once + 7 * outputs, $"Solve(times) {solved} vs one run {once}");
        Assert.IsTrue(solver.StepSize == 0, "Solve does not change the carried step of Step");
        // The same trajectory to the tolerance, whichever way it was sampled.
        var last = trajectory[^1].ToArray();
        double Diff(double[] a) => a.Zip(mOnce).Max(p => Math.Abs(p.First - p.Second));
        Console.WriteLine($"max |m - m(one run)|: restart {Diff(mRestart):E1}, carried {Diff(mCarried):E1}, Solve(times) {Diff(last):E1}");
        Assert.IsTrue(Diff(mRestart) < 1e-5 && Diff(mCarried) < 1e-5 && Diff(last) < 1e-5);
    }
}
