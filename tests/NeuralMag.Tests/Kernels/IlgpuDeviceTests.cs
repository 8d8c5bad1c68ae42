using NeuralMag.AD;
using NeuralMag.Kernels;

namespace NeuralMag.Tests.Kernels;

/// <summary>
/// The ILGPU backend, run on ILGPU's CPU accelerator (the GPU kernels' code on the host), against the CPU device.
/// One accelerator is shared by all tests (kernels compile once per process); shapes are tiny.
/// </summary>
[TestClass]
public sealed class IlgpuDeviceTests
{
    private static readonly Lazy<Device> Shared = new(() => DeviceRegistry.Get("ilgpu-cpu"));
    private static Device Gpu => Shared.Value;

    private static double[] Random(int n, int seed, double lo = 0.2, double hi = 2.0)
    {
        var r = new System.Random(seed);
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = lo + (hi - lo) * r.NextDouble();
        return a;
    }

    /// <summary>Every public tensor operation as (name, f(x, y, v)): x (2,3,3), y (3,), v (4,3) with vectors.</summary>
    private static readonly (string Name, Func<NTensor, NTensor, NTensor, NTensor> F)[] Ops =
    {
        ("add", (x, y, v) => x + y), ("sub", (x, y, v) => x - y), ("mul", (x, y, v) => x * y), ("div", (x, y, v) => x / y),
        ("addScalar", (x, y, v) => x + 1.5), ("rsub", (x, y, v) => 2.0 - x), ("mulScalar", (x, y, v) => x * 3.0),
        ("rdiv", (x, y, v) => 2.0 / x), ("neg", (x, y, v) => -x),
        ("powScalar", (x, y, v) => x.Pow(2.5)), ("powTensor", (x, y, v) => NTensor.Pow(x, y)),
        ("square", (x, y, v) => x.Square()), ("sqrt", (x, y, v) => x.Sqrt()), ("exp", (x, y, v) => x.Exp()),
        ("log", (x, y, v) => x.Log()), ("sin", (x, y, v) => x.Sin()), ("cos", (x, y, v) => x.Cos()),
        ("tan", (x, y, v) => x.Tan()), ("tanh", (x, y, v) => x.Tanh()), ("abs", (x, y, v) => (x - 1).Abs()),
        ("sign", (x, y, v) => (x - 1).Sign()), ("reciprocal", (x, y, v) => x.Reciprocal()),
        ("clamp", (x, y, v) => x.Clamp(0.5, 1.5)), ("maximumScalar", (x, y, v) => x.Maximum(1.0)),
        ("minimumScalar", (x, y, v) => x.Minimum(1.0)), ("maximum", (x, y, v) => NTensor.Maximum(x, y)),
        ("minimum", (x, y, v) => NTensor.Minimum(x, y)), ("where", (x, y, v) => NTensor.Where(x.Gt(y), x, y)),
        ("whereScalar", (x, y, v) => NTensor.Where(x.Lt(1.0), x, 0.0)),
        ("gt", (x, y, v) => x.Gt(y)), ("ge", (x, y, v) => x.Ge(y)), ("lt", (x, y, v) => x.Lt(y)),
        ("le", (x, y, v) => x.Le(y)), ("eq", (x, y, v) => x.Eq(x.Slice(0, 0, 1))),
        ("sumAll", (x, y, v) => x.Sum()), ("sumAxis0", (x, y, v) => x.Sum(0)), ("sumAxis1Keep", (x, y, v) => x.Sum(1, true)),
        ("sumAxis2", (x, y, v) => x.Sum(2)), ("mean", (x, y, v) => x.Mean()), ("meanAxis", (x, y, v) => x.Mean(1)),
        ("max", (x, y, v) => x.Max()), ("min", (x, y, v) => x.Min()), ("maxAxis", (x, y, v) => x.Max(2)),
        ("minAxis", (x, y, v) => x.Min(0)), ("dot", (x, y, v) => NTensor.Dot(v, v.Slice(0, 0, 1))),
        ("cross", (x, y, v) => NTensor.Cross(v, v.Slice(0, 0, 1))), ("norm", (x, y, v) => v.Norm()),
        ("normAxis", (x, y, v) => v.Norm(1)), ("reshape", (x, y, v) => x.Reshape(3, 6) * 2),
        ("unsqueezeSqueeze", (x, y, v) => x.Unsqueeze(1).Squeeze(1) + 0.0), ("expand", (x, y, v) => y.Expand(2, 3, 3)),
        ("sumToShape", (x, y, v) => x.SumToShape(new[] { 3 })), ("permute", (x, y, v) => x.Permute(2, 0, 1)),
        ("index", (x, y, v) => x[1, .., 0..2]), ("indexStep", (x, y, v) => x[.., Ix.Slice(0, 3, 2), 1]),
        ("slice", (x, y, v) => x.Slice(2, 1, 3)), ("indexPut", (x, y, v) => x.IndexPut(new Ix[] { 0, .., 1 }, y)),
        ("concat", (x, y, v) => NTensor.Concat(1, x, x)), ("stack", (x, y, v) => NTensor.Stack(0, y, y * 2)),
        ("castRoundTrip", (x, y, v) => x.Cast(x.DType == DType.Float64 ? DType.Float32 : DType.Float64).Cast(x.DType)),
    };

