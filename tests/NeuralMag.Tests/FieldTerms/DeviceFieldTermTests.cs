using NeuralMag.AD;
using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag.Tests.FieldTerms;

using State = NeuralMag.State;

/// <summary>
/// Field terms on ILGPU devices (the element-operator kernel) against the CPU device. ILGPU's CPU accelerator runs the
/// GPU kernel code on every machine; CUDA and OpenCL run when such a device is present and are skipped otherwise.
/// </summary>
[TestClass]
public sealed class DeviceFieldTermTests
{
    private static Device Get(string name) => TestDevices.GetOrSkip(name);

    private static State NewState(Device device, DType dtype, int[] n, Pbc[] pbc)
    {
        var state = new State(new Mesh(n, new[] { 2e-9, 3e-9, 2.5e-9 }, pbc: pbc), device, dtype);
        var nodes = state.Mesh.NodeCounts;
        int nn = nodes.Aggregate(1, (a, b) => a * b), nc = n.Aggregate(1, (a, b) => a * b);
        var rng = new Random(4);
        var m = Enumerable.Range(0, nn * 3).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var raw = NTensor.FromArray(m, nodes.Append(3).ToArray(), dtype, device);
        state["m"] = new VectorFunction(state, raw / raw.Norm(-1).Unsqueeze(-1));
        state.Material["Ms"] = 8e5;
        state.Material["A"] = new CellFunction(state, tensor: NTensor.FromArray(Enumerable.Range(0, nc).Select(c => c % 2 == 0 ? 1.3e-11 : 1e-11).ToArray(), n, dtype, device));
        state.Material["Ku"] = 4e5;
        state.Material["Ku_axis"] = new[] { 0.6, 0, 0.8 };
        state.Material["Db"] = 3e-3;
        state.Material["Di"] = 2e-3;
        state.Material["Di_axis"] = new[] { 0, 0, 1.0 };
        state["rho"] = new CellFunction(state, tensor: NTensor.FromArray(Enumerable.Range(0, nc).Select(c => 0.5 + (c % 5) / 4.0).ToArray(), n, dtype, device));
        new ExchangeField().Register(state, "exchange");
        new UniaxialAnisotropyField().Register(state, "uaniso");
        new BulkDMIField().Register(state, "bdmi");
        new InterfaceDMIField().Register(state, "idmi");
        return state;
    }

    [TestMethod]
    [DataRow("ilgpu-cpu", "float64")]
    [DataRow("ilgpu-cpu", "float32")]
    [DataRow("cuda", "float64")]
    [DataRow("opencl", "float64")]
    public void FieldsOnTheDeviceMatchTheCpu(string deviceName, string dtypeName)
    {
        var device = Get(deviceName);
        var dtype = DTypeExtensions.Parse(dtypeName);
        double tol = dtype == DType.Float64 ? 1e-13 : 1e-5;
        foreach (var (n, pbc) in new (int[], Pbc[])[] { (new[] { 4, 3, 3 }, new Pbc[] { true, false, false }), (new[] { 5, 4 }, new Pbc[] { false, true }), (new[] { 6 }, new Pbc[] { true }) })
        {
            var gpu = NewState(device, dtype, n, pbc);
            var cpu = NewState(Device.Cpu, dtype, n, pbc);
            foreach (var term in new[] { "exchange", "uaniso", "bdmi", "idmi" })
            {
                var hg = gpu.Tensor("h_" + term);
                Assert.AreEqual(device, hg.Device, $"{term}: the field stays on the device");
                var a = hg.ToArray();
                var b = cpu.Tensor("h_" + term).ToArray();
                double scale = b.Max(Math.Abs);
                for (int i = 0; i < a.Length; i++) Assert.AreEqual(b[i], a[i], tol * scale, $"{term} {n.Length}D element {i}");
            }
        }
    }

