using System.Numerics;
using NeuralMag.Kernels.Demag;

namespace NeuralMag.Bench;

/// <summary>
/// FFT candidates on the padded demag grids: one forward + one inverse transform of a real field, against the previous
/// implementation (MathNet complex FFTs on the full grid) in the same run.
/// </summary>
public sealed class FftBench : IBenchSuite
{
    public string Name => "fft";

    public IEnumerable<BenchRow> Run(bool quick)
    {
        // sp4 (100 x 25 x 1 cells), 128 x 128 x 16 cells, 256 x 256 x 64 cells.
        var shapes = quick ? new[] { new[] { 256, 64 }, new[] { 128, 128, 16 } } : new[] { new[] { 256, 64 }, new[] { 256, 256, 32 }, new[] { 512, 512, 128 } };
        foreach (var shape in shapes)
        {
            long size = shape.Aggregate(1L, (a, n) => a * n);
            int reps = size >= 1 << 24 ? 3 : 7;
            var label = string.Join("x", shape);
            var shape3 = Enumerable.Repeat(1, 3 - shape.Length).Concat(shape).ToArray();
            var axes = Enumerable.Range(3 - shape.Length, shape.Length).ToArray();
            double baseline;
            {
                var full = new Complex[size];
                baseline = BenchTimer.Median(() =>
                {
                    Fft.Transform(full, shape3, axes, false);
                    Fft.Transform(full, shape3, axes, true);
                }, reps, 1);
            }
            GC.Collect();
            const string baseName = "MathNet complex (before)";
            yield return new BenchRow($"FFT {label}: MathNet complex, full grid", baseline, baseName, baseline);
            var candidates = new List<(string Name, Func<RealFft3D> Make)>
            {
                ("managed r2c (MathNet lines)", () => RealFft3D.Create(shape, FftBackend.Managed)),
            };
            if (FftwNative.Available)
            {
                candidates.Add(("FFTW r2c ESTIMATE 1 thread", () => FftwRealFft3D.Get(shape, FftwNative.Estimate, 1)));
                candidates.Add(("FFTW r2c MEASURE 1 thread", () => FftwRealFft3D.Get(shape, FftwNative.Measure, 1)));
                if (FftwNative.HasThreads && Environment.ProcessorCount > 1)
                    candidates.Add(($"FFTW r2c MEASURE {Environment.ProcessorCount} threads", () => FftwRealFft3D.Get(shape, FftwNative.Measure, Environment.ProcessorCount)));
            }
            foreach (var (name, make) in candidates)
            {
                var fft = make();
                string plan = fft is FftwRealFft3D f ? $", plan {f.PlanSeconds:F2} s" : "";
                using var real = new NativeBuffer<double>(fft.RealLength);
                using var spec = new NativeBuffer<Complex>(fft.SpectrumLength);
                double t = BenchTimer.Median(() =>
                {
                    fft.Forward(real, spec);
                    fft.Inverse(spec, real);
                }, reps, 1);
                yield return new BenchRow($"FFT {label}: {name}{plan}", t, baseName, baseline);
            }
            if (!FftwNative.Available) Console.Error.WriteLine($"fft bench: FFTW rows skipped ({FftwNative.LoadError})");
        }
    }
}
