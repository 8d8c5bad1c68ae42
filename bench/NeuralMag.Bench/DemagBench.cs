using System.Numerics;
using NeuralMag.AD;
using NeuralMag.Kernels.Demag;

namespace NeuralMag.Bench;

/// <summary>
/// One demag field evaluation (nodal m: cell averaging, 3 r2c FFTs, the kernel product, 3 c2r FFTs, the projection
/// back to the nodes) against its floor on the CPU: the six real FFTs of the padded grid alone, with the same backend;
/// and the float32 field (single-precision FFTW) against the float64 one of the same grid.
/// </summary>
public sealed class DemagBench : IBenchSuite
{
    public string Name => "demag";

    public IEnumerable<BenchRow> Run(bool quick)
    {
        var sizes = quick ? new[] { new[] { 100, 25, 1 }, new[] { 64, 64, 8 } } : new[] { new[] { 100, 25, 1 }, new[] { 128, 128, 16 }, new[] { 256, 256, 64 } };
        foreach (var n in sizes)
        {
            Action? demag64 = null;
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
                long cells = n.Aggregate(1L, (a, b) => a * b);
                int reps = cells >= 1 << 20 ? 3 : 7;
                double demag = BenchTimer.Median(() => h.Invoke(m), reps, 0);
                var shape = n.Where(k => k > 1).Select(k => (int)BitOperations.RoundUpToPowerOf2((uint)(2 * k))).ToArray();
                var fft = RealFft3D.Create(shape);
                using var real = new NativeBuffer<double>(fft.RealLength);
                using var spec = new NativeBuffer<Complex>(fft.SpectrumLength);
                double ffts = BenchTimer.Median(() =>
                {
                    for (int i = 0; i < 3; i++) fft.Forward(real, spec);
                    for (int i = 0; i < 3; i++) fft.Inverse(spec, real);
                }, reps, 1);
                // Stored kernel (DemagKernel.Bytes): non-negative frequencies on every open transformed axis.
                double kernelMb = 6.0 * shape.Aggregate(1L, (a, k) => a * (k / 2 + 1)) * sizeof(double) / 1e6;
                double halfMb = 6.0 * fft.SpectrumLength * sizeof(double) / 1e6;
                yield return new BenchRow(
                    $"h_demag {string.Join("x", n)} {dtype.Name()} (grid {string.Join("x", shape)}, kernel {kernelMb:F1} MB stored vs {halfMb:F1} MB as half spectra, setup {setupSeconds:F2} s)",
                    demag, $"6 real FFTs ({fft.Backend})", ffts);
                if (dtype == DType.Float64) demag64 = () => h.Invoke(m);
                else
                {
                    // Timed in alternation with the float64 field of the same grid.
                    var (t32, t64) = PairedTimer.Median(() => h.Invoke(m), demag64!, reps, 1);
                    yield return new BenchRow($"h_demag {string.Join("x", n)} float32 vs float64 ({(FftwNative.SingleAvailable ? "libfftw3f" : "no libfftw3f: float64 transforms")})",
                        t32, "h_demag float64", t64);
                }
            }
        }
    }
}