    private static void CompareAll(DType dtype)
    {
        var xs = Random(18, 1);
        var ys = Random(3, 2);
        var vs = Random(12, 3, -1, 1);
        var failures = new List<string>();
        foreach (var (name, f) in Ops)
        {
            var want = f(NTensor.FromArray(xs, new[] { 2, 3, 3 }, dtype), NTensor.FromArray(ys, null, dtype), NTensor.FromArray(vs, new[] { 4, 3 }, dtype));
            var got = f(NTensor.FromArray(xs, new[] { 2, 3, 3 }, dtype, Gpu), NTensor.FromArray(ys, null, dtype, Gpu), NTensor.FromArray(vs, new[] { 4, 3 }, dtype, Gpu));
            Assert.AreEqual(Gpu, got.Device, name);
            Assert.AreEqual(dtype, got.DType, name);
            CollectionAssert.AreEqual(want.GetShape(), got.GetShape(), name);
            double[] w = want.ToArray(), g = got.ToArray();
            for (int i = 0; i < w.Length; i++)
                if (!(w[i] == g[i] || Math.Abs(w[i] - g[i]) <= 1e-15 * Math.Abs(w[i])))
                {
                    failures.Add($"{name}[{i}]: cpu {w[i]:R}, ilgpu {g[i]:R}");
                    break;
                }
        }
        Assert.IsEmpty(failures, string.Join("\n", failures));
    }

    [TestMethod]
    public void EveryOperationMatchesCpuFloat64() => CompareAll(DType.Float64);

    [TestMethod]
    public void EveryOperationMatchesCpuFloat32() => CompareAll(DType.Float32);

    [TestMethod]
    public void CreationAndTransfer()
    {
        foreach (var dt in new[] { DType.Float64, DType.Float32 })
        {
            CollectionAssert.AreEqual(NTensor.Full(new[] { 2, 2 }, 0.1, dt).ToArray(), NTensor.Full(new[] { 2, 2 }, 0.1, dt, Gpu).ToArray());
            CollectionAssert.AreEqual(NTensor.Linspace(0, 1, 7, dt).ToArray(), NTensor.Linspace(0, 1, 7, dt, Gpu).ToArray());
            var host = NTensor.FromArray(Random(6, 4), new[] { 2, 3 }, dt);
            var back = host.To(Gpu).To(Device.Cpu);
            CollectionAssert.AreEqual(host.ToArray(), back.ToArray());
            Assert.AreEqual(0, NTensor.Zeros(new[] { 0, 3 }, dt, Gpu).Sum().Item());
        }
    }

    [TestMethod]
    public void GradientMatchesCpu()
    {
        var m = Random(24, 5, -1, 1);
        var b = Random(3, 6);
        NTensor F(NTensor x)
        {
            var h = NTensor.FromArray(b, null, x.DType, x.Device);
            var c = NTensor.Cross(x, h);
            return (c.Square().Sum(1) / (x.Norm(1) + 1)).Sum() + (x[.., 0..2] * x[1..3, 1..3].Sum()).Exp().Mean()
                + NTensor.Where(x.Gt(0.0), x, x * 0.1).Max();
        }
        var gc = Autodiff.Grad(F)(NTensor.FromArray(m, new[] { 8, 3 }));
        var gg = Autodiff.Grad(F)(NTensor.FromArray(m, new[] { 8, 3 }, DType.Float64, Gpu));
        Assert.AreEqual(Gpu, gg.Device);
        double[] w = gc.ToArray(), g = gg.ToArray();
        for (int i = 0; i < w.Length; i++) Assert.AreEqual(w[i], g[i], 1e-15 * Math.Max(1, Math.Abs(w[i])), $"grad[{i}]");
    }

