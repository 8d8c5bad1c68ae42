using NeuralMag.AD;

namespace NeuralMag.Tests.Solvers;

[TestClass]
public sealed class IntegratorGradientTests
{
    // Damped rotation y' = A(k) y with A = [[-k, w], [-w, -k]]: gradients of a loss of y(T) w.r.t. y0 and k by
    // backpropagating through the accepted Dormand–Prince steps, compared with central finite differences.
    private static NTensor Solve(NTensor y0, NTensor k, double rtol)
    {
        var dp = new DormandPrince((t, y) =>
        {
            var y0c = y[0..1]; var y1c = y[1..2];
            var dy0 = -k * y0c + y1c * 3.0;
            var dy1 = -k * y1c - y0c * 3.0;
            return NTensor.Concat(0, dy0, dy1);
        }, rtol, rtol);
        return dp.Integrate(y0, 0, 2);
    }

    private static NTensor Loss(NTensor y) => (y * NTensor.FromArray(new[] { 1.0, -2.0 })).Sum();

    [TestMethod]
    public void BackpropThroughStepsMatchesFiniteDifferences()
    {
        var y0 = NTensor.FromArray(new[] { 1.0, 0.5 });
        var k = NTensor.FromArray(new[] { 0.3 });
        NTensor[] g;
        using (var tape = new Tape())
        {
            var y0w = tape.Watch(y0); var kw = tape.Watch(k);
            g = tape.Gradient(Loss(Solve(y0w, kw, 1e-10)), new[] { y0w, kw });
        }
        double Fd(Func<double, double> f, double x, double h) => (f(x + h) - f(x - h)) / (2 * h);
        double dk = Fd(kk => Loss(Solve(y0, NTensor.FromArray(new[] { kk }), 1e-10)).Item(), 0.3, 1e-5);
        double dy00 = Fd(a => Loss(Solve(NTensor.FromArray(new[] { a, 0.5 }), k, 1e-10)).Item(), 1.0, 1e-5);
        // Exact: dL/dk = -T L(y(T)) for this A (k only scales the decay).
        double exact = -2 * Loss(Solve(y0, k, 1e-12)).Item();
        Assert.AreEqual(exact, g[1].Item(), 1e-7);
        Assert.AreEqual(dk, g[1].Item(), 1e-6);
        Assert.AreEqual(dy00, g[0].ToArray()[0], 1e-6);
    }
}

