using System.Numerics;
using NeuralMag.AD;
using NeuralMag.Kernels.Demag;

namespace NeuralMag.Bench;

/// <summary>One demag field evaluation against its floor on the CPU: the six FFTs of the padded grid alone.</summary>
public sealed class DemagBench : IBenchSuite
{
    public string Name => "demag";

    public IEnumerable<BenchRow> Run(bool quick)
    {
        var sizes = quick ? new[] { new[] { 100, 25, 1 }, new[] { 64, 64, 8 } } : new[] { new[] { 100, 25, 1 }, new[] { 128, 128, 16 }, new[] { 256, 256, 64 } };
        foreach (var n in sizes)
            foreach (var dtype in new[] { DType.Float64, DType.Float32 })
            {
                var state = new State(new Mesh(n, new[] { 5e-9, 5e-9, 3e-9 }), Device.Cpu, dtype);
                state.Material["Ms"] = 8e5;
                state["m"] = new VectorFunction(state).Fill(new[] { 0.6, 0.8, 0 });
                var setup = System.Diagnostics.Stopwatch.StartNew();
                new DemagField().Register(state, "demag");
                var h = state.Resolve("h_demag", new[] { "m" });
                var m = state.M.Tensor;
                h.Invoke(m);
                double setupSeconds = setup.Elapsed.TotalSeconds;
                int reps = n[0] >= 256 ? 1 : 3;
                double demag = BenchTimer.Median(() => h.Invoke(m), reps, 0);
                var shape = Enumerable.Range(0, 3).Select(i => n[i] == 1 ? 1 : (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(2 * n[i]))).ToArray();
                var axes = Enumerable.Range(0, 3).Where(i => n[i] > 1).ToArray();
                var buf = new Complex[shape[0] * shape[1] * shape[2]];
                double ffts = BenchTimer.Median(() =>
                {
                    for (int i = 0; i < 3; i++) Fft.Transform(buf, shape, axes, false);
                    for (int i = 0; i < 3; i++) Fft.Transform(buf, shape, axes, true);
                }, reps, 1);
                yield return new BenchRow($"h_demag {string.Join("x", n)} {dtype.Name()} (kernel setup {setupSeconds:F2} s)", demag, "6 FFTs of the padded grid", ffts);
            }
    }
}