    /// <summary>
    /// E of the element-operator terms on the device (½ m·(∇E(m) + ∇E(0)) + E₀, reduced there) against the CPU's cell
    /// by cell assembly: the same energy summed in another order.
    /// </summary>
    [TestMethod]
    [DataRow("ilgpu-cpu", "float64")]
    [DataRow("ilgpu-cpu", "float32")]
    [DataRow("cuda", "float64")]
    public void EnergiesOnTheDeviceMatchTheCpu(string deviceName, string dtypeName)
    {
        var device = Get(deviceName);
        var dtype = DTypeExtensions.Parse(dtypeName);
        double tol = dtype == DType.Float64 ? 1e-12 : 1e-5;
        foreach (var (n, pbc) in new (int[], Pbc[])[] { (new[] { 4, 3, 3 }, new Pbc[] { true, false, false }), (new[] { 5, 4 }, new Pbc[] { false, true }), (new[] { 6 }, new Pbc[] { true }) })
        {
            var gpu = NewState(device, dtype, n, pbc);
            var cpu = NewState(Device.Cpu, dtype, n, pbc);
            foreach (var term in new[] { "exchange", "uaniso", "bdmi", "idmi" })
            {
                var eg = gpu.Tensor("E_" + term);
                Assert.AreEqual(device, eg.Device, $"{term}: the energy stays on the device");
                Assert.AreEqual(0, eg.Rank, $"{term}: a scalar");
                double a = eg.Item(), b = cpu.Tensor("E_" + term).Item();
                Assert.AreNotEqual(0.0, b, $"{term}: a nonzero energy to compare");
                Console.WriteLine($"{term} {string.Join("x", n)} {dtypeName}: device {a:R}, cpu {b:R}, relative difference {Math.Abs(a - b) / Math.Abs(b):E2}");
                Assert.AreEqual(b, a, tol * Math.Abs(b), $"E_{term} {n.Length}D");
            }
        }
    }

    [TestMethod]
    public void AFloat32FieldRunsTheFloat32Kernel()
    {
        // The element-operator kernel is generic over the float type: a float32 state's field is computed in float32
        // on the device (tables rounded once), not in float64 and rounded.
        var device = Get("ilgpu-cpu");
        var state = NewState(device, DType.Float32, new[] { 4, 3, 3 }, new Pbc[] { false, false, false });
        var h = state.Tensor("h_exchange");
        Assert.AreEqual(DType.Float32, h.DType);
        var kernels = ((NeuralMag.Kernels.IlgpuBackend)device.Backend).CompiledKernels;
        Assert.IsTrue(kernels.Any(k => k.Name == "NodeKernel" && k.IsGenericMethod && k.GetGenericArguments()[0] == typeof(float)),
            "the float32 instantiation of the element-operator kernel was compiled: " + string.Join(", ", kernels.Where(k => k.Name == "NodeKernel").Select(k => k.ToString())));
    }

    [TestMethod]
    public void TheNodeGatherKernelEqualsTheCellScatterAssembly()
    {
        var device = Get("ilgpu-cpu");
        var geo = new GridGeometry(new[] { 4, 3, 2 }, new[] { false, true, true }, new[] { 2e-9, 3e-9, 2.5e-9 });
        var asm = new ElementAssembler(geo, 2);
        var rng = new Random(9);
        var a = Enumerable.Range(0, geo.NumCells).Select(c => c % 3 == 0 ? 1e-11 : 2e-11).ToArray();
        var op = QuadraticElementOperator.TryBuild(asm, new ExchangeField().Density, new[] { a })
                 ?? throw new AssertFailedException("exchange must have element operators");
        var rho = Enumerable.Range(0, geo.NumCells).Select(_ => 0.5 + rng.NextDouble()).ToArray();
        var m = Enumerable.Range(0, geo.NumNodes * 3).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var scale = Enumerable.Range(0, geo.NumNodes).Select(i => 1.0 + i).ToArray();
        using var kernel = new DeviceElementOperator(op, geo, rho, scale, device);
        var onDevice = kernel.Apply(NTensor.FromArray(m, new[] { geo.NumNodes, 3 }, DType.Float64, device)).ToArray();
        var host = asm.AssembleQuadratic(op, m, rho, gradient: true).DEdm!;
        double max = host.Max(Math.Abs);
        for (int i = 0; i < host.Length; i++) Assert.AreEqual(scale[i / 3] * host[i], onDevice[i], 1e-13 * max * scale[^1], $"element {i}");
    }
}
