using NeuralMag.AD;

namespace NeuralMag.Demos;

/// <summary>
/// Current-driven domain-wall motion by the Zhang–Li torque in a 1D strip (Thiaville et al., Europhys. Lett. 69, 990
/// (2005)): Ms = 800 kA/m, A = 13 pJ/m, easy axis x (Ku = 100 kJ/m³), the thin-film hard axis z as the local field
/// −Ms m_z ẑ, α = 0.1, ξ = 0.2, cells of 2 nm. Below Walker breakdown the wall settles at v = (ξ/α) u; the demo drives
/// it at several u, writes X(t) and checks each steady velocity against (ξ/α) u within 1.5 % (the central difference
/// of the nodal m underestimates ∂m/∂x by (dx/Δ)²/6 = 0.5 %).
/// </summary>
public sealed class CurrentDrivenWallDemo : IDemo
{
    public string Name => "current-driven-wall";
    public string Description => "Zhang-Li current-driven domain-wall motion: steady velocity against (xi/alpha) u";

    public int Run(DemoOptions options)
    {
        var outDir = options.OutputFor(Name);
        const double alpha = 0.1, xi = 0.2, ms = 8e5, a = 1.3e-11, ku = 1e5, dx = 2e-9;
        const int cells = 150;
        double delta = Math.Sqrt(a / ku);
        var speeds = options.Quick ? new[] { 100.0 } : new[] { 50.0, 100.0, 200.0 };
        var times = Enumerable.Range(1, 10).Select(i => i * 0.05e-9).ToArray();
        var rows = new List<double[]>();
        var curves = new List<DemoOutput.Curve>();
        bool ok = true;
        foreach (var u in speeds)
        {
            var state = new State(new Mesh(new[] { cells }, new[] { dx, 5e-9, 5e-9 }));
            state.Material["Ms"] = ms;
            state.Material["A"] = a;
            state.Material["Ku"] = ku;
            state.Material["Ku_axis"] = new[] { 1.0, 0, 0 };
            state.Material["alpha"] = alpha;
            state.Material["P"] = 1.0;
            state.Material["xi"] = xi;
            var m = new double[(cells + 1) * 3];
            for (int i = 0; i <= cells; i++)
            {
                double theta = 2 * Math.Atan(Math.Exp((i * dx - 60e-9) / delta));
                m[3 * i] = Math.Cos(theta);
                m[3 * i + 1] = Math.Sin(theta);
            }
            state["m"] = new VectorFunction(state, state.Tensor(m, new[] { cells + 1, 3 }));
            new ExchangeField().Register(state, "exchange");
            new UniaxialAnisotropyField().Register(state, "uaniso");
            var ez = state.Tensor(new[] { 0.0, 0, 1 });
            new ExternalField((NTensor m) => m.Slice(1, 2, 3) * ez * -ms).Register(state, "hard");
            new TotalField("exchange", "uaniso", "hard").Register(state);
            // u = P g mu_B j / (2 e Ms)
            state["j"] = new[] { u * 2 * Constants.ElementaryCharge * ms / (ZhangLiTorque.GFactor * Constants.BohrMagneton), 0, 0 };
            new ZhangLiTorque().Register(state);
            var llg = new LLGSolver(state, rtol: 1e-7, atol: 1e-7);
            var snapshots = llg.Solve(times);
            var x = snapshots.Select(s => Position(s, dx)).ToArray();
            for (int k = 0; k < times.Length; k++) rows.Add(new[] { u, times[k], x[k] });
            curves.Add(new DemoOutput.Curve($"u = {u} m/s", times.Select(t => t * 1e9).ToArray(), x.Select(v => v * 1e9).ToArray()));
            double v = (x[^1] - x[5]) / (times[^1] - times[5]), expected = xi / alpha * u;
            bool pass = Math.Abs(v - expected) <= 0.015 * expected;
            ok &= pass;
            Console.WriteLine($"  u = {u,5:F1} m/s: steady v = {v:F2} m/s, (xi/alpha) u = {expected:F2} m/s, ratio {v / expected:F4} (check within 1.5 %): {(pass ? "PASS" : "FAIL")}");
        }
        DemoOutput.WriteCsv(Path.Combine(outDir, "wall.csv"), "u_m_per_s,t,X", rows);
        DemoOutput.Plot(Path.Combine(outDir, "wall.png"), "Zhang-Li current-driven wall (alpha = 0.1, xi = 0.2)", "t (ns)", "wall position X (nm)", curves.ToArray());
        Console.WriteLine($"wrote {outDir}/wall.csv and wall.png; {(ok ? "PASS" : "FAIL")}");
        return ok ? 0 : 1;
    }

    /// <summary>The x where m_x crosses 0 (linear interpolation between nodes).</summary>
    private static double Position(NTensor m, double dx)
    {
        var v = m.ToArray();
        for (int i = 0; i + 1 < v.Length / 3; i++)
        {
            double a = v[3 * i], b = v[3 * (i + 1)];
            if (a > 0 && b <= 0) return (i + a / (a - b)) * dx;
        }
        return double.NaN;
    }
}
