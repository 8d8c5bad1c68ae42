using NeuralMag.AD;

namespace NeuralMag.Demos;

/// <summary>
/// Deterministic spin–orbit-torque switching of a perpendicular macrospin (Liu et al., PRL 109, 096602 (2012); Lee et
/// al., APL 102, 112410 (2013)): Ms = 800 kA/m, Ku = 100 kJ/m³ along z (H_K = 199 kA/m), α = 0.1, a free layer of
/// d = 1 nm, spin polarization p = ŷ from a current along x (η_DL = 0.3, η_FL = 0), an in-plane bias field
/// H_x = 0.1 H_K, and a 1 ns current pulse of 2e12 A/m² (H_j η_DL ≈ H_K, above the macrospin threshold ≈ H_K/2).
/// The end state is set by the sign of j H_x, not by the start: the demo starts from +z and from −z with both current
/// signs and checks that each current sign sends both starts to the same hemisphere, the two signs to opposite ones.
/// </summary>
public sealed class SotSwitchingDemo : IDemo
{
    public string Name => "sot-switching";
    public string Description => "deterministic spin-orbit-torque switching of a perpendicular macrospin";

    public int Run(DemoOptions options)
    {
        var outDir = options.OutputFor(Name);
        const double ms = 8e5, ku = 1e5, alpha = 0.1, j0 = 2e12, rise = 0.05e-9, pulse = 1e-9;
        double hk = 2 * ku / (Constants.Mu0 * ms);
        double tEnd = options.Quick ? 2e-9 : 4e-9;
        var times = Enumerable.Range(1, (int)Math.Round(tEnd / 10e-12)).Select(i => i * 10e-12).ToArray();
        var rows = new List<double[]>();
        var curves = new List<DemoOutput.Curve>();
        var finals = new Dictionary<(double, double), double>();
        foreach (var start in new[] { 1.0, -1.0 })
            foreach (var sign in new[] { 1.0, -1.0 })
            {
                var state = new State(new Mesh(new[] { 1, 1, 1 }, new[] { 20e-9, 20e-9, 1e-9 }));
                state.Material["Ms"] = ms;
                state.Material["Ku"] = ku;
                state.Material["Ku_axis"] = new[] { 0.0, 0, 1 };
                state.Material["alpha"] = alpha;
                state.Material["p_sot"] = new[] { 0.0, 1, 0 };
                state.Material["eta_damp"] = 0.3;
                state.Material["eta_field"] = 0.0;
                state.Material["d"] = 1e-9;
                double norm = Math.Sqrt(1 + 0.02 * 0.02);
                state["m"] = new VectorFunction(state).Fill(new[] { 0.02 / norm, 0, start / norm });
                new UniaxialAnisotropyField().Register(state, "uaniso");
                new ExternalField(new[] { 0.1 * hk, 0, 0 }).Register(state, "external");
                new TotalField("uaniso", "external").Register(state);
                double amplitude = sign * j0;
                // A trapezoidal pulse with smooth (tanh) edges of width `rise`.
                state["j_sot"] = (Func<NTensor, NTensor>)(t => ((t * (1 / rise) - 2).Tanh() - ((t - pulse) * (1 / rise) - 2).Tanh()) * (0.5 * amplitude));
                new SpinOrbitTorque().Register(state);
                var llg = new LLGSolver(state, rtol: 1e-7, atol: 1e-7);
                var mz = llg.Solve(times).Select(m => m[0, 0, 0, 2].Item()).ToArray();
                for (int k = 0; k < times.Length; k++) rows.Add(new[] { start, amplitude, times[k], mz[k] });
                finals[(start, sign)] = mz[^1];
                curves.Add(new DemoOutput.Curve($"m_z(0) = {start:+0;-0}, j = {amplitude:E1} A/m^2", times.Select(t => t * 1e9).ToArray(), mz));
                Console.WriteLine($"  start m_z = {start,2:+0;-0}, j = {amplitude,8:E1} A/m^2: final m_z = {mz[^1]:F4}");
            }
        DemoOutput.WriteCsv(Path.Combine(outDir, "switching.csv"), "mz0,j,t,m_z", rows);
        DemoOutput.Plot(Path.Combine(outDir, "switching.png"), "SOT switching (p = y, H_x = 0.1 H_K, 1 ns pulse)", "t (ns)", "m_z", curves.ToArray());
        bool decided = finals.Values.All(v => Math.Abs(v) > 0.9);
        bool deterministic = Math.Sign(finals[(1, 1)]) == Math.Sign(finals[(-1, 1)]) && Math.Sign(finals[(1, -1)]) == Math.Sign(finals[(-1, -1)])
                             && Math.Sign(finals[(1, 1)]) != Math.Sign(finals[(1, -1)]);
        bool ok = decided && deterministic;
        Console.WriteLine($"wrote {outDir}/switching.csv and switching.png; end states |m_z| > 0.9: {decided}, set by the current's sign alone: {deterministic}: {(ok ? "PASS" : "FAIL")}");
        return ok ? 0 : 1;
    }
}
