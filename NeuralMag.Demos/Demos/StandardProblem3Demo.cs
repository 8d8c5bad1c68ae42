using System.Diagnostics;
using NeuralMag.AD;
using NeuralMag.IO;

namespace NeuralMag.Demos;

/// <summary>
/// muMAG standard problem 3 (upstream's demo): the single-domain limit of a cube of edge L (in units of the exchange
/// length l_ex = sqrt(A/K_m), K_m = mu0 Ms^2/2) with uniaxial anisotropy Ku = 0.1 K_m along z. The flower state
/// (relaxed from m = z) and the vortex state (relaxed from a curl about x) are minimized with the Barzilai–Borwein
/// energy minimizer on 10^3 cells for L = 8.3, 8.4, 8.5 l_ex; their energies cross near L = 8.4 l_ex (muMAG
/// solutions 8.4 - 8.5; upstream NeuralMag on the same mesh: 8.361). Full mode also relaxes both states with damped
/// LLG, as upstream compares.
/// </summary>
public sealed class StandardProblem3Demo : IDemo
{
    public string Name => "standard-problem-3";
    public string Description => "muMAG standard problem 3: flower/vortex energy crossing of a cube (~8.4 l_ex)";

    /// <summary>Upstream NeuralMag's results on the 10^3 mesh (BB minimizer): energies at L = 8 and the crossing.</summary>
    private const double UpstreamVortexE8 = 8.320460e-18, UpstreamFlowerE8 = 7.784938e-18, UpstreamCrossing = 8.361;

    private const int N = 10;
    private const double Ms = 8e5, A = 13e-12;

    private static State Build(double l, bool vortex)
    {
        double km = Constants.Mu0 * Ms * Ms / 2, lex = Math.Sqrt(A / km), size = l * lex, dx = size / N;
        var state = new State(new Mesh(new[] { N, N, N }, new[] { dx, dx, dx }, new[] { -size / 2, -size / 2, -size / 2 }));
        state.Material["Ms"] = Ms;
        state.Material["A"] = A;
        state.Material["alpha"] = 0.5;
        state.Material["Ku"] = 0.1 * km;
        state.Material["Ku_axis"] = new[] { 0.0, 0, 1 };
        if (vortex)
        {
            // Curl about x: m ∝ (1e-9, z, -y) at the nodes.
            var xyz = state.Coordinates("nnn");
            var v = NTensor.Stack(-1, NTensor.FullLike(xyz[0], 1e-9), xyz[2], -xyz[1]);
            state["m"] = new VectorFunction(state, v / v.Norm(-1).Unsqueeze(-1));
        }
        else state["m"] = new VectorFunction(state).Fill(new[] { 0.0, 0, 1 });
        new ExchangeField().Register(state, "exchange");
        new UniaxialAnisotropyField().Register(state, "aniso");
        new DemagField().Register(state, "demag");
        new TotalField("exchange", "demag", "aniso").Register(state);
        return state;
    }

    /// <summary>Relaxes one state; returns (energy in J, iterations or -1 for LLG, seconds).</summary>
    private static (double E, int Iterations, double Seconds, State State) Relax(double l, bool vortex, string method)
    {
        var state = Build(l, vortex);
        var sw = Stopwatch.StartNew();
        int iterations = -1;
        if (method == "bb")
        {
            var min = new EnergyMinimizer(state, tol: 1e3, maxIter: 2000);
            min.Minimize();
            iterations = min.Iterations;
        }
        else new LLGSolver(state).Relax();
        return (state.Tensor("E").Item(), iterations, sw.Elapsed.TotalSeconds, state);
    }

    /// <summary>First zero of the linear interpolation of y(x), or null when y does not change sign.</summary>
    internal static double? FirstCrossing(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        for (int i = 0; i + 1 < x.Count; i++)
            if (Math.Sign(y[i]) != Math.Sign(y[i + 1]))
                return x[i] - y[i] * (x[i + 1] - x[i]) / (y[i + 1] - y[i]);
        return null;
    }

    public int Run(DemoOptions options)
    {
        var outDir = options.OutputFor(Name);
        var total = Stopwatch.StartNew();
        bool ok = true;

        // The two states at L = 8 l_ex against upstream's energies.
        var v8 = Relax(8, true, "bb");
        var f8 = Relax(8, false, "bb");
        double dv = Math.Abs(v8.E / UpstreamVortexE8 - 1), df = Math.Abs(f8.E / UpstreamFlowerE8 - 1);
        bool pass8 = dv < 1e-3 && df < 1e-3;
        ok &= pass8;
        Console.WriteLine($"L = 8 l_ex: vortex E = {v8.E:E6} J ({v8.Iterations} BB iterations; upstream {UpstreamVortexE8:E6} J), " +
                          $"flower E = {f8.E:E6} J ({f8.Iterations} iterations; upstream {UpstreamFlowerE8:E6} J): relative differences {dv:E1}, {df:E1}: {(pass8 ? "PASS" : "FAIL")}");
        foreach (var (s, label) in new[] { (v8.State, "vortex"), (f8.State, "flower") })
            Vti.Write(Path.Combine(outDir, $"{label}-L8.vti"), s.Mesh.N, s.Mesh.Dx, s.Mesh.Origin, new[] { ("m", s.M.Tensor.ToArray(), 3, true) });

        var ls = new[] { 8.3, 8.4, 8.5 };
        var methods = options.Quick ? new[] { "bb" } : new[] { "bb", "llg" };
        var rows = new List<double[]>();
        var curves = new List<DemoOutput.Curve>();
        foreach (var method in methods)
        {
            var ev = new List<double>();
            var ef = new List<double>();
            foreach (var l in ls)
            {
                var v = Relax(l, true, method);
                var f = Relax(l, false, method);
                ev.Add(v.E);
                ef.Add(f.E);
                rows.Add(new[] { method == "bb" ? 0 : 1, l, v.E, f.E });
                Console.WriteLine($"  [{method}] L = {l:F1} l_ex: E_vortex = {v.E:E6} J, E_flower = {f.E:E6} J, difference {v.E - f.E:E3} J  [{v.Seconds + f.Seconds:F1} s]");
            }
            var crossing = FirstCrossing(ls, ev.Zip(ef, (a, b) => a - b).ToList());
            bool pass = crossing is { } c && c > 8.3 && c < 8.5 && Math.Abs(c - UpstreamCrossing) < 0.02;
            ok &= pass;
            Console.WriteLine($"  [{method}] crossing L* = {(crossing is { } cc ? $"{cc:F3}" : "none")} l_ex (upstream on this mesh {UpstreamCrossing:F3}, muMAG 8.4 - 8.5): {(pass ? "PASS" : "FAIL")}");
            string name = method == "bb" ? "BB" : "LLG";
            curves.Add(new DemoOutput.Curve($"vortex ({name})", ls, ev.ToArray()));
            curves.Add(new DemoOutput.Curve($"flower ({name})", ls, ef.ToArray()));
        }
        DemoOutput.WriteCsv(Path.Combine(outDir, "energies.csv"), "method(0=bb;1=llg),L_lex,E_vortex,E_flower", rows);
        DemoOutput.Plot(Path.Combine(outDir, "energies.png"), "Standard problem 3: flower vs vortex", "L (l_ex)", "E (J)", curves.ToArray());
        Console.WriteLine($"wrote {outDir}/energies.csv, energies.png, vortex-L8.vti, flower-L8.vti");
        Console.WriteLine($"wall time {total.Elapsed.TotalSeconds:F1} s: {(ok ? "PASS" : "FAIL")}");
        return ok ? 0 : 1;
    }
}
