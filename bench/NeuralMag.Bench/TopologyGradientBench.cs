using NeuralMag.AD;

namespace NeuralMag.Bench;

/// <summary>
/// The topology-optimization objective of the demo (squared z stray field at a probe above a block whose density rho_m
/// is the design variable, through <c>state.Resolve("h_demag", ["rho_m"])</c>): one value-and-gradient evaluation on
/// the tape against the forward evaluation alone, timed alternately in the same run.
/// </summary>
public sealed class TopologyGradientBench : IBenchSuite
{
    public string Name => "topology gradient";

    public IEnumerable<BenchRow> Run(bool quick)
    {
        var sizes = quick ? new[] { new[] { 10, 10, 6 } } : new[] { new[] { 20, 20, 12 }, new[] { 64, 64, 16 } };
        foreach (var n in sizes)
            foreach (var dtype in new[] { DType.Float64, DType.Float32 })
            {
                int nx = n[0], nz = n[2], top = nz - 2;
                var state = new State(new Mesh(n, new[] { 5e-9, 5e-9, 5e-9 }), Device.Cpu, dtype);
                state.Material["Ms"] = 1.0;
                state["m"] = new VectorFunction(state).Fill(new[] { 0.0, 0, 1 });
                state["rho_m"] = new CellFunction(state, name: "rho_m").Fill(0.7);
                double eps = state.Eps;
                state["rho"] = new CellFunction(state, tensor: (NTensor rho_m) => rho_m.IndexPut(new Ix[] { .., .., top.. }, state.Scalar(eps)), name: "rho");
                new DemagField().Register(state, "demag");
                var demag = state.Resolve("h_demag", new[] { "rho_m" });
                int c = nx / 2;
                NTensor Loss(NTensor rho) => -demag.Invoke(rho.Pow(3))[c, c, nz, 2].Square();
                var valueAndGrad = Autodiff.ValueAndGrad(Loss);
                var rhoM = state.Tensor("rho_m");
                var (forward, gradient) = Interleaved(() => Loss(rhoM).Item(), () => valueAndGrad(rhoM).Item2.ToArray(), quick ? 3 : 15);
                yield return new BenchRow($"objective value and gradient {string.Join("x", n)} {dtype.Name()}", gradient, "objective alone", forward);
            }
    }

    /// <summary>
    /// Median wall times of <paramref name="baseline"/> and <paramref name="subject"/> measured alternately (after
    /// five warm-ups each, so that the JIT has tiered up the code of both paths), so that both see the same load of a
    /// shared machine.
    /// </summary>
    private static (double Baseline, double Subject) Interleaved(Action baseline, Action subject, int reps)
    {
        for (int i = 0; i < 5; i++)
        {
            baseline();
            subject();
        }
        var b = new double[reps];
        var s = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            b[i] = Time(baseline);
            s[i] = Time(subject);
        }
        Array.Sort(b);
        Array.Sort(s);
        return (b[reps / 2], s[reps / 2]);
    }

    private static double Time(Action action)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalSeconds;
    }
}
