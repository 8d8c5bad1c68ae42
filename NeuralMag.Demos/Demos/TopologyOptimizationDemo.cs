using System.Diagnostics;
using NeuralMag.AD;
using NeuralMag.IO;

namespace NeuralMag.Demos;

/// <summary>
/// Topology optimization of a magnet (the seed's inverse-design loop): the density rho_m of a 20 x 20 x 10 cell block
/// (Ms = 1 A/m, m along z; the 2 cell layers above are air) is optimized by projected gradient steps to maximize the
/// squared z stray field at a point above it. The demag field is made a plain function of rho_m by
/// <c>state.Resolve("h_demag", ["rho_m"])</c> and differentiated on the tape; rho_m^3 penalizes intermediate densities.
/// </summary>
public sealed class TopologyOptimizationDemo : IDemo
{
    public string Name => "topology-optimization";
    public string Description => "maximize a stray-field component by gradient steps on the material density";

    public int Run(DemoOptions options)
    {
        var outDir = options.OutputFor(Name);
        int nx = options.Quick ? 10 : 20, nz = options.Quick ? 6 : 12, magnetTop = nz - 2;
        int iterations = options.Quick ? 15 : 100;
        var state = new State(new Mesh(new[] { nx, nx, nz }, new[] { 5e-9, 5e-9, 5e-9 }));
        state.Material["Ms"] = 1.0;
        state["m"] = new VectorFunction(state).Fill(new[] { 0.0, 0, 1 });
        state["rho_m"] = new CellFunction(state, name: "rho_m").Fill(1.0);
        double eps = state.Eps;
        // Cells above the magnet are air whatever the design says.
        state["rho"] = new CellFunction(state, tensor: (NTensor rho_m) => rho_m.IndexPut(new Ix[] { .., .., magnetTop.. }, state.Scalar(eps)), name: "rho");
        new DemagField().Register(state, "demag");
        var demag = state.Resolve("h_demag", new[] { "rho_m" });
        int c = nx / 2;
        NTensor Loss(NTensor rho) => -demag.Invoke(rho.Pow(3))[c, c, nz, 2].Square();
        var valueAndGrad = Autodiff.ValueAndGrad(Loss);

        const double learningRate = 1e3;
        var objective = new List<double>();
        var sw = Stopwatch.StartNew();
        var rhoM = state.GetFunction("rho_m");
        for (int i = 0; i < iterations; i++)
        {
            var (value, grad) = valueAndGrad(rhoM.Tensor);
            objective.Add(value.Item());
            rhoM.Tensor = (rhoM.Tensor - grad * learningRate).Clamp(eps, 1.0);
            if (i % 10 == 0 || i == iterations - 1)
                Console.WriteLine($"  step {i,3}: objective -h_z^2 = {value.Item():E6} (A/m)^2  [{sw.Elapsed.TotalSeconds:F1} s]");
        }
        var final = rhoM.Tensor.ToArray();
        double filled = final.Count(v => v > 0.5) / (double)final.Length;
        Console.WriteLine($"final design: {filled:P1} of the cells have rho_m > 0.5; h_z at the probe went from {Math.Sqrt(-objective[0]):E4} to {Math.Sqrt(-objective[^1]):E4} A/m");

        File.WriteAllLines(Path.Combine(outDir, "objective.csv"), objective.Select((v, i) => $"{i},{v:R}").Prepend("step,objective"));
        Vti.Write(Path.Combine(outDir, "rho.vti"), new[] { nx, nx, nz }, state.Mesh.Dx, new double[3], new[] { ("rho_m", final, 1, false) });
        PlotObjective(Path.Combine(outDir, "objective.png"), objective);
        PlotDesign(Path.Combine(outDir, "design.png"), final, nx, nz, magnetTop);
        Console.WriteLine($"wrote {outDir}/objective.csv, objective.png, design.png, rho.vti");

        bool monotone = objective.Zip(objective.Skip(1), (a, b) => b <= a + 1e-12 * Math.Abs(a)).All(x => x);
        bool improved = objective[^1] < objective[0];
        Console.WriteLine($"objective decreases monotonically: {monotone}; improved: {improved}: {(monotone && improved ? "PASS" : "FAIL")}");
        return monotone && improved && objective.All(double.IsFinite) ? 0 : 1;
    }

    private static void PlotObjective(string path, List<double> objective)
    {
        var plt = new ScottPlot.Plot();
        plt.Add.Scatter(Enumerable.Range(0, objective.Count).Select(i => (double)i).ToArray(), objective.ToArray());
        plt.Title("Topology optimization: objective -h_z^2 at the probe");
        plt.XLabel("gradient step");
        plt.YLabel("-h_z^2 ((A/m)^2)");
        plt.SavePng(path, 800, 500);
    }

    /// <summary>The design as a heat map: density in the x-z plane through the probe.</summary>
    private static void PlotDesign(string path, double[] rho, int n, int nz, int magnetTop)
    {
        int j = n / 2;
        var map = new double[nz, n];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < nz; k++) map[nz - 1 - k, i] = k < magnetTop ? rho[(i * n + j) * nz + k] : 0;
        var plt = new ScottPlot.Plot();
        var hm = plt.Add.Heatmap(map);
        hm.Colormap = new ScottPlot.Colormaps.Viridis();
        plt.Add.ColorBar(hm);
        plt.Title("Final density rho_m, slice y = centre (top rows: air)");
        plt.SavePng(path, 800, 500);
    }
}
