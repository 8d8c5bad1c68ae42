using System.Diagnostics;
using NeuralMag.AD;

namespace NeuralMag.Tests.Solvers;

using State = NeuralMag.State;

/// <summary>
/// Bad inputs to LLGSolver, DormandPrince and EnergyMinimizer fail at the call, before any work, with the argument,
/// its value and what is allowed in the message; runs that cannot succeed stop within seconds.
/// </summary>
[TestClass]
public sealed class SolverBadInputTests
{
    /// <summary>A macrospin (one cell, 8 nodes) in a field along z, starting along x.</summary>
    internal static State Macrospin(double alpha = 0.1, double[]? m = null, double cell = 1e-9)
    {
        var state = new State(new Mesh(new[] { 1, 1, 1 }, new[] { cell, cell, cell }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = 8e5;
        state.Material["alpha"] = alpha;
        state["m"] = new VectorFunction(state).Fill(m ?? new[] { 1.0, 0, 0 });
        new ExternalField(new[] { 0, 0, 1e5 }).Register(state, "");
        return state;
    }

    private static void SetNode(State state, int node, double[] v)
    {
        var values = state.M.Tensor.ToArray();
        for (int c = 0; c < 3; c++) values[3 * node + c] = v[c];
        state.M.Tensor = state.Tensor(values, state.M.Tensor.GetShape());
    }

    [TestMethod]
    [DataRow(double.NaN)]
    [DataRow(double.PositiveInfinity)]
    [DataRow(-1e-12)]
    public void StepRefusesATimeThatIsNotFiniteAndNonNegative(double dt)
    {
        var state = Macrospin();
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LLGSolver(state).Step(dt));
        Assert.AreEqual("dt", e.ParamName);
        StringAssert.Contains(e.Message, "finite non-negative time in s");
        Assert.AreEqual(0.0, state.T, "nothing ran");
    }

    [TestMethod]
    public void SolveRefusesNonFiniteDescendingOrEarlyTimes()
    {
        var state = Macrospin();
        state.T = 1e-12;
        var llg = new LLGSolver(state);
        var nan = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => llg.Solve([2e-12, double.NaN]));
        StringAssert.Contains(nan.Message, "times[1] is not finite");
        var desc = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => llg.Solve([3e-12, 2e-12]));
        StringAssert.Contains(desc.Message, "must be ascending");
        var early = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => llg.Solve(0.5e-12));
        StringAssert.Contains(early.Message, "before the state's time t = 1e-12 s");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => llg.SolveCheckpointed(double.NaN));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => llg.SolveAdjoint(double.PositiveInfinity));
        Assert.ThrowsExactly<ArgumentException>(() => llg.Solve(Array.Empty<double>()));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => llg.SolveCheckpointed(2e-12, segments: 0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => llg.SolveAdjoint(2e-12, checkpoints: -1));
    }

    [TestMethod]
    [DataRow(0.0, 1e-11)]
    [DataRow(double.NaN, 1e-11)]
    [DataRow(1e7, 0.0)]
    [DataRow(1e7, double.NaN)]
    [DataRow(1e7, -1e-11)]
    public void RelaxRefusesBadToleranceOrInterval(double tol, double dt)
    {
        var llg = new LLGSolver(Macrospin());
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => llg.Relax(tol, dt));
        Assert.AreEqual(tol > 0 ? "dt" : "tol", e.ParamName);
        StringAssert.Contains(e.Message, "LLGSolver.Relax");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => llg.Relax(maxIntervals: 0));
    }

    [TestMethod]
    public void NonFiniteMagnetizationIsAnErrorForEverySolver()
    {
        var state = Macrospin();
        SetNode(state, 3, new[] { double.NaN, 0, 0 });
        var llg = new LLGSolver(state);
        foreach (var run in new Action[] { () => llg.Step(1e-12), () => llg.Relax(), () => llg.Solve(1e-12), () => new EnergyMinimizer(state).Minimize() })
        {
            var e = Assert.ThrowsExactly<ArgumentException>(run);
            StringAssert.Contains(e.Message, "m is not finite");
            StringAssert.Contains(e.Message, "(0, 1, 1)", "names the node");
        }
        Assert.AreEqual(0.0, state.T);
    }

    [TestMethod]
    public void ZeroMagnetizationWhereTheMaterialIsMagneticIsAnError()
    {
        var state = Macrospin();
        SetNode(state, 5, new[] { 0.0, 0, 0 });
        var e = Assert.ThrowsExactly<ArgumentException>(() => new LLGSolver(state).Step(1e-12));
        StringAssert.Contains(e.Message, "zero length at point (1, 0, 1)");
        StringAssert.Contains(e.Message, "Ms > 0");
        Assert.ThrowsExactly<ArgumentException>(() => new EnergyMinimizer(state).Minimize());
    }

    [TestMethod]
    public void ZeroMagnetizationInEmptyCellsIsAllowed()
    {
        // Two cells, the second with Ms = 0: its outer nodes (x index 2) touch no magnetic cell, so m = 0 there is
        // fine; h is 0 there too, so m stays 0, and the magnetic nodes keep unit length.
        var state = new State(new Mesh(new[] { 2, 1, 1 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = new CellFunction(state, tensor: state.Tensor(new[] { 8e5, 0.0 }, new[] { 2, 1, 1 }));
        state.Material["A"] = 1.3e-11;
        state.Material["alpha"] = 0.1;
        var m = new double[3 * 2 * 2 * 3];
        for (int p = 0; p < 12; p++) if (p / 4 < 2) m[3 * p] = 1; // nodes with x index 0 and 1 along x, index 2 zero
        state["m"] = new VectorFunction(state, state.Tensor(m, new[] { 3, 2, 2, 3 }));
        new ExchangeField().Register(state, "exchange");
        new ExternalField(new[] { 0, 1e5, 0 }).Register(state, "external");
        new TotalField("exchange", "external").Register(state);
        new LLGSolver(state).Step(1e-12);
        var after = state.M.Tensor.Norm(-1).ToArray();
        for (int p = 0; p < 12; p++) Assert.AreEqual(p / 4 < 2 ? 1.0 : 0.0, after[p], 1e-9, $"|m| at node {p}");
    }

    [TestMethod]
    [DataRow(-0.01)]
    [DataRow(double.NaN)]
    public void NegativeOrNonFiniteDampingIsRefused(double alpha)
    {
        var state = Macrospin(alpha);
        var e = Assert.Throws<ArgumentException>(() => new LLGSolver(state).Step(1e-12));
        Assert.AreEqual(alpha < 0 ? typeof(ArgumentOutOfRangeException) : typeof(ArgumentException), e.GetType());
        StringAssert.Contains(e.Message, "material.alpha");
        // As an explicit parameter value too.
        var ok = Macrospin();
        var llg = new LLGSolver(ok, parameters: new[] { "material.alpha" });
        var p = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => llg.Solve(1e-12, null, [ok.Scalar(-1.0)]));
        StringAssert.Contains(p.Message, "must be >= 0");
    }

    [TestMethod]
    public void WrongParameterCountShapeOrDtypeOfM0IsRefused()
    {
        var state = Macrospin();
        var llg = new LLGSolver(state, parameters: new[] { "material.alpha" });
        var e = Assert.ThrowsExactly<ArgumentException>(() => llg.Solve(1e-12, null, [state.Scalar(0.1), state.Scalar(0.2)]));
        StringAssert.Contains(e.Message, "2 parameter values for the 1 parameters [material__alpha]");
        var shape = Assert.ThrowsExactly<ArgumentException>(() => llg.Solve(1e-12, state.Zeros(new[] { 2, 2, 3 })));
        StringAssert.Contains(shape.Message, "m0 has shape (2, 2, 3)");
        var f32 = Assert.ThrowsExactly<ArgumentException>(() => llg.Solve(1e-12, state.M.Tensor.Cast(DType.Float32)));
        StringAssert.Contains(f32.Message, "float32");
        Assert.ThrowsExactly<ArgumentException>(() => new LLGSolver(state, parameters: new[] { "material.alpha", "material__alpha" }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LLGSolver(state, scaleT: double.NaN));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LLGSolver(state, rtol: 0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LLGSolver(state, maxSteps: 0));
    }

    [TestMethod]
    public void AStiffRunStopsEarlyWithAMessageInsteadOfTakingAMillionSteps()
    {
        // Exchange on 0.1 nm cells: the explicit step is ~1e-18 s, so 1 ns would need ~1e9 steps. The projection
        // after 200 accepted steps stops it, naming the cause and the knobs.
        var state = new State(new Mesh(new[] { 3, 2, 1 }, new[] { 1e-10, 1e-10, 1e-10 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["alpha"] = 0.1;
        var m = new double[4 * 3 * 2 * 3];
        for (int i = 0; i < m.Length / 3; i++) { m[3 * i] = Math.Cos(i); m[3 * i + 1] = Math.Sin(i); }
        state["m"] = new VectorFunction(state, state.Tensor(m, new[] { 4, 3, 2, 3 }));
        new ExchangeField().Register(state, "exchange");
        new TotalField("exchange").Register(state);
        var llg = new LLGSolver(state);
        var sw = Stopwatch.StartNew();
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => llg.Step(1e-9));
        StringAssert.Contains(e.Message, "beyond the limit of 1000000 steps");
        StringAssert.Contains(e.Message, "stiff");
        Assert.IsTrue(llg.Evaluations < 10_000, $"stopped after {llg.Evaluations} evaluations ({sw.Elapsed.TotalSeconds:F1} s)");
        Assert.AreEqual(0.0, state.T, "a failed Step leaves the state alone");
        // The limit is the user's to set.
        var strict = new LLGSolver(Macrospin(), maxSteps: 5);
        var s = Assert.ThrowsExactly<InvalidOperationException>(() => strict.Step(1e-9));
        StringAssert.Contains(s.Message, "more than 5 steps");
    }

    [TestMethod]
    public void EnergyMinimizerRefusesBadSettings()
    {
        var state = Macrospin();
        Assert.AreEqual("tol", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new EnergyMinimizer(state, tol: double.NaN)).ParamName);
        Assert.AreEqual("maxIter", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new EnergyMinimizer(state, maxIter: -1)).ParamName);
        Assert.AreEqual("tauInit", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new EnergyMinimizer(state, tauInit: 0)).ParamName);
        Assert.AreEqual("tauMax", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new EnergyMinimizer(state, tauMin: 1e-10, tauMax: 1e-12)).ParamName);
        Assert.AreEqual("tol", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new EnergyMinimizer(state).Minimize(tol: -1)).ParamName);
    }
}
