using NeuralMag.AD;

namespace NeuralMag.Tests.Solvers;

using State = NeuralMag.State;

/// <summary>
/// The fixed-step explicit methods (Euler, midpoint, Heun, RK4): their order of convergence, the LLG through them
/// against the analytic macrospin and against tight Dormand–Prince, and exact gradients through them.
/// </summary>
[TestClass]
public sealed class FixedStepIntegratorTests
{
    [TestMethod]
    [DataRow(FixedStepMethod.Euler, 1)]
    [DataRow(FixedStepMethod.Midpoint, 2)]
    [DataRow(FixedStepMethod.Heun, 2)]
    [DataRow(FixedStepMethod.RK4, 4)]
    public void GlobalErrorFallsWithTheMethodsOrder(FixedStepMethod method, int order)
    {
        // y' = -2 y + sin t, y(0) = 1 on [0, 1]: y(t) = (1 + 1/5) e^{-2t} + (2 sin t - cos t)/5. Halving h divides the
        // error at t = 1 by about 2^p (Hairer, Nørsett, Wanner I, II.3).
        static double Exact(double t) => 1.2 * Math.Exp(-2 * t) + (2 * Math.Sin(t) - Math.Cos(t)) / 5;
        double Error(double h)
        {
            var rk = new FixedStepRungeKutta((t, y) => y * -2.0 + Math.Sin(t), method, h);
            var y = rk.Integrate(NTensor.FromArray(new[] { 1.0 }), 0, 1).Item();
            Assert.AreEqual((long)Math.Round(1 / h), rk.AcceptedSteps, "steps of h, the last landing on t = 1");
            return Math.Abs(y - Exact(1));
        }
        double e1 = Error(1.0 / 40), e2 = Error(1.0 / 80);
        double observed = Math.Log2(e1 / e2);
        Console.WriteLine($"{method}: errors {e1:E3}, {e2:E3}, observed order {observed:F3}");
        Assert.AreEqual(order, observed, 0.15, $"{method}");
    }

    [TestMethod]
    public void Rk4LlgPrecessesAtTheLarmorFrequency()
    {
        // A macrospin in h along z precesses at omega = gamma h (alpha = 0); RK4 with 200 steps per period.
        var state = new State(new Mesh(new[] { 1, 1, 1 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = 8e5;
        state.Material["alpha"] = 0.0;
        state["m"] = new VectorFunction(state).Fill(new[] { 1.0, 0, 0 });
        const double h = 1e5;
        new ExternalField(new[] { 0, 0, h }).Register(state, "");
        double period = 2 * Math.PI / (Constants.Gamma * h);
        var llg = new LLGSolver(state, fixedStepMethod: FixedStepMethod.RK4, fixedStep: period / 200);
        llg.Step(period / 4);
        var m = state.M.Tensor[0, 0, 0].ToArray();
        Assert.AreEqual(0.0, m[0], 1e-6);
        Assert.AreEqual(1.0, m[1], 1e-6);
        Assert.AreEqual(50 * 4 + 1, llg.Evaluations, "50 steps of 4 stages and the first stage f(t0, m0)");
        Assert.AreEqual(FixedStepMethod.RK4, llg.Method);
    }

    private static State ExchangeBlock() => SolverControlTests.ExchangeBlock();

    [TestMethod]
    public void FixedStepLlgConvergesToTightDormandPrinceAtTheMethodsOrder()
    {
        // 10 ps of exchange + Zeeman: the difference to Dormand–Prince at rtol = atol = 1e-12 falls by 2^p when h halves.
        var reference = new LLGSolver(ExchangeBlock(), rtol: 1e-12, atol: 1e-12).Solve(10e-12).ToArray();
        foreach (var (method, step, order) in new[] { (FixedStepMethod.RK4, 0.04e-12, 4), (FixedStepMethod.Heun, 0.01e-12, 2) })
        {
            double Diff(double h) => new LLGSolver(ExchangeBlock(), fixedStepMethod: method, fixedStep: h).Solve(10e-12).ToArray()
                .Zip(reference).Max(p => Math.Abs(p.First - p.Second));
            double d1 = Diff(step), d2 = Diff(step / 2);
            Console.WriteLine($"{method}: max |m - m(Dormand-Prince, rtol 1e-12)| = {d1:E2} (h = {step:g} s), {d2:E2} (h/2): order {Math.Log2(d1 / d2):F2}");
            Assert.AreEqual(order, Math.Log2(d1 / d2), 0.3, $"{method}");
            Assert.IsTrue(d2 < (order == 4 ? 2e-8 : 5e-5), $"{method}: {d2:E2}"); // measured 1.0e-8 (RK4), 3.1e-5 (Heun)
        }
    }

    [TestMethod]
    public void GradientsThroughRk4AreExactForEveryGradientMethod()
    {
        // Backprop through all steps, checkpointed segments and the binomial schedule take the same RK4 steps, so
        // their gradients agree to round-off; central differences confirm them.
        var state = ExchangeBlock();
        var llg = new LLGSolver(state, parameters: new[] { "material.alpha" }, fixedStepMethod: FixedStepMethod.RK4, fixedStep: 0.05e-12);
        var w = NTensor.FromArray(Enumerable.Range(0, 4 * 3 * 3 * 3).Select(i => Math.Cos(0.9 * i)).ToArray(), new[] { 4, 3, 3, 3 });
        (double Value, double DAlpha) Grad(Func<NTensor, NTensor> solve)
        {
            using var tape = new Tape();
            var a = tape.Watch(state.Scalar(0.05));
            var loss = (solve(a) * w).Sum();
            return (loss.Item(), tape.Gradient(loss, new[] { a })[0].Item());
        }
        const double t1 = 2e-12;
        var direct = Grad(a => llg.Solve(t1, null, [a]));
        var ckpt = Grad(a => llg.SolveCheckpointed(t1, null, [a], segments: 4));
        var revolve = Grad(a => llg.SolveRevolve(t1, null, [a], snapshots: 4));
        Assert.AreEqual(direct.DAlpha, ckpt.DAlpha, Math.Abs(direct.DAlpha) * 1e-12);
        Assert.AreEqual(direct.DAlpha, revolve.DAlpha, Math.Abs(direct.DAlpha) * 1e-12);
        double Loss(double alpha) => Tape.NoGrad(() => (llg.Solve(t1, null, [state.Scalar(alpha)]) * w).Sum()).Item();
        const double d = 1e-6;
        double fd = (Loss(0.05 + d) - Loss(0.05 - d)) / (2 * d);
        Assert.AreEqual(fd, direct.DAlpha, Math.Abs(fd) * 1e-6);
        Assert.AreNotEqual(0.0, fd);
    }

    [TestMethod]
    public void BadFixedStepSettingsAreRefused()
    {
        var state = ExchangeBlock();
        var noStep = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LLGSolver(state, fixedStepMethod: FixedStepMethod.Euler));
        StringAssert.Contains(noStep.Message, "Euler method needs a positive, finite fixedStep");
        var stray = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LLGSolver(state, fixedStep: 1e-13));
        StringAssert.Contains(stray.Message, "give fixedStepMethod too");
        var tooMany = new LLGSolver(state, maxSteps: 100, fixedStepMethod: FixedStepMethod.RK4, fixedStep: 1e-15);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => tooMany.Step(1e-12));
        StringAssert.Contains(e.Message, "beyond the limit of 100");
        Assert.AreEqual(0.0, state.T);
    }
}
