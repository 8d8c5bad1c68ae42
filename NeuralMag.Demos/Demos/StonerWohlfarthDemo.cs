using NeuralMag.AD;

namespace NeuralMag.Demos;

/// <summary>
/// Stoner–Wohlfarth hysteresis of a small uniaxial particle (upstream's demo): easy axis (0.01, 0, 1), field swept
/// along x from -1.5 H_K to +1.5 H_K over 20 ns (H_K = 2 Ku/(mu0 Ms)), damping 1. Along the (nearly) hard axis the
/// loop is m_x = H/H_K below saturation, which the demo checks.
/// </summary>
public sealed class StonerWohlfarthDemo : IDemo
{
    public string Name => "stoner-wohlfarth-hysteresis";
    public string Description => "hard-axis hysteresis loop of a uniaxial particle, checked against m_x = H/H_K";

    public int Run(DemoOptions options)
    {
        var outDir = options.OutputFor(Name);
        var state = new State(new Mesh(new[] { 2, 2, 2 }, new[] { 5e-9, 5e-9, 5e-9 }));
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["Ku"] = 1e5;
        state.Material["Ku_axis"] = new[] { 0.01, 0, 1 };
        state.Material["alpha"] = 1.0;
        state["m"] = new VectorFunction(state).Fill(new[] { -1.0, 0, 0 });
        double hk = 2 * 1e5 / (Constants.Mu0 * 8e5);
        new ExchangeField().Register(state, "exchange");
        new UniaxialAnisotropyField().Register(state, "aniso");
        var zero = state.Scalar(0);
        new ExternalField((NTensor t) => NTensor.Stack(0, (t - 10e-9) * (1.5 * hk / 10e-9), zero, zero)).Register(state, "external");
        new TotalField("exchange", "aniso", "external").Register(state);
        var llg = new LLGSolver(state);
        double dt = options.Quick ? 5e-10 : 2e-10;
        var h = new List<double>();
        var mx = new List<double>();
        while (state.T < 20e-9 - 1e-15)
        {
            llg.Step(dt);
            h.Add(state.Tensor("h_external")[0, 0, 0, 0].Item());
            mx.Add(state.M.Avg().ToArray()[0]);
        }
        File.WriteAllLines(Path.Combine(outDir, "loop.csv"), h.Zip(mx, (a, b) => $"{a:R},{b:R}").Prepend("h_x,m_x"));
        var plt = new ScottPlot.Plot();
        plt.Add.Scatter(h.Select(v => v / hk).ToArray(), mx.ToArray());
        plt.Title("Stoner-Wohlfarth particle, field along the hard axis");
        plt.XLabel("H_x / H_K");
        plt.YLabel("<m_x>");
        plt.SavePng(Path.Combine(outDir, "loop.png"), 800, 500);
        // Check m_x = H/H_K where the particle is not saturated and the field has had time to act (|H| < 0.8 H_K).
        double worst = 0;
        for (int i = 0; i < h.Count; i++)
            if (Math.Abs(h[i]) < 0.8 * hk) worst = Math.Max(worst, Math.Abs(mx[i] - h[i] / hk));
        bool ok = worst < 0.05 && mx[^1] > 0.99 && mx.All(double.IsFinite);
        Console.WriteLine($"{h.Count} field steps; max |m_x - H/H_K| for |H| < 0.8 H_K: {worst:F4}; final m_x {mx[^1]:F4}: {(ok ? "PASS" : "FAIL")}");
        Console.WriteLine($"wrote {outDir}/loop.csv and loop.png");
        return ok ? 0 : 1;
    }
}
