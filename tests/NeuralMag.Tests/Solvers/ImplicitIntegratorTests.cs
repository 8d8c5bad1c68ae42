using NeuralMag.AD;

namespace NeuralMag.Tests.Solvers;

using State = NeuralMag.State;

/// <summary>
/// The implicit (Kvaerno3/5) and implicit–explicit (KenCarp3/5) integrators: their tableaux, a stiff scalar problem,
/// the LLG macrospin against its analytic solution, coarse standard problem 4 against tight Dormand–Prince, Newton
/// failures, and gradients through the implicit stages against finite differences.
/// </summary>
[TestClass]
public sealed class ImplicitIntegratorTests
{
    private static readonly ImplicitMethod[] All = { ImplicitMethod.Kvaerno3, ImplicitMethod.Kvaerno5, ImplicitMethod.KenCarp3, ImplicitMethod.KenCarp5 };

    [TestMethod]
    public void TableauxSatisfyTheirOrderConditions()
    {
        // Runge–Kutta order conditions (Hairer, Nørsett, Wanner I, II.2) of each part and, for the additive methods,
        // the coupling conditions up to order 3 (Kennedy & Carpenter 2003, Table 1): Σ b = 1, Σ b c = 1/2,
        // Σ b c² = 1/3, Σ b A c = 1/6 for either A, and the quadrature conditions Σ b c^(k−1) = 1/k up to the order;
        // the embedded weights to their (lower) order. Rows of each A (diagonal γ included) sum to c.
        foreach (var method in All)
        {
            var t = AdditiveTableau.For(method);
            int s = t.Stages;
            double[][] Full(double[][] lower, double diag) => Enumerable.Range(0, s).Select(i =>
                Enumerable.Range(0, s).Select(j => j < i ? lower[i][j] : (j == i && i > 0 ? diag : 0)).ToArray()).ToArray();
            var parts = new List<double[][]> { Full(t.ImplicitA, t.Gamma) };
            if (t.ExplicitA is { } ae) parts.Add(Full(ae, 0));
            foreach (var a in parts)
                for (int i = 0; i < s; i++)
                    Assert.AreEqual(t.C[i], a[i].Sum(), 1e-11, $"{method}: row {i} sums to c"); // the published 13-digit rationals: 2e-12 off in ARK5's explicit row 7
            foreach (var (b, p) in new[] { (t.B, t.Order), (t.BHat, t.EmbeddedOrder) })
            {
                for (int k = 1; k <= p; k++)
                    Assert.AreEqual(1.0 / k, Enumerable.Range(0, s).Sum(i => b[i] * Math.Pow(t.C[i], k - 1)), 1e-11, $"{method}: Σ b c^{k - 1} (order {p})");
                if (p >= 3)
                    foreach (var a in parts)
                        Assert.AreEqual(1.0 / 6, Enumerable.Range(0, s).Sum(i => b[i] * Enumerable.Range(0, s).Sum(j => a[i][j] * t.C[j])), 1e-11, $"{method}: Σ b A c");
            }
            // Stiffly accurate: the last row of the implicit A is b.
            var last = parts[0][s - 1];
            for (int j = 0; j < s; j++) Assert.AreEqual(t.B[j], last[j], 1e-15, $"{method}: stiffly accurate");
        }
    }

    [TestMethod]
    public void AStiffProtheroRobinsonProblemTakesFewSteps()
    {
        // y' = λ (y − sin t) + cos t, y(0) = 0, λ = −1e4: y = sin t (Prothero & Robinson, Math. Comp. 28 (1974) 145).
        // Dormand–Prince is held to |hλ| ≲ 3.3 (thousands of steps to t = 1); the L-stable implicit parts are not.
        const double lambda = -1e4;
        var dp = new DormandPrince((t, y) => (y - Math.Sin(t)) * lambda + Math.Cos(t), 1e-8, 1e-8);
        dp.Integrate(NTensor.FromArray(new[] { 0.0 }), 0, 1);
        foreach (var method in All)
        {
            bool imex = method is ImplicitMethod.KenCarp3 or ImplicitMethod.KenCarp5;
            ImplicitLinearization Stiff(double t, NTensor y) =>
                new((y - Math.Sin(t)) * lambda + (imex ? 0.0 : Math.Cos(t)), v => v * lambda);
            var rk = new ImplicitRungeKutta(method, imex ? (t, y) => NTensor.ZerosLike(y) + Math.Cos(t) : null, Stiff, rtol: 1e-8, atol: 1e-8);
            double y1 = rk.Integrate(NTensor.FromArray(new[] { 0.0 }), 0, 1).Item();
            Console.WriteLine($"{method}: error {Math.Abs(y1 - Math.Sin(1)):E2}, {rk.AcceptedSteps} accepted, {rk.RejectedSteps} rejected, {rk.NewtonIterations} Newton iterations, {rk.JacobianVectorProducts} J v; Dormand–Prince {dp.AcceptedSteps} steps");
            Assert.AreEqual(Math.Sin(1), y1, 1e-7, $"{method}");
            Assert.IsTrue(rk.AcceptedSteps * 5 < dp.AcceptedSteps, $"{method}: {rk.AcceptedSteps} steps vs Dormand–Prince {dp.AcceptedSteps}");
        }
    }