[TestClass]
public sealed class LlgGradientTests
{
    [TestMethod]
    public void SolveIsDifferentiableInM0AndNamedParameters()
    {
        // Two cells with exchange and a tilted field; loss = w · m(t1) + w · m(t2). Gradients w.r.t. alpha and m0
        // (through the tape over the accepted steps) against central differences of the same solver.
        var state = new NeuralMag.State(new Mesh(new[] { 2, 1, 1 }, new[] { 5e-9, 5e-9, 5e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["alpha"] = 0.1;
        var m0v = new double[3 * 2 * 2 * 3];
        for (int i = 0; i < m0v.Length / 3; i++) { double a = 0.3 * i; m0v[3 * i] = Math.Cos(a); m0v[3 * i + 1] = Math.Sin(a); }
        state["m"] = new VectorFunction(state, state.Tensor(m0v, new[] { 3, 2, 2, 3 }));
        new ExchangeField().Register(state, "exchange");
        new ExternalField(new[] { 1e5, 0, 3e5 }).Register(state, "external");
        new TotalField("exchange", "external").Register(state);
        var llg = new LLGSolver(state, parameters: new[] { "material.alpha" }, rtol: 1e-9, atol: 1e-9);
        var times = new[] { 2e-12, 4e-12 };
        var w = NTensor.FromArray(Enumerable.Range(0, m0v.Length).Select(i => Math.Sin(1.7 * i)).ToArray(), new[] { 3, 2, 2, 3 });
        double Loss(NTensor m0, double alpha) => llg.Solve(times, m0, [state.Scalar(alpha)]).Select(m => (m * w).Sum().Item()).Sum();
        NTensor[] g;
        var m0 = state.M.Tensor;
        using (var tape = new Tape())
        {
            var mw = tape.Watch(m0); var aw = tape.Watch(state.Scalar(0.1));
            var ms = llg.Solve(times, mw, [aw]);
            var loss = (ms[0] * w).Sum() + (ms[1] * w).Sum();
            g = tape.Gradient(loss, new[] { mw, aw });
        }
        const double h = 1e-6;
        double dAlpha = (Loss(m0, 0.1 + h) - Loss(m0, 0.1 - h)) / (2 * h);
        Assert.AreEqual(dAlpha, g[1].Item(), Math.Abs(dAlpha) * 1e-5 + 1e-9, "dL/dalpha");
        var gm = g[0].ToArray();
        foreach (int idx in new[] { 0, 7, 20, 35 })
        {
            NTensor Shift(double d) { var v = (double[])m0v.Clone(); v[idx] += d; return state.Tensor(v, new[] { 3, 2, 2, 3 }); }
            double fd = (Loss(Shift(h), 0.1) - Loss(Shift(-h), 0.1)) / (2 * h);
            Assert.AreEqual(fd, gm[idx], Math.Abs(fd) * 1e-5 + 1e-8, $"dL/dm0[{idx}]");
        }
        Console.WriteLine($"RHS evaluations: {llg.Evaluations}");
        Assert.AreEqual(0.1, state.Material.Tensor("alpha").Item(), "Solve leaves the state alone");
    }
}

[TestClass]
public sealed class CheckpointedGradientTests
{
    /// <summary>
    /// Two nodes x 2 x 2 of exchange + Zeeman with alpha as a solver parameter, and L(m0, alpha) = w . m(t1) through a
    /// given solve, with its value and gradients (dL/dm0, dL/dalpha).
    /// </summary>
    internal static (NeuralMag.State State, LLGSolver Llg, Func<Func<NTensor, NTensor, NTensor>, NTensor[]> Grads, Func<NTensor, double> Loss) CoupledMacrospins(double cell, double tol)
    {
        var state = new NeuralMag.State(new Mesh(new[] { 2, 1, 1 }, new[] { cell, cell, cell }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["alpha"] = 0.1;
        var m0v = new double[3 * 2 * 2 * 3];
        for (int i = 0; i < m0v.Length / 3; i++) { double a = 0.3 * i; m0v[3 * i] = Math.Cos(a); m0v[3 * i + 2] = Math.Sin(a); }
        state["m"] = new VectorFunction(state, state.Tensor(m0v, new[] { 3, 2, 2, 3 }));
        new ExchangeField().Register(state, "exchange");
        new ExternalField(new[] { 1e5, 0, 3e5 }).Register(state, "external");
        new TotalField("exchange", "external").Register(state);
        var llg = new LLGSolver(state, parameters: new[] { "material.alpha" }, rtol: tol, atol: tol);
        var w = NTensor.FromArray(Enumerable.Range(0, m0v.Length).Select(i => Math.Cos(0.9 * i)).ToArray(), new[] { 3, 2, 2, 3 });
        NTensor[] Grads(Func<NTensor, NTensor, NTensor> solve)
        {
            using var tape = new Tape();
            var mw = tape.Watch(state.M.Tensor); var aw = tape.Watch(state.Scalar(0.1));
            var loss = (solve(mw, aw) * w).Sum();
            return new[] { loss.Detach() }.Concat(tape.Gradient(loss, new[] { mw, aw })).ToArray();
        }
        return (state, llg, Grads, m => (m * w).Sum().Item());
    }

    [TestMethod]
    public void CheckpointedGradientsEqualDirectBackprop()
    {
        // Same values and gradients as backprop through all steps when Solve runs on the same intervals.
        var (_, llg, Grads, _) = CoupledMacrospins(5e-9, 1e-7);
        var direct = Grads((m, a) => llg.Solve([2e-12, 4e-12, 6e-12], m, [a])[2]);
        var ckpt = Grads((m, a) => llg.SolveCheckpointed(6e-12, m, [a], segments: 3));
        Assert.AreEqual(direct[0].Item(), ckpt[0].Item(), "same forward value");
        Assert.AreEqual(direct[2].Item(), ckpt[2].Item(), Math.Abs(direct[2].Item()) * 1e-12, "dL/dalpha");
        var a1 = direct[1].ToArray(); var b1 = ckpt[1].ToArray();
        for (int i = 0; i < a1.Length; i++) Assert.AreEqual(a1[i], b1[i], 1e-12 * (1 + Math.Abs(a1[i])), $"dL/dm0[{i}]");
        Assert.AreNotEqual(0.0, direct[2].Item());
    }

    [TestMethod]
    public void AdjointGradientsAgreeWithTheExactDiscreteGradient()
    {
        // The continuous adjoint approximates the derivative of the exact flow; the checkpointed gradient is the exact
        // derivative of the discrete solution (equal to finite differences to ~1e-9 here). With tight tolerances both
        // approach the same numbers.
        var (_, llg, Grads, _) = CoupledMacrospins(2e-9, 1e-10);
        var exact = Grads((m, a) => llg.SolveCheckpointed(20e-12, m, [a], segments: 20));
        foreach (var (checkpoints, tol) in new[] { (0, 1e-7), (1, 1e-5), (20, 1e-7) })
        {
            var adjoint = Grads((m, a) => llg.SolveAdjoint(20e-12, m, [a], checkpoints));
            Assert.AreEqual(exact[0].Item(), adjoint[0].Item(), 1e-9 * Math.Abs(exact[0].Item()), "the same forward solve to the tolerance");
            Assert.AreNotEqual(0.0, exact[2].Item());
            double ea = Math.Abs(exact[2].Item() - adjoint[2].Item()) / Math.Abs(exact[2].Item());
            var a1 = exact[1].ToArray(); var b1 = adjoint[1].ToArray();
            double scale = a1.Max(Math.Abs), em = 0;
            for (int i = 0; i < a1.Length; i++) em = Math.Max(em, Math.Abs(a1[i] - b1[i]) / scale);
            // Measured: 1.6e-7 / 2.9e-6 with one interval (the backward m drifts: the Gilbert term anti-damps it on
            // these stiff 2 nm cells), 6e-8 / 2e-8 when m restarts from 20 stored checkpoints or, by default, every
            // 10 accepted steps.
            Console.WriteLine($"checkpoints {checkpoints}: dL/dalpha {ea:E2}, dL/dm0 {em:E2}");
            Assert.IsTrue(ea < tol && em < tol, $"{checkpoints} checkpoint(s): relative errors dL/dalpha {ea:E2}, dL/dm0 {em:E2} (tolerance {tol:E0})");
        }
    }

    [TestMethod]
    public void AdjointWithItsDefaultsMatchesTheExactGradientOnACoarseStandardProblem4()
    {
        // d<m_y>(100 ps)/d(alpha) of standard problem 4 (field 1) on 25 x 6 x 1 cells of 20 x 20.83 x 3 nm from a
        // uniform start, by the continuous adjoint with its defaults (rtol = atol = 1e-5, m stored every 10 steps)
        // against the exact discrete gradient of the checkpointed solve.
        var state = StandardProblem4Setup.Coarse();
        var llg = new LLGSolver(state, parameters: new[] { "material.alpha" });
        double Grad(Func<NTensor, NTensor> solve)
        {
            using var tape = new Tape();
            var a = tape.Watch(state.Scalar(0.02));
            var my = solve(a)[.., .., .., 1].Mean();
            return tape.Gradient(my, new[] { a })[0].Item();
        }
        double exact = Grad(a => llg.SolveCheckpointed(1e-10, null, [a], 10));
        double adjoint = Grad(a => llg.SolveAdjoint(1e-10, null, [a]));
        double err = Math.Abs(adjoint - exact) / Math.Abs(exact);
        Console.WriteLine($"d<m_y>/dalpha: exact {exact:E6}, adjoint (defaults) {adjoint:E6}, relative error {err:E2}");
        Assert.IsTrue(Math.Abs(exact) > 1e-3, "a gradient worth comparing");
        // Measured 3.5e-6 (the error control of the backward pass scales the adjoint's tolerance by |a(t1)| and
        // leaves the parameter integral out; with an unscaled absolute tolerance it was 38 % off).
        Assert.IsTrue(err < 1e-4, $"relative error {err:E2}");
    }
}
