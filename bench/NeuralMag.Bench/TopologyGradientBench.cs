using NeuralMag.AD;

namespace NeuralMag.Bench;

/// <summary>
/// The topology-optimization objective of the demo (squared z stray field at a probe above a block whose density rho_m
/// is the design variable, through <c>state.Resolve("h_demag", ["rho_m"])</c>): one value-and-gradient evaluation on
/// the tape against the forward evaluation alone, timed in the same run.
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
                int reps = quick ? 3 : 5;
                double forward = BenchTimer.Median(() => Loss(rhoM).Item(), reps, 1);
                double gradient = BenchTimer.Median(() => valueAndGrad(rhoM).Item2.ToArray(), reps, 1);
                yield return new BenchRow($"objective value and gradient {string.Join("x", n)} {dtype.Name()}", gradient, "objective alone", forward);
            }
    }
}
