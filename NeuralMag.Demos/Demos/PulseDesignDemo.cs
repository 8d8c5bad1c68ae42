using System.Diagnostics;
using NeuralMag.AD;

namespace NeuralMag.Demos;

/// <summary>
/// Inverse design of a spin–orbit-torque current pulse: the perpendicular macrospin of <see cref="SotSwitchingDemo"/>
/// (Ms = 800 kA/m, Ku = 100 kJ/m³ along z, α = 0.1, d = 1 nm, p = ŷ, η_DL = 0.3, in-plane bias H_x = 0.1 H_K) starts
/// near +z and is driven by a smooth trapezoidal pulse j(t) = (j0/2) [tanh((t − t_on)/τ) − tanh((t − t_on − w)/τ)]
/// (τ = 50 ps edges, t_on = 0.3 ns) whose amplitude j0 and width w are designed. The objective is
/// L = (m_z(t_end) + 1)² + λ Q/Q_ref with the charge per area Q = ∫ |j| dt = j0 w (exact over the whole time axis for
/// this shape; Q_ref = 2e12 A/m² · 1 ns, λ = 0.1): switch to −z with as little charge as possible. The design variables
/// are x = (ln(j0/j_ref), ln(w/t_ref)), which keeps j0 and w positive. The gradient dL/dx flows back through the
/// fixed-step RK4 LLG solve on the tape (the pulse parameters are solver parameters); it is checked once against central
/// differences of the same discrete solution (rel 1e-4). Gradient descent with a backtracking (Armijo) line search then
/// lowers L until a step gains less than 1e-6 of it (the design then sits at the edge of switching); the demo checks that L falls by at least the factor 2 and that the final pulse still switches
/// (m_z(t_end) &lt; −0.9).
/// </summary>
public sealed class PulseDesignDemo : IDemo
{
    /// <inheritdoc/>
    public string Name => "sot-pulse-design";

    /// <inheritdoc/>
    public string Description => "design an SOT current pulse (amplitude, width) that switches a macrospin with least charge, gradients through the LLG solve";

    private const double Ms = 8e5, Ku = 1e5, Rise = 0.05e-9, TOn = 0.3e-9, JRef = 2e12, TRef = 1e-9, Lambda = 0.1;

