using System.Diagnostics;
using NeuralMag.AD;

namespace NeuralMag.Tests.Solvers;

using State = NeuralMag.State;

[TestClass]
public sealed class ImplicitGradientTests
{
    private const double Mu0 = 4e-7 * Math.PI;
    private const double Ms = 8e5, Ku = 2e5, Psi = Math.PI / 6;

    // ---------------------------------------------------------------- macrospin (Stoner–Wohlfarth)

    private static State Macrospin(double ku, double h, double psi = Psi, double[]? m0 = null)
    {
        var state = new State(new Mesh(new[] { 1, 1, 1 }, new[] { 2e-9, 2e-9, 2e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = Ms;
        state.Material["Ku"] = ku;
        state.Material["Ku_axis"] = new[] { 0.0, 0, 1 };
        state["m"] = new VectorFunction(state).Fill(m0 ?? new[] { 0.0, 0, 1 });
        new UniaxialAnisotropyField().Register(state);
        new ExternalField(new[] { h * Math.Sin(psi), 0, h * Math.Cos(psi) }).Register(state);
        new TotalField("uaniso", "external").Register(state);
        return state;
    }

    private static void Relax(State state, double tol = 1e-7)
    {
        var info = new EnergyMinimizer(state, tol: tol, maxIter: 100_000).MinimizeWithInfo();
        Assert.IsTrue(info.Converged, $"relaxation did not converge: {info}");
    }

    /// <summary>L(m) = Σ w·m as a tape-friendly NTensor expression.</summary>
    private static Func<NTensor, NTensor> Weighted(State state, double[] weights)
    {
        var w = state.Tensor(weights, state.M.Tensor.GetShape());
        return m => (m * w).Sum();
    }

    private static double[] AverageComponent(State state, int component)
    {
        var shape = state.M.Tensor.GetShape();
        int n = shape.Aggregate(1, (a, b) => a * b);
        var w = new double[n];
        for (int k = component; k < n; k += 3) w[k] = 3.0 / n;
        return w;
    }

    /// <summary>The Stoner–Wohlfarth angle θ of m from the easy axis z with the field H at ψ: Ku sin 2θ + μ0 Ms H sin(θ − ψ) = 0.</summary>
    private static double StonerWohlfarthAngle(double ku, double h)
    {
        double theta = Psi / 2;
        for (int it = 0; it < 100; it++)
        {
            double f = ku * Math.Sin(2 * theta) + Mu0 * Ms * h * Math.Sin(theta - Psi);
            double df = 2 * ku * Math.Cos(2 * theta) + Mu0 * Ms * h * Math.Cos(theta - Psi);
            theta -= f / df;
        }
        return theta;
    }

    [TestMethod]
    public void MacrospinMatchesStonerWohlfarthAndFiniteDifferences()
    {
        double h = 1e5;
        var state = Macrospin(Ku, h);
        Relax(state, 1e-8);
        double theta = StonerWohlfarthAngle(Ku, h);
        Assert.AreEqual(Math.Sin(theta), state.M.Avg().ToArray()[0], 1e-10, "relaxed m_x is the Stoner–Wohlfarth one");

        var objective = Weighted(state, AverageComponent(state, 0)); // mean m_x
        var result = ImplicitGradient.Compute(state, objective, new[] { "h_external", "material.Ku" });
        Console.WriteLine($"macrospin: {result.Report}");
        Assert.IsTrue(result.Report.Converged);
        Assert.IsTrue(result.Report.Stationarity < 1e-12, $"stationarity {result.Report.Stationarity}");

        // d m_x / dH along the field direction: the nodal field gradient summed over nodes, dotted with (sin ψ, 0, cos ψ).
        var gh = result["h_external"].ToArray();
        double dH = 0;
        for (int k = 0; k < gh.Length; k += 3) dH += gh[k] * Math.Sin(Psi) + gh[k + 2] * Math.Cos(Psi);
        double dKu = result["material__Ku"].Sum().Item();

        // Implicit function theorem on E(θ)/V = −Ku cos²θ − μ0 Ms H cos(θ − ψ).
        double e2 = 2 * Ku * Math.Cos(2 * theta) + Mu0 * Ms * h * Math.Cos(theta - Psi);
        double analyticH = -Math.Cos(theta) * Mu0 * Ms * Math.Sin(theta - Psi) / e2;
        double analyticKu = -Math.Cos(theta) * Math.Sin(2 * theta) / e2;
        Assert.AreEqual(analyticH, dH, Math.Abs(analyticH) * 1e-8, "d m_x/dH vs Stoner–Wohlfarth");
        Assert.AreEqual(analyticKu, dKu, Math.Abs(analyticKu) * 1e-8, "d m_x/dKu vs Stoner–Wohlfarth");

        // Central differences of relaxed states.
        double MxAt(double ku, double hh)
        {
            var s = Macrospin(ku, hh);
            Relax(s, 1e-8);
            return s.M.Avg().ToArray()[0];
        }
        double stepH = h * 1e-4, stepKu = Ku * 1e-4;
        double fdH = (MxAt(Ku, h + stepH) - MxAt(Ku, h - stepH)) / (2 * stepH);
        double fdKu = (MxAt(Ku + stepKu, h) - MxAt(Ku - stepKu, h)) / (2 * stepKu);
        Assert.AreEqual(fdH, dH, Math.Abs(fdH) * 1e-5, "d m_x/dH vs finite differences of relaxed states");
        Assert.AreEqual(fdKu, dKu, Math.Abs(fdKu) * 1e-5, "d m_x/dKu vs finite differences of relaxed states");
    }

    [TestMethod]
    public void MinresHandlesTheUnstableAntiparallelState()
    {
        // Zeeman only, m = −z against h = (0, 0, H): a stationary maximum, Hess = −(m·g) I = −μ0 Ms H V I on the
        // tangent plane (negative definite). The stationary point follows m = −h/|h|, so d m_x/dh_x = −1/H.
        double h = 1e5;
        var state = new State(new Mesh(new[] { 1, 1, 1 }, new[] { 2e-9, 2e-9, 2e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = Ms;
        state["m"] = new VectorFunction(state).Fill(new[] { 0.0, 0, -1 });
        new ExternalField(new[] { 0.0, 0, h }).Register(state);
        new TotalField("external").Register(state);
        var objective = Weighted(state, AverageComponent(state, 0));

        var cg = Assert.ThrowsExactly<InvalidOperationException>(() => ImplicitGradient.Compute(state, objective, new[] { "h_external" }));
        StringAssert.Contains(cg.Message, "non-positive curvature");

        var result = ImplicitGradient.Compute(state, objective, new[] { "h_external" }, KrylovMethod.Minres);
        Assert.IsTrue(result.Report.Converged && result.Report.Method == KrylovMethod.Minres, $"{result.Report}");
        var g = result["h_external"].ToArray();
        double dHx = 0;
        for (int k = 0; k < g.Length; k += 3) dHx += g[k];
        Assert.AreEqual(-1 / h, dHx, 1e-10 / h);

        // The stable parallel state gives +1/H, by CG and by MINRES alike.
        state["m"] = new VectorFunction(state).Fill(new[] { 0.0, 0, 1 });
        foreach (var method in new[] { KrylovMethod.ConjugateGradient, KrylovMethod.Minres })
        {
            var r = ImplicitGradient.Compute(state, objective, new[] { "h_external" }, method);
            var gs = r["h_external"].ToArray();
            double s = 0;
            for (int k = 0; k < gs.Length; k += 3) s += gs[k];
            Assert.AreEqual(1 / h, s, 1e-10 / h, method.ToString());
        }
    }

    // ---------------------------------------------------------------- 1D chain

    private const int Cells = 20;

    private static double[] KuStep() => Enumerable.Range(0, Cells).Select(c => c < Cells / 2 ? 1e5 : 3e5).ToArray();

    private static State Chain(double[] ku, double hx, bool dmi = false, bool demag = false)
    {
        var state = new State(new Mesh(new[] { Cells, 1, 1 }, new[] { 5e-9, 5e-9, 5e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = Ms;
        state.Material["A"] = 1e-11;
        state.Material["Ku"] = new CellFunction(state, tensor: NTensor.FromArray(ku, new[] { Cells, 1, 1 }));
        state.Material["Ku_axis"] = new[] { 0.0, 0, 1 };
        state.Material["alpha"] = 1.0;
        double n = Math.Sqrt(1 + 0.09);
        state["m"] = new VectorFunction(state).Fill(new[] { 0.3 / n, 0, 1 / n });
        new ExchangeField().Register(state);
        new UniaxialAnisotropyField().Register(state);
        new ExternalField(new[] { hx, 0, 2e4 }).Register(state);
        if (demag)
        {
            new DemagField().Register(state);
            new TotalField("exchange", "uaniso", "external", "demag").Register(state);
            return state;
        }
        if (!dmi)
        {
            new TotalField("exchange", "uaniso", "external").Register(state);
            return state;
        }
        state.Material["Db"] = 1e-3;
        new BulkDMIField().Register(state);
        new TotalField("exchange", "uaniso", "external", "bdmi").Register(state);
        return state;
    }

    private const double ChainHx = 1.5e5;

    private static double[] ChainWeights(State state)
    {
        var rng = new Random(20);
        int n = state.M.Tensor.Size;
        return Enumerable.Range(0, n).Select(_ => rng.NextDouble() - 0.5).ToArray();
    }

    [TestMethod]
    public void ChainWithAnisotropyStepMatchesFiniteDifferencesOfRelaxedStates()
    {
        var ku = KuStep();
        var state = Chain(ku, ChainHx);
        Relax(state, 1e-7);
        var weights = ChainWeights(state);
        var objective = Weighted(state, weights);
        var result = ImplicitGradient.Compute(state, objective, new[] { "material__Ku", "h_external" });
        Console.WriteLine($"chain: {result.Report}");
        Assert.IsTrue(result.Report.Converged && result.Report.RelativeResidual <= 1e-9, $"{result.Report}");
        var gKu = result["material__Ku"].ToArray();
        Assert.AreEqual(Cells, gKu.Length);
        var gh = result["h_external"].ToArray();
        double dHx = 0;
        for (int k = 0; k < gh.Length; k += 3) dHx += gh[k];

        double LAt(double[] kuValues, double hx)
        {
            var s = Chain(kuValues, hx);
            Relax(s, 1e-7);
            return objective(s.M.Tensor).Item();
        }
        double scale = gKu.Max(Math.Abs);
        foreach (int c in new[] { 0, 9, 10, 19 })
        {
            double step = ku[c] * 1e-4;
            var plus = (double[])ku.Clone(); plus[c] += step;
            var minus = (double[])ku.Clone(); minus[c] -= step;
            double fd = (LAt(plus, ChainHx) - LAt(minus, ChainHx)) / (2 * step);
            Console.WriteLine($"dL/dKu[{c}]: implicit {gKu[c]:e10}, finite differences {fd:e10}");
            Assert.AreEqual(fd, gKu[c], 1e-4 * scale, $"dL/dKu[{c}]");
        }
        double hStep = ChainHx * 1e-4;
        double fdH = (LAt(ku, ChainHx + hStep) - LAt(ku, ChainHx - hStep)) / (2 * hStep);
        Console.WriteLine($"dL/dHx: implicit {dHx:e10}, finite differences {fdH:e10}");
        Assert.AreEqual(fdH, dHx, 1e-4 * Math.Abs(fdH), "dL/dHx (uniform field)");
    }

    [TestMethod]
    public void ChainWithDmiMatchesFiniteDifferences()
    {
        // Bulk DMI is quadratic in m too, so the directional differences stay exact; it twists m out of the x–z
        // plane. Checked for one Ku cell at the step and for the DMI constant.
        var ku = KuStep();
        var state = Chain(ku, ChainHx, dmi: true);
        Relax(state, 1e-7);
        var objective = Weighted(state, ChainWeights(state));
        var result = ImplicitGradient.Compute(state, objective, new[] { "material__Ku", "material__Db" });
        Console.WriteLine($"chain with DMI: {result.Report}");
        double LAt(double[] kuValues, double db)
        {
            var s = Chain(kuValues, ChainHx, dmi: true);
            s.Material["Db"] = db;
            Relax(s, 1e-7);
            return objective(s.M.Tensor).Item();
        }
        var gKu = result["material__Ku"].ToArray();
        double step = ku[10] * 1e-4;
        var plus = (double[])ku.Clone(); plus[10] += step;
        var minus = (double[])ku.Clone(); minus[10] -= step;
        double fd = (LAt(plus, 1e-3) - LAt(minus, 1e-3)) / (2 * step);
        Console.WriteLine($"dL/dKu[10]: implicit {gKu[10]:e10}, finite differences {fd:e10}");
        Assert.AreEqual(fd, gKu[10], 1e-4 * gKu.Max(Math.Abs));
        double dDb = result["material__Db"].Sum().Item();
        double fdDb = (LAt(ku, 1e-3 + 1e-7) - LAt(ku, 1e-3 - 1e-7)) / 2e-7;
        Console.WriteLine($"dL/dDb: implicit {dDb:e10}, finite differences {fdDb:e10}");
        Assert.AreEqual(fdDb, dDb, 1e-4 * Math.Abs(fdDb));
    }

    [TestMethod]
    public void TorqueFormulationAgreesWithTheEnergyFormulationAndHandlesDemag()
    {
        // Without demag both formulations describe the same relaxed states: the gradients agree.
        var ku = KuStep();
        var state = Chain(ku, ChainHx);
        Relax(state, 1e-7);
        var objective = Weighted(state, ChainWeights(state));
        var fromEnergy = ImplicitGradient.Compute(state, objective, new[] { "material__Ku" })["material__Ku"].ToArray();
        var torque = ImplicitGradient.ComputeFromTorque(state, objective, new[] { "material__Ku" });
        Console.WriteLine($"chain, torque formulation: {torque.Report}");
        Assert.AreEqual(KrylovMethod.Gmres, torque.Report.Method);
        var fromTorque = torque["material__Ku"].ToArray();
        double scale = fromEnergy.Max(Math.Abs);
        for (int c = 0; c < Cells; c++) Assert.AreEqual(fromEnergy[c], fromTorque[c], 1e-7 * scale, $"cell {c}");

        // With demag (whose h is not exactly the energy gradient) the torque formulation matches finite
        // differences of relaxed states, and the energy formulation refuses the state.
        var sd = Chain(ku, ChainHx, demag: true);
        Relax(sd, 1e-7);
        var od = Weighted(sd, ChainWeights(sd));
        Assert.ThrowsExactly<InvalidOperationException>(() => ImplicitGradient.Compute(sd, od, new[] { "material__Ku" }));
        var rd = ImplicitGradient.ComputeFromTorque(sd, od, new[] { "material__Ku", "h_external" });
        Console.WriteLine($"chain with demag, torque formulation: {rd.Report}");
        double LAt(double[] kuValues, double hx)
        {
            var s = Chain(kuValues, hx, demag: true);
            Relax(s, 1e-7);
            return od(s.M.Tensor).Item();
        }
        var gKu = rd["material__Ku"].ToArray();
        double step = ku[10] * 1e-4;
        var plus = (double[])ku.Clone(); plus[10] += step;
        var minus = (double[])ku.Clone(); minus[10] -= step;
        double fd = (LAt(plus, ChainHx) - LAt(minus, ChainHx)) / (2 * step);
        Console.WriteLine($"demag chain dL/dKu[10]: implicit {gKu[10]:e10}, finite differences {fd:e10}");
        Assert.AreEqual(fd, gKu[10], 1e-4 * gKu.Max(Math.Abs));
        var gh = rd["h_external"].ToArray();
        double dHx = 0;
        for (int k = 0; k < gh.Length; k += 3) dHx += gh[k];
        double hStep = ChainHx * 1e-4;
        double fdH = (LAt(ku, ChainHx + hStep) - LAt(ku, ChainHx - hStep)) / (2 * hStep);
        Console.WriteLine($"demag chain dL/dHx: implicit {dHx:e10}, finite differences {fdH:e10}");
        Assert.AreEqual(fdH, dHx, 1e-4 * Math.Abs(fdH));
    }

    [TestMethod]
    public void ChainCostAgainstBackpropagationThroughAnLlgRelaxation()
    {
        // The same gradient dL/dKu three ways on the 20-cell chain: (1) relax with the energy minimizer, then the
        // implicit gradient; (2) backpropagation through an LLG relaxation (alpha = 1, 1 ns) on the tape; (3) cost of
        // central differences of relaxed states (2 relaxations per Ku value). Times and heap are printed, not asserted.
        var ku = KuStep();
        var weights = ChainWeights(Chain(ku, ChainHx));

        Relax(Chain(ku, ChainHx), 1e-7); // compiles the field terms and the minimizer before timing
        long alloc0 = GC.GetTotalAllocatedBytes(true);
        var sw = Stopwatch.StartNew();
        var s1 = Chain(ku, ChainHx);
        Relax(s1, 1e-7);
        double relaxSeconds = sw.Elapsed.TotalSeconds;
        var implicitResult = ImplicitGradient.Compute(s1, Weighted(s1, weights), new[] { "material__Ku" });
        double implicitSeconds = sw.Elapsed.TotalSeconds - relaxSeconds;
        long implicitAlloc = GC.GetTotalAllocatedBytes(true) - alloc0;
        var gImplicit = implicitResult["material__Ku"].ToArray();
        long alloc2 = GC.GetTotalAllocatedBytes(true);
        sw.Restart();
        var torqueResult = ImplicitGradient.ComputeFromTorque(s1, Weighted(s1, weights), new[] { "material__Ku" });
        double torqueSeconds = sw.Elapsed.TotalSeconds;
        long torqueAlloc = GC.GetTotalAllocatedBytes(true) - alloc2;

        var s2 = Chain(ku, ChainHx);
        var llg = new LLGSolver(s2, parameters: new[] { "material__Ku" }, rtol: 1e-6, atol: 1e-6);
        var objective = Weighted(s2, weights);
        GC.Collect();
        long live0 = GC.GetTotalMemory(true);
        long alloc1 = GC.GetTotalAllocatedBytes(true);
        sw.Restart();
        NTensor gBackprop;
        long liveTape;
        using (var tape = new Tape())
        {
            var kuW = tape.Watch(s2.Material.Tensor("Ku"));
            var m1 = llg.Solve(1e-9, parameterValues: new[] { kuW });
            var l = objective(m1);
            liveTape = GC.GetTotalMemory(true) - live0;
            gBackprop = tape.Gradient(l, new[] { kuW })[0];
        }
        double backpropSeconds = sw.Elapsed.TotalSeconds;
        long backpropAlloc = GC.GetTotalAllocatedBytes(true) - alloc1;
        var gB = gBackprop.ToArray();

        double scale = gImplicit.Max(Math.Abs);
        double maxDiff = gImplicit.Zip(gB, (a, b) => Math.Abs(a - b)).Max();
        Console.WriteLine($"implicit: relax {relaxSeconds:f3} s + gradient {implicitSeconds:f3} s, {implicitResult.Report.Iterations} CG iterations, "
            + $"{implicitResult.Report.HessianProducts} Hessian products, allocated {implicitAlloc / 1e6:f1} MB (relax + gradient)");
        Console.WriteLine($"implicit, torque formulation: gradient {torqueSeconds:f3} s, {torqueResult.Report.Iterations} GMRES iterations, allocated {torqueAlloc / 1e6:f1} MB");
        Console.WriteLine($"backprop through LLG (1 ns, alpha 1, {llg.Evaluations} field evaluations): {backpropSeconds:f3} s, tape live heap {liveTape / 1e6:f1} MB, allocated {backpropAlloc / 1e6:f1} MB");
        Console.WriteLine($"finite differences: {2 * Cells} relaxations ≈ {2 * Cells * relaxSeconds:f3} s");
        Console.WriteLine($"max |implicit − backprop| / max |implicit| = {maxDiff / scale:e3}");
        // The LLG trajectory has relaxed to well below the precision compared here, so both gradients are the same.
        Assert.IsTrue(maxDiff <= 1e-3 * scale, $"implicit vs backprop differ by {maxDiff / scale:e3} (relative)");
    }

    // ---------------------------------------------------------------- argument checks and non-convergence

    [TestMethod]
    public void RefusesAStateThatIsNotRelaxed()
    {
        var state = Chain(KuStep(), ChainHx); // the uniform start, far from equilibrium at the Ku step
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() =>
            ImplicitGradient.Compute(state, Weighted(state, ChainWeights(state)), new[] { "material__Ku" }));
        StringAssert.Contains(ex.Message, "not a stationary point");
    }

    [TestMethod]
    public void ReportsNonConvergenceAndRejectsBadArguments()
    {
        var state = Chain(KuStep(), ChainHx);
        Relax(state, 1e-6);
        var objective = Weighted(state, ChainWeights(state));
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() =>
            ImplicitGradient.Compute(state, objective, new[] { "material__Ku" }, maxIter: 2));
        StringAssert.Contains(ex.Message, "did not converge");
        StringAssert.Contains(ex.Message, "relative residual");

        Assert.AreEqual("parameters", Assert.ThrowsExactly<ArgumentException>(() => ImplicitGradient.Compute(state, objective, Array.Empty<string>())).ParamName);
        Assert.AreEqual("parameters", Assert.ThrowsExactly<ArgumentException>(() => ImplicitGradient.Compute(state, objective, new[] { "m" })).ParamName);
        Assert.AreEqual("parameters", Assert.ThrowsExactly<ArgumentException>(() => ImplicitGradient.Compute(state, objective, new[] { "material.Ku", "material__Ku" })).ParamName);
        Assert.AreEqual("tol", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ImplicitGradient.Compute(state, objective, new[] { "material__Ku" }, tol: 0)).ParamName);
        Assert.AreEqual("maxIter", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ImplicitGradient.Compute(state, objective, new[] { "material__Ku" }, maxIter: 0)).ParamName);
        Assert.AreEqual("finiteDifferenceStep", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ImplicitGradient.Compute(state, objective, new[] { "material__Ku" }, finiteDifferenceStep: 2)).ParamName);
        Assert.AreEqual("objective", Assert.ThrowsExactly<ArgumentException>(() => ImplicitGradient.Compute(state, m => m, new[] { "material__Ku" })).ParamName);
        Assert.AreEqual("stationarityTol", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ImplicitGradient.Compute(state, objective, new[] { "material__Ku" }, stationarityTol: 0)).ParamName);
        Assert.ThrowsExactly<KeyNotFoundException>(() => ImplicitGradient.Compute(state, objective, new[] { "material__Ku" })["material__A"]);
    }
}