    /// <summary>A macrospin (one cell) in h = H z with alpha; KenCarp gets h_impl = h_expl = H/2 z, as upstream's solver test.</summary>
    private static State Macrospin(double alpha, double hz)
    {
        var state = new State(new Mesh(new[] { 1, 1, 1 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = 8e5;
        state.Material["alpha"] = alpha;
        double th = 1.2;
        state["m"] = new VectorFunction(state).Fill(new[] { Math.Sin(th), 0, Math.Cos(th) });
        new ExternalField(new[] { 0, 0, hz }).Register(state, "");
        new ExternalField(new[] { 0, 0, hz / 2 }).Register(state, "impl");
        new ExternalField(new[] { 0, 0, hz / 2 }).Register(state, "expl");
        return state;
    }

    [TestMethod]
    public void TheMacrospinFollowsTheAnalyticDampedPrecession()
    {
        // Damped precession in a constant field H z: φ(t) = γ' H t, tan(θ/2) = tan(θ0/2) exp(−α γ' H t),
        // γ' = γ/(1 + α²) (Mallinson, IEEE Trans. Magn. 23 (1987) 2003).
        const double alpha = 0.1, hz = 2e5, t1 = 1e-10, th0 = 1.2;
        double gp = Constants.Gamma / (1 + alpha * alpha);
        double th = 2 * Math.Atan(Math.Tan(th0 / 2) * Math.Exp(-alpha * gp * hz * t1)), ph = gp * hz * t1;
        var exact = new[] { Math.Sin(th) * Math.Cos(ph), Math.Sin(th) * Math.Sin(ph), Math.Cos(th) };
        foreach (var method in All)
        {
            var state = Macrospin(alpha, hz);
            var llg = new LLGSolver(state, rtol: 1e-9, atol: 1e-9, implicitMethod: method);
            llg.Step(t1);
            var m = state.M.Tensor[0, 0, 0].ToArray();
            double err = m.Zip(exact).Max(p => Math.Abs(p.First - p.Second));
            var rk = (ImplicitRungeKutta)llg.Integrator;
            Console.WriteLine($"{method}: max |m − m_exact| = {err:E2}, {rk.AcceptedSteps} steps, {rk.Evaluations} evaluations, {rk.JacobianVectorProducts} J v");
            // Measured: 1e-8 to 5e-8 (a global error of a few hundred local tolerances over ~4 periods).
            Assert.IsTrue(err < 2e-7, $"{method}: {err:E2}");
            Assert.AreEqual(t1, state.T);
        }
    }

    /// <summary>Coarse standard problem 4 (field 1) from a uniform start; KenCarp splits exchange (implicit) from demag + Zeeman (explicit).</summary>
    private static State CoarseStandardProblem4()
    {
        var state = StandardProblem4Setup.Coarse();
        new TotalField("exchange").Register(state, "impl");
        new TotalField("demag", "external").Register(state, "expl");
        return state;
    }

    [TestMethod]
    public void CoarseStandardProblem4MatchesTightDormandPrince()
    {
        const double t1 = 50e-12;
        var reference = new LLGSolver(CoarseStandardProblem4(), rtol: 1e-11, atol: 1e-11).Solve(t1).ToArray();
        foreach (var method in All)
        {
            var llg = new LLGSolver(CoarseStandardProblem4(), rtol: 1e-8, atol: 1e-8, implicitMethod: method);
            var m = llg.Solve(t1).ToArray();
            double err = m.Zip(reference).Max(p => Math.Abs(p.First - p.Second));
            var rk = (ImplicitRungeKutta)llg.Integrator;
            Console.WriteLine($"{method}: max |m − m_DP(1e-11)| = {err:E2}, {rk.AcceptedSteps} accepted, {rk.RejectedSteps} rejected, {rk.ExplicitEvaluations} f_E, {rk.ImplicitEvaluations} f_I, {rk.JacobianVectorProducts} J v");
            Assert.IsTrue(err < 1e-6, $"{method}: {err:E2}");
        }
    }

    [TestMethod]
    public void AFailingNewtonIterationRejectsAndShrinksTheStep()
    {
        // y' = λ y, λ = −1000, with a Jacobian of the wrong sign: the Newton error contracts by 2μ/(1 + μ), μ = hγλ,
        // so it diverges for |μ| > 1 and converges for |μ| < 1/3. Large trial steps are rejected and shrunk until the
        // iteration converges; the solution is still e^{λ t} to the tolerance.
        const double lambda = -1000;
        var rk = new ImplicitRungeKutta(ImplicitMethod.Kvaerno3, null, (t, y) => new ImplicitLinearization(y * lambda, v => v * -lambda), rtol: 1e-6, atol: 1e-6);
        double dt = 1e-3; // a first trial step with |μ| = 0.44: diverging after the growth of the step
        double y1 = rk.Integrate(NTensor.FromArray(new[] { 1.0 }), 0, 0.005, ref dt).Item();
        Console.WriteLine($"Newton failures {rk.NewtonFailures}, rejected {rk.RejectedSteps}, accepted {rk.AcceptedSteps}, y {y1:E6} vs {Math.Exp(-5):E6}");
        Assert.IsTrue(rk.NewtonFailures > 0, "steps rejected for Newton");
        Assert.IsTrue(rk.RejectedSteps >= rk.NewtonFailures);
        Assert.AreEqual(Math.Exp(lambda * 0.005), y1, 1e-5);
    }

    [TestMethod]
    public void BadSettingsAreRefusedWithTheirNames()
    {
        var state = new State(new Mesh(new[] { 1, 1, 1 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = 8e5;
        state.Material["alpha"] = 0.1;
        state["m"] = new VectorFunction(state).Fill(new[] { 1.0, 0, 0 });
        new ExternalField(new[] { 0, 0, 1e5 }).Register(state, "");
        var missing = Assert.ThrowsExactly<InvalidOperationException>(() => new LLGSolver(state, implicitMethod: ImplicitMethod.KenCarp3));
        StringAssert.Contains(missing.Message, "'h_impl' is missing");
        var both = Assert.ThrowsExactly<ArgumentException>(() => new LLGSolver(state, fixedStepMethod: FixedStepMethod.RK4, fixedStep: 1e-13, implicitMethod: ImplicitMethod.Kvaerno3));
        StringAssert.Contains(both.Message, "not both");
        var tol = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LLGSolver(state, implicitMethod: ImplicitMethod.Kvaerno5, implicitOptions: new ImplicitSolverOptions { KrylovTolerance = 2 }));
        Assert.AreEqual("KrylovTolerance", tol.ParamName);
        Assert.ThrowsExactly<ArgumentNullException>(() => new ImplicitRungeKutta(ImplicitMethod.KenCarp5, null, (t, y) => new ImplicitLinearization(y, v => v)));
        Assert.ThrowsExactly<ArgumentException>(() => new ImplicitRungeKutta(ImplicitMethod.Kvaerno3, (t, y) => y, (t, y) => new ImplicitLinearization(y, v => v)));
    }

    [TestMethod]
    [DataRow(ImplicitMethod.Kvaerno3)]
    [DataRow(ImplicitMethod.Kvaerno5)]
    [DataRow(ImplicitMethod.KenCarp3)]
    [DataRow(ImplicitMethod.KenCarp5)]
    public void GradientsThroughImplicitStagesAreTheDiscreteSolutionsDerivative(ImplicitMethod method)
    {
        // Two exchange-coupled 2 nm macrospin pairs with Zeeman (stiff exchange), L = w . m(t1); for KenCarp exchange
        // is implicit and Zeeman explicit. (1) Through LLGSolver: the checkpointed gradient equals direct backprop on
        // the same intervals, and SolveRevolve direct backprop over one interval. (2) The gradient (each stage's
        // implicit-function-theorem pullback) is the derivative of the discrete solution: central differences of a replay of the recorded steps by TakeStep (which repeats the
        // forward run bit for bit) agree with it. Differences of the adaptive solve itself would also carry the
        // dependence of the chosen step sizes on the parameters, O(tolerance).
        var (state, _, Grads, Loss) = CheckpointedGradientTests.CoupledMacrospins(2e-9, 1e-6);
        new TotalField("exchange").Register(state, "impl");
        new TotalField("external").Register(state, "expl");
        var options = new ImplicitSolverOptions { NewtonTolerance = 1e-6 };
        var llg = new LLGSolver(state, parameters: new[] { "material.alpha" }, rtol: 1e-5, atol: 1e-5, implicitMethod: method, implicitOptions: options);
        const double t1 = 3e-12;
        var ckpt = Grads((m, a) => llg.SolveCheckpointed(t1, m, [a], segments: 3));
        var direct = Grads((m, a) => llg.Solve([1e-12, 2e-12, t1], m, [a])[2]);
        Assert.AreEqual(direct[0].Item(), ckpt[0].Item(), 1e-12 * Math.Abs(direct[0].Item()), "same forward value");
        Assert.AreEqual(direct[2].Item(), ckpt[2].Item(), 1e-9 * Math.Abs(direct[2].Item()), "dL/dalpha: direct vs checkpointed");
        var d1 = direct[1].ToArray(); var c1 = ckpt[1].ToArray();
        for (int i = 0; i < d1.Length; i++) Assert.AreEqual(d1[i], c1[i], 1e-9 * (1 + Math.Abs(d1[i])), $"dL/dm0[{i}]");
        // Binomial checkpointing replays the recorded steps by TakeStep: the gradient of the one-interval solve.
        var whole = Grads((m, a) => llg.Solve(t1, m, [a]));
        var revolve = Grads((m, a) => llg.SolveRevolve(t1, m, [a], snapshots: 4));
        Assert.AreEqual(whole[0].Item(), revolve[0].Item(), "same forward value");
        Assert.AreEqual(whole[2].Item(), revolve[2].Item(), 1e-9 * Math.Abs(whole[2].Item()), "dL/dalpha: direct vs revolve");

        var pv = new NTensor[1];
        var rk = LLGTorqueSplit.Create(state, method, new[] { "t", "m", "material__alpha" }, () => pv, 1e-9, 1e-5, 1e-5, 100_000, options);
        var steps = new List<(double T, double H)>();
        rk.OnAcceptedStep = (t, h, _, _) => steps.Add((t, h));
        var m0 = state.M.Tensor;
        double tau1 = t1 / 1e-9, value;
        NTensor[] g;
        using (var tape = new Tape())
        {
            var mw = tape.Watch(m0); var aw = tape.Watch(state.Scalar(0.1));
            pv[0] = aw;
            var m1 = rk.Integrate(mw, 0, tau1);
            var loss = Tape.Record(state.Scalar(Loss(m1)), new[] { m1 }, _ => new NTensor?[] { CoupledWeights(m1) });
            value = loss.Item();
            g = tape.Gradient(loss, new[] { mw, aw });
        }
        rk.OnAcceptedStep = null;
        double Replay(NTensor start, double alpha) => Tape.NoGrad(() =>
        {
            pv[0] = state.Scalar(alpha);
            var y = start;
            var f = rk.Evaluate(0, y);
            foreach (var (t, h) in steps) (y, f) = rk.TakeStep(y, f, t, h);
            return Loss(y);
        });
        Assert.AreEqual(value, Replay(m0, 0.1), "TakeStep repeats the accepted steps bit for bit");
        const double d = 1e-5;
        double fdAlpha = (Replay(m0, 0.1 + d) - Replay(m0, 0.1 - d)) / (2 * d);
        var unit = new double[m0.Size]; unit[4] = 1; // m0_y of node 1
        var e = state.Tensor(unit, m0.Shape.ToArray());
        double fdM = (Replay(m0 + e * d, 0.1) - Replay(m0 - e * d, 0.1)) / (2 * d);
        double gAlpha = g[1].Item(), gM = g[0].ToArray()[4];
        Console.WriteLine($"{method}: {steps.Count} steps; dL/dalpha {gAlpha:E10} vs FD {fdAlpha:E10}; dL/dm0[4] {gM:E10} vs FD {fdM:E10}; adjoint products {rk.AdjointProducts}");
        Assert.AreNotEqual(0.0, gAlpha);
        Assert.AreEqual(fdAlpha, gAlpha, 1e-7 * Math.Abs(fdAlpha), $"{method}: dL/dalpha");
        Assert.AreEqual(fdM, gM, 1e-7 * Math.Abs(fdM), $"{method}: dL/dm0");
    }

    /// <summary>The weights w of <see cref="CheckpointedGradientTests.CoupledMacrospins"/>'s loss w . m, shaped like m.</summary>
    private static NTensor CoupledWeights(NTensor m) =>
        NTensor.FromArray(Enumerable.Range(0, m.Size).Select(i => Math.Cos(0.9 * i)).ToArray(), m.Shape.ToArray());
}