    [TestMethod]
    public void LaplacianStencilSameOnBothPaths()
    {
        int nx = 4, ny = 3, nz = 5;
        var u = Random(nx * ny * nz, 7);
        var body = new Laplacian7(nx, ny, nz, 2e-9, 3e-9, 1e-9);
        var onCpu = Launcher.Run(body, u.Length, NTensor.FromArray(u, new[] { nx, ny, nz }), new[] { nx, ny, nz }).ToArray();
        var onGpu = Launcher.Run(body, u.Length, NTensor.FromArray(u, new[] { nx, ny, nz }, DType.Float64, Gpu), new[] { nx, ny, nz });
        Assert.AreEqual(Gpu, onGpu.Device);
        CollectionAssert.AreEqual(onCpu, onGpu.ToArray());
        // Independent check at an interior node and a corner with the mirror boundary.
        int I(int i, int j, int k) => (i * ny + j) * nz + k;
        double dx2 = 4e-18, dy2 = 9e-18, dz2 = 1e-18;
        double Lap(int i, int j, int k)
        {
            double c = u[I(i, j, k)];
            double Nb(int a, int bb, int cc) => a < 0 || a >= nx || bb < 0 || bb >= ny || cc < 0 || cc >= nz ? c : u[I(a, bb, cc)];
            return (Nb(i - 1, j, k) - 2 * c + Nb(i + 1, j, k)) / dx2 + (Nb(i, j - 1, k) - 2 * c + Nb(i, j + 1, k)) / dy2
                + (Nb(i, j, k - 1) - 2 * c + Nb(i, j, k + 1)) / dz2;
        }
        foreach (var (i, j, k) in new[] { (1, 1, 2), (0, 0, 0), (3, 2, 4) })
            Assert.AreEqual(Lap(i, j, k), onCpu[I(i, j, k)], 1e-12 * Math.Abs(Lap(i, j, k)));
    }

    [TestMethod]
    public void DisposeReleasesDeviceMemory()
    {
        var t = NTensor.Ones(new[] { 4 }, DType.Float64, Gpu);
        var s = (IlgpuStorage)t.Storage;
        s.Dispose();
        s.Dispose(); // idempotent
        Assert.IsTrue(s.IsDisposed);
        Assert.ThrowsExactly<ObjectDisposedException>(() => t.ToArray());
    }

    // A device of this test's own: tests running beside it on the shared device allocate, and every allocation
    // first releases the queued buffers, which would empty the queue before it is counted.
    private static readonly Lazy<Device> ForRelease = new(() => Devices.Create(DeviceKind.IlgpuCpu));

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference DropTensor() => new(NTensor.Ones(new[] { 5 }, DType.Float32, ForRelease.Value).Storage);

    [TestMethod]
    public void CollectedStorageQueuesItsBufferForRelease()
    {
        var backend = (IlgpuBackend)ForRelease.Value.Backend;
        backend.ReleasePending();
        var w = DropTensor();
        for (int k = 0; k < 3 && w.IsAlive; k++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.IsFalse(w.IsAlive, "the storage should have been collected");
        Assert.IsGreaterThanOrEqualTo(1, backend.PendingRelease.Count);
        backend.ReleasePending();
        Assert.AreEqual(0, backend.PendingRelease.Count);
    }

    [TestMethod]
    public void MissingCudaNamesTheDevice()
    {
        if (Context().GetCudaDevicesCount() > 0) Assert.Inconclusive("A CUDA device is present on this machine.");
        var e = Assert.ThrowsExactly<NotSupportedException>(() => DeviceRegistry.Get("cuda"));
        StringAssert.Contains(e.Message, "NM_DEVICE=cuda");
        StringAssert.Contains(e.Message, "no CUDA device");
        StringAssert.Contains(e.Message, "NM_DEVICE=cpu");
    }

    [TestMethod]
    public void MissingOpenClNamesTheDevice()
    {
        if (Context().GetCLDevicesCount() > 0) Assert.Inconclusive("An OpenCL device is present on this machine.");
        var e = Assert.ThrowsExactly<NotSupportedException>(() => DeviceRegistry.Get("opencl"));
        StringAssert.Contains(e.Message, "NM_DEVICE=opencl");
        StringAssert.Contains(e.Message, "no OpenCL device");
    }

    [TestMethod]
    public void RegistryKnowsIlgpuDevices()
    {
        Devices.Register();
        Devices.Register();
        Assert.AreEqual(DeviceKind.IlgpuCpu, Gpu.Kind);
        Assert.AreSame(Gpu, DeviceRegistry.Get("ilgpu-cpu"));
        var e = Assert.ThrowsExactly<NotSupportedException>(() => DeviceRegistry.Get("tpu"));
        StringAssert.Contains(e.Message, "tpu");
    }

    private static DeviceCounts Context() => new(Devices.Context);

    private readonly record struct DeviceCounts(ILGPU.Context Ctx)
    {
        public int GetCudaDevicesCount() => ILGPU.Runtime.Cuda.CudaContextExtensions.GetCudaDevices(Ctx).Count;
        public int GetCLDevicesCount() => ILGPU.Runtime.OpenCL.CLContextExtensions.GetCLDevices(Ctx).Count;
    }
}
