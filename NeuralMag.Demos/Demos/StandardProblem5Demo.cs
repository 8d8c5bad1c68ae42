using System.Diagnostics;
using NeuralMag.AD;

namespace NeuralMag.Demos;

/// <summary>
/// muMAG standard problem 5 (spin-transfer torque on a vortex; Najafi et al., J. Appl. Phys. 105, 113914 (2009)):
/// a permalloy square 100 × 100 × 10 nm (Ms = 800 kA/m, A = 13 pJ/m, α = 0.1), relaxed into a vortex, then driven by
/// a Zhang–Li current along x with u = 72.17 m/s and ξ = 0.05 (j from u = P g μ_B j/(2 e Ms), P = 1). The core
/// gyrates to a new, displaced equilibrium; the demo writes ⟨m_x⟩(t), ⟨m_y⟩(t) with a plot. Full mode: 4 nm cells in
/// the plane, 5 nm thick, 8 ns; --quick: 10 nm cells, 1 ns. It checks that the relaxed state is a vortex (|⟨m⟩| small,
/// a core with m_z above 1/2), that the current moves it (⟨m⟩ changes) and that |m| stays 1; its curves are for
/// comparison with the OOMMF/mumax3 results of the standard problem, which it does not contain.
/// </summary>
public sealed class StandardProblem5Demo : IDemo
{
    public string Name => "standard-problem-5";
    public string Description => "muMAG standard problem 5: Zhang-Li current-driven vortex in a permalloy square";

    public int Run(DemoOptions options)
    {
        var outDir = options.OutputFor(Name);
        int nxy = options.Quick ? 10 : 25, nz = options.Quick ? 1 : 2;
        double side = 100e-9, thick = 10e-9, ms = 8e5, u = 72.17, tEnd = options.Quick ? 1e-9 : 8e-9;
        var state = new State(new Mesh(new[] { nxy, nxy, nz }, new[] { side / nxy, side / nxy, thick / nz }));
        state.Material["Ms"] = ms;
        state.Material["A"] = 1.3e-11;
        state.Material["alpha"] = 0.1;
        state.Material["P"] = 1.0;
        state.Material["xi"] = 0.05;
        // A vortex guess: counter-clockwise circulation around the centre with a core along +z.
        var (x, y, _) = (state.Coordinates("nnn")[0], state.Coordinates("nnn")[1], 0);
        var xc = x - side / 2;
        var yc = y - side / 2;
        var r2 = xc.Square() + yc.Square();
        var core = (r2 * (-1 / (10e-9 * 10e-9))).Exp();
        var guess = NTensor.Stack(-1, -yc, xc, core * 2e-8);
        state["m"] = new VectorFunction(state, guess / guess.Norm(-1).Unsqueeze(-1));
        new ExchangeField().Register(state, "exchange");
        new DemagField().Register(state, "demag");
        new TotalField("exchange", "demag").Register(state);
        var sw = Stopwatch.StartNew();
        var llg = new LLGSolver(state, rtol: 1e-5, atol: 1e-5);
        llg.Relax();
        var m0 = state.M.Avg().ToArray();
        double coreMz = state.M.Tensor.Slice(3, 2, 3).Max().Item();
        Console.WriteLine($"  relaxed vortex: <m> = ({m0[0]:F4}, {m0[1]:F4}, {m0[2]:F4}), max m_z = {coreMz:F3} [{sw.Elapsed.TotalSeconds:F1} s]");
        state["j"] = new[] { u * 2 * Constants.ElementaryCharge * ms / (ZhangLiTorque.GFactor * Constants.BohrMagneton), 0, 0 };
        new ZhangLiTorque().Register(state);
        var driven = new LLGSolver(state, rtol: 1e-5, atol: 1e-5);
        var rows = new List<double[]> { new[] { 0, m0[0], m0[1], m0[2] } };
        double dt = 10e-12, maxNormError = 0;
        while (state.T < tEnd - 1e-15)
        {
            driven.Step(dt);
            var avg = state.M.Avg().ToArray();
            rows.Add(new[] { state.T, avg[0], avg[1], avg[2] });
            maxNormError = Math.Max(maxNormError, (state.M.Tensor.Norm(-1) - 1.0).Abs().Max().Item());
            if (rows.Count % 20 == 1) Console.WriteLine($"  t = {state.T * 1e9:F2} ns  <m_x> = {avg[0]:F5}  <m_y> = {avg[1]:F5}  [{sw.Elapsed.TotalSeconds:F1} s]");
        }
        DemoOutput.WriteCsv(Path.Combine(outDir, "sp5.csv"), "t,mx,my,mz", rows);
        var ts = rows.Select(r => r[0] * 1e9).ToArray();
        DemoOutput.Plot(Path.Combine(outDir, "sp5.png"), $"muMAG SP5: u = {u} m/s, xi = 0.05 ({nxy}x{nxy}x{nz} cells)", "t (ns)", "<m>",
            new DemoOutput.Curve("<m_x>", ts, rows.Select(r => r[1]).ToArray()),
            new DemoOutput.Curve("<m_y>", ts, rows.Select(r => r[2]).ToArray()));
        var last = rows[^1];
        double moved = Math.Sqrt(Math.Pow(last[1] - m0[0], 2) + Math.Pow(last[2] - m0[1], 2));
        bool vortex = Math.Abs(m0[0]) < 0.05 && Math.Abs(m0[1]) < 0.05 && coreMz > 0.5;
        bool ok = vortex && moved > 0.01 && maxNormError < 1e-3;
        Console.WriteLine($"at t = {last[0] * 1e9:F2} ns: <m_x> = {last[1]:F5}, <m_y> = {last[2]:F5}; min <m_x> = {rows.Min(r => r[1]):F5}, " +
                          $"min <m_y> = {rows.Min(r => r[2]):F5}, max <m_y> = {rows.Max(r => r[2]):F5}; max ||m| - 1| = {maxNormError:E1}");
        Console.WriteLine($"wrote {outDir}/sp5.csv and sp5.png; vortex {vortex}, moved by {moved:F4} (> 0.01): {(ok ? "PASS" : "FAIL")} [{sw.Elapsed.TotalSeconds:F1} s]");
        return ok ? 0 : 1;
    }
}