    /// <inheritdoc/>
    public int Run(DemoOptions options)
    {
        var outDir = options.OutputFor(Name);
        var sw = Stopwatch.StartNew();
        double hk = 2 * Ku / (Constants.Mu0 * Ms);
        // Quick: coarser RK4 steps (ω dt ≈ 0.2 at the anisotropy field, still resolved) and fewer iterations.
        double step = options.Quick ? 5e-12 : 2e-12, tEnd = options.Quick ? 2.5e-9 : 3e-9;
        int iterations = options.Quick ? 6 : 30;

        var state = new State(new Mesh(new[] { 1, 1, 1 }, new[] { 20e-9, 20e-9, 1e-9 }));
        state.Material["Ms"] = Ms;
        state.Material["Ku"] = Ku;
        state.Material["Ku_axis"] = new[] { 0.0, 0, 1 };
        state.Material["alpha"] = 0.1;
        state.Material["p_sot"] = new[] { 0.0, 1, 0 };
        state.Material["eta_damp"] = 0.3;
        state.Material["eta_field"] = 0.0;
        state.Material["d"] = 1e-9;
        double norm = Math.Sqrt(1 + 0.02 * 0.02);
        state["m"] = new VectorFunction(state).Fill(new[] { 0.02 / norm, 0, 1 / norm });
        new UniaxialAnisotropyField().Register(state, "uaniso");
        new ExternalField(new[] { 0.1 * hk, 0, 0 }).Register(state, "external");
        new TotalField("uaniso", "external").Register(state);
        state["j0"] = JRef;
        state["w"] = TRef;
        // With p = ŷ and H_x > 0 a negative current sends the macrospin to −z (sot-switching: the sign of j H_x decides).
        state["j_sot"] = (Func<NTensor, NTensor, NTensor, NTensor>)((t, j0, w) =>
            (((t - TOn) * (1 / Rise)).Tanh() - ((t - TOn - w) * (1 / Rise)).Tanh()) * j0 * -0.5);
        new SpinOrbitTorque().Register(state);
        var llg = new LLGSolver(state, parameters: new[] { "j0", "w" }, fixedStepMethod: FixedStepMethod.RK4, fixedStep: step);
        var m0 = state.Tensor("m");

        NTensor[] Pulse(NTensor x) => new[] { x[0].Exp() * JRef, x[1].Exp() * TRef };
        NTensor Charge(NTensor x) => (x[0] + x[1]).Exp();
        NTensor Objective(NTensor x) => (llg.Solve(tEnd, m0, Pulse(x))[0, 0, 0, 2] + 1.0).Square() + Charge(x) * Lambda;
        double Value(double[] x) => Objective(state.Tensor(x)).Item();

        // Start: the sot-switching pulse (j0 = 2e12 A/m², w = 1 ns) made 1.5 times stronger and longer, which switches.
        var x = new[] { Math.Log(1.5), Math.Log(1.5) };
        var (l0, g0t) = Autodiff.ValueAndGrad(Objective)(state.Tensor(x));
        var g0 = g0t.ToArray();
        double gradErr = 0;
        for (int i = 0; i < 2; i++)
        {
            const double h = 1e-4;
            var plus = (double[])x.Clone(); plus[i] += h;
            var minus = (double[])x.Clone(); minus[i] -= h;
            double fd = (Value(plus) - Value(minus)) / (2 * h);
            gradErr = Math.Max(gradErr, Math.Abs(fd - g0[i]) / Math.Abs(fd));
            Console.WriteLine($"  dL/d ln({(i == 0 ? "j0" : "w")}) at the start: tape {g0[i]:E8}, central difference {fd:E8}");
        }
        bool gradOk = gradErr < 1e-4;
        Console.WriteLine($"gradient check: max relative error {gradErr:E2} (tolerance 1e-4): {(gradOk ? "PASS" : "FAIL")}  [{sw.Elapsed.TotalSeconds:F1} s]");

        // Gradient descent with backtracking: accept x − s g when L drops by at least 1e-4 s |g|² (Armijo), else halve
        // s; after an accepted step s doubles. Every accepted step lowers L, so the objective curve is monotone.
        var rows = new List<double[]>();
        double l = l0.Item(), s = 1.0;
        var g = g0;
        double MzEnd(double[] xs) => llg.Solve(tEnd, m0, Pulse(state.Tensor(xs)))[0, 0, 0, 2].Item();
        void Record(int it, double[] xs, double lv) => rows.Add(new[] { it, Math.Exp(xs[0]) * JRef, Math.Exp(xs[1]) * TRef, Math.Exp(xs[0] + xs[1]), MzEnd(xs), lv });
        Record(0, x, l);
        Console.WriteLine($"  iteration  0: j0 = {Math.Exp(x[0]) * JRef:E3} A/m^2, w = {Math.Exp(x[1]) * TRef * 1e9:F4} ns, Q/Q_ref = {Math.Exp(x[0] + x[1]):F4}, m_z(t_end) = {rows[^1][4]:F5}, L = {l:E4}");
        for (int it = 1; it <= iterations; it++)
        {
            double g2 = g[0] * g[0] + g[1] * g[1];
            double[] trial = x;
            double lt = l;
            bool accepted = false;
            for (int back = 0; back < 30 && !accepted; back++)
            {
                trial = new[] { x[0] - s * g[0], x[1] - s * g[1] };
                lt = Value(trial);
                if (double.IsFinite(lt) && lt <= l - 1e-4 * s * g2) accepted = true;
                else s /= 2;
            }
            if (!accepted) { Console.WriteLine($"  iteration {it,2}: the line search found no decrease; stopping"); break; }
            // Converged: the pulse sits at the edge of switching, where the charge can no longer fall without m_z(t_end)
            // leaving −z; the accepted steps there shrink to nothing.
            bool converged = l - lt < 1e-6 * l;
            x = trial;
            s *= 2;
            var (lv, gv) = Autodiff.ValueAndGrad(Objective)(state.Tensor(x));
            l = lv.Item();
            g = gv.ToArray();
            Record(it, x, l);
            Console.WriteLine($"  iteration {it,2}: j0 = {Math.Exp(x[0]) * JRef:E3} A/m^2, w = {Math.Exp(x[1]) * TRef * 1e9:F4} ns, Q/Q_ref = {Math.Exp(x[0] + x[1]):F4}, m_z(t_end) = {rows[^1][4]:F5}, L = {l:E4}  [{sw.Elapsed.TotalSeconds:F1} s]");
            if (converged) { Console.WriteLine($"  converged: the last step lowered L by less than 1e-6 of itself"); break; }
        }

        // The final pulse and m_z(t) on a 10 ps grid.
        var times = Enumerable.Range(0, (int)Math.Round(tEnd / 10e-12) + 1).Select(k => k * 10e-12).ToArray();
        var pulse = Pulse(state.Tensor(x));
        double j0Final = pulse[0].Item(), wFinal = pulse[1].Item();
        var mz = new[] { m0[0, 0, 0, 2].Item() }.Concat(llg.Solve(times.Skip(1).ToArray(), m0, pulse).Select(m => m[0, 0, 0, 2].Item())).ToArray();
        var current = times.Select(t => -0.5 * j0Final * (Math.Tanh((t - TOn) / Rise) - Math.Tanh((t - TOn - wFinal) / Rise))).ToArray();
        var startPulse = times.Select(t => -0.5 * 1.5 * JRef * (Math.Tanh((t - TOn) / Rise) - Math.Tanh((t - TOn - 1.5 * TRef) / Rise))).ToArray();
        DemoOutput.WriteCsv(Path.Combine(outDir, "optimization.csv"), "iteration,j0,w,charge_over_qref,mz_end,objective", rows);
        DemoOutput.WriteCsv(Path.Combine(outDir, "pulse.csv"), "t,j_sot,m_z", times.Select((t, k) => new[] { t, current[k], mz[k] }));
        DemoOutput.Plot(Path.Combine(outDir, "objective.png"), "SOT pulse design: (m_z(t_end)+1)^2 + lambda Q/Q_ref", "iteration", "objective",
            new DemoOutput.Curve("objective", rows.Select(r => r[0]).ToArray(), rows.Select(r => r[5]).ToArray()));
        var tNs = times.Select(t => t * 1e9).ToArray();
        DemoOutput.Plot(Path.Combine(outDir, "pulse.png"), "Designed pulse and the switching it drives", "t (ns)", "m_z, j / j_ref",
            new DemoOutput.Curve("m_z(t), designed pulse", tNs, mz),
            new DemoOutput.Curve("j(t) / 2e12 A/m^2, designed", tNs, current.Select(c => c / JRef).ToArray()),
            new DemoOutput.Curve("j(t) / 2e12 A/m^2, start", tNs, startPulse.Select(c => c / JRef).ToArray()));
        Console.WriteLine($"wrote {outDir}/optimization.csv, pulse.csv, objective.png, pulse.png");

        double lStart = rows[0][5], lEnd = rows[^1][5], mzEnd = rows[^1][4];
        bool fell = lEnd <= lStart / 2 && rows.All(r => r.All(double.IsFinite));
        bool switches = mzEnd < -0.9;
        Console.WriteLine($"objective {lStart:E4} -> {lEnd:E4} (factor {lStart / lEnd:F2}, needs >= 2): {(fell ? "PASS" : "FAIL")}; " +
                          $"charge {rows[0][3]:F4} -> {rows[^1][3]:F4} Q_ref (Q_ref = 2e12 A/m^2 x 1 ns = 2e3 C/m^2); final m_z(t_end) = {mzEnd:F5} (needs < -0.9): {(switches ? "PASS" : "FAIL")}  " +
                          $"[{sw.Elapsed.TotalSeconds:F1} s, {llg.Evaluations} field evaluations]");
        return gradOk && fell && switches ? 0 : 1;
    }
}
