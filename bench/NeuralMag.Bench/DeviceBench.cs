using NeuralMag.AD;
using NeuralMag.Kernels;

namespace NeuralMag.Bench;

/// <summary>
/// ILGPU's CPU accelerator against plain C#: the 7-point Laplacian (one <see cref="Laplacian7"/> body run through
/// <see cref="Launcher"/> on both paths) and elementwise tensor ops. The CPU accelerator simulates GPU thread groups
/// on host threads, so the ratio says how unsuitable it is as a compute device (it exists to test GPU code).
/// </summary>
public sealed class DeviceBench : IBenchSuite
{
    public string Name => "device";

    public IEnumerable<BenchRow> Run(bool quick)
    {
        int nx = quick ? 64 : 128, ny = quick ? 64 : 128, nz = quick ? 32 : 64;
        int n = nx * ny * nz;
        var gpu = DeviceRegistry.Get("ilgpu-cpu");
        var r = new Random(1);
        var u = new double[n];
        for (int i = 0; i < n; i++) u[i] = r.NextDouble();
        var body = new Laplacian7(nx, ny, nz, 1e-9, 1e-9, 1e-9);
        var uc = NTensor.FromArray(u, new[] { nx, ny, nz });
        var ug = uc.To(gpu);
        int[] shape = { nx, ny, nz };

        // Plain loop, sequential, no tensor machinery: the floor.
        var o = new double[n];
        double plain = BenchTimer.Median(() =>
        {
            var f = new HostField(u);
            var g = new HostField(o);
            for (int i = 0; i < n; i++) body.Execute(i, f, g);
        }, 5, 1);
        double launcherCpu = BenchTimer.Median(() => Launcher.Run(body, n, uc, shape), 5, 1);
        double launcherGpu = BenchTimer.Median(() => Launcher.Run(body, n, ug, shape).ToArray(), quick ? 1 : 3, 1);
        string size = $"{nx}x{ny}x{nz} f64";
        yield return new BenchRow($"laplacian7 {size}, Launcher on cpu", launcherCpu, "plain C# loop (1 thread)", plain);
        yield return new BenchRow($"laplacian7 {size}, Launcher on ilgpu-cpu", launcherGpu, "plain C# loop (1 thread)", plain);

        var a = NTensor.FromArray(u, new[] { n });
        var b = a.To(gpu);
        foreach (var (name, f) in new (string, Func<NTensor, NTensor>)[]
                 {
                     ("a + a", t => t + t), ("exp(a)", t => t.Exp()), ("sum(a)", t => t.Sum()),
                 })
        {
            double tc = BenchTimer.Median(() => f(a), 5, 1);
            double tg = BenchTimer.Median(() => f(b).Item0(), quick ? 1 : 3, 1);
            yield return new BenchRow($"{name}, {n} f64 on ilgpu-cpu", tg, "cpu device", tc);
        }
    }
}

internal static class DeviceBenchExtensions
{
    /// <summary>Forces completion of queued kernels by reading one element back.</summary>
    public static double Item0(this NTensor t) => t.Reshape(t.Size)[0].Item();
}
