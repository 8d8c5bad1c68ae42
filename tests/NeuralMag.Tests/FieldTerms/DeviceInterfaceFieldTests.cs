using NeuralMag.AD;
using NeuralMag.Kernels;

namespace NeuralMag.Tests.FieldTerms;

using State = NeuralMag.State;

/// <summary>
/// Interface terms on an ILGPU device (DeviceInterfaceOperator: the density's Q, c per face, one thread per node of the
/// two layers) against the CPU's interface assembler: interlayer exchange with per-face couplings and densities and
/// per-cell Ms and rho (open and periodic in x), a one-layer surface anisotropy; h, E and their gradients in m, and
/// no field-sized copy per evaluation after the first.
/// </summary>
[TestClass]
public sealed class DeviceInterfaceFieldTests
{
    private static readonly Lazy<Device> Own = new(() => Devices.Create(TestDevices.TestKind));

    /// <summary>−Ks m_z² on one node layer (e per area, J/m²).</summary>
    private sealed class SurfaceAnisotropy(int layer) : InterfaceFieldTerm(layer, layer)
    {
        public override string DefaultName => "sanis";
        public override NeuralMag.Kernels.FieldTerms.InterfaceEnergyDensity Density { get; } = new D();

        private sealed class D : NeuralMag.Kernels.FieldTerms.InterfaceEnergyDensity
        {
            public override IReadOnlyList<string> Parameters { get; } = new[] { "material__Ks" };
            public override NeuralMag.Kernels.FieldTerms.Dual Evaluate(in NeuralMag.Kernels.FieldTerms.InterfacePoint p) => -1.0 * p.Param(0, 0) * p.M1.Z * p.M2.Z;
        }
    }

    /// <summary>A quartic "interface" density: not allowed (the device operator refuses it by name).</summary>
    private sealed class Quartic() : InterfaceFieldTerm(0, 1)
    {
        public override string DefaultName => "quartic";
        public override NeuralMag.Kernels.FieldTerms.InterfaceEnergyDensity Density { get; } = new D();

        private sealed class D : NeuralMag.Kernels.FieldTerms.InterfaceEnergyDensity
        {
            public override IReadOnlyList<string> Parameters { get; } = Array.Empty<string>();
            public override NeuralMag.Kernels.FieldTerms.Dual Evaluate(in NeuralMag.Kernels.FieldTerms.InterfacePoint p)
            {
                var d = NeuralMag.Kernels.FieldTerms.Vec3.Dot(p.M1, p.M2);
                return 1e-3 * d * d;
            }
        }
    }

    private static State NewState(Device device, DType dtype, bool periodicX)
    {
        var n = new[] { 3, 2, 4 };
        var state = new State(new Mesh(n, new[] { 1e-9, 2e-9, 1.5e-9 }, pbc: new Pbc[] { periodicX, false, false }), device, dtype);
        var nodes = state.Mesh.NodeCounts;
        int nn = nodes.Aggregate(1, (a, b) => a * b), faces = n[0] * n[1] * nodes[2], nc = 24;
        var rng = new Random(11);
        NTensor T(IEnumerable<double> v, int[] shape) => NTensor.FromArray(v.ToArray(), shape, dtype, device);
        var raw = T(Enumerable.Range(0, nn * 3).Select(_ => rng.NextDouble() - 0.5), nodes.Append(3).ToArray());
        state["m"] = new VectorFunction(state, raw / raw.Norm(-1).Unsqueeze(-1));
        state.Material["Ms"] = new CellFunction(state, tensor: T(Enumerable.Range(0, nc).Select(_ => 5e5 + 5e5 * rng.NextDouble()), n));
        var faceShape = new[] { n[0], n[1], nodes[2] };
        state.Material["iA"] = new Function(state, "ccn", tensor: T(Enumerable.Range(0, faces).Select(_ => 1e-3 * (rng.NextDouble() - 0.3)), faceShape));
        state.Material["Ks"] = new Function(state, "ccn", tensor: T(Enumerable.Range(0, faces).Select(_ => 1e-3 * (0.5 + rng.NextDouble())), faceShape));
        state["rho"] = new CellFunction(state, tensor: T(Enumerable.Range(0, nc).Select(_ => 0.5 + rng.NextDouble()), n));
        state["rhoxy"] = new Function(state, "ccn", tensor: T(Enumerable.Range(0, faces).Select(_ => 0.5 + rng.NextDouble()), faceShape));
        new InterlayerExchangeField(1, 3).Register(state);
        new SurfaceAnisotropy(2).Register(state);
        return state;
    }

    private static void Close(double[] expected, double[] actual, double tol, string what)
    {
        double scale = expected.Max(Math.Abs);
        Assert.IsTrue(scale > 0, what);
        for (int i = 0; i < actual.Length; i++) Assert.AreEqual(expected[i], actual[i], tol * scale, $"{what}, element {i}");
    }

    [TestMethod]
    [DataRow("float64", false)]
    [DataRow("float64", true)]
    [DataRow("float32", false)]
    public void FieldsEnergiesAndGradientsOnTheDeviceMatchTheCpu(string dtypeName, bool periodicX)
    {
        var device = Own.Value;
        var dtype = DTypeExtensions.Parse(dtypeName);
        double tol = dtype == DType.Float64 ? 1e-12 : 1e-5;
        var gpu = NewState(device, dtype, periodicX);
        var cpu = NewState(Device.Cpu, dtype, periodicX);
        foreach (var term in new[] { "iexchange", "sanis" })
        {
            var h = gpu.Tensor("h_" + term);
            Assert.AreEqual(device, h.Device, $"h_{term} stays on the device");
            Close(cpu.Tensor("h_" + term).ToArray(), h.ToArray(), tol, $"h_{term}");
            var e = gpu.Tensor("E_" + term);
            Assert.AreEqual(device, e.Device, $"E_{term} stays on the device");
            double eCpu = cpu.Tensor("E_" + term).Item();
            Assert.AreEqual(eCpu, e.Item(), tol * Math.Abs(eCpu), $"E_{term}");
            // Gradients in m of w·h and of E through Resolve and the tape.
            var fg = gpu.Resolve("h_" + term, new[] { "m" });
            var fc = cpu.Resolve("h_" + term, new[] { "m" });
            var eg = gpu.Resolve("E_" + term, new[] { "m" });
            var ec = cpu.Resolve("E_" + term, new[] { "m" });
            var mg = gpu.M.Tensor;
            var mc = cpu.M.Tensor;
            var w = Enumerable.Range(0, mg.Size).Select(i => Math.Sin(0.7 * i)).ToArray();
            var wg = gpu.Tensor(w, mg.GetShape());
            var wc = cpu.Tensor(w, mc.GetShape());
            var gField = Autodiff.Grad(v => (fg.Invoke(v) * wg).Sum())(mg);
            Assert.AreEqual(device, gField.Device);
            Close(Autodiff.Grad(v => (fc.Invoke(v) * wc).Sum())(mc).ToArray(), gField.ToArray(), tol, $"d(w·h_{term})/dm");
            Close(Autodiff.Grad(v => ec.Invoke(v))(mc).ToArray(), Autodiff.Grad(v => eg.Invoke(v))(mg).ToArray(), tol, $"dE_{term}/dm");
        }
    }

    [TestMethod]
    public void AfterTheFirstEvaluationNoFieldIsCopied()
    {
        var device = Own.Value;
        var state = NewState(device, DType.Float64, periodicX: false);
        var counters = Devices.Transfers(device);
        var h = state.Resolve("h_iexchange", new[] { "m" });
        var e = state.Resolve("E_iexchange", new[] { "m" });
        var shape = state.Mesh.NodeCounts.Append(3).ToArray();
        for (int k = 0; k < 3; k++)
        {
            var m = state.Tensor(Enumerable.Range(0, state.Mesh.NumNodes * 3).Select(i => Math.Cos(0.4 * i + k)).ToArray(), shape);
            var before = counters.Snapshot();
            var field = h.Invoke(m);
            var energy = e.Invoke(m);
            var copies = counters.Snapshot() - before;
            Assert.AreEqual(device, field.Device);
            Assert.AreEqual(device, energy.Device);
            if (k > 0) Assert.AreEqual(0L, copies.FieldSized, $"evaluation {k}: {copies}");
        }
        var builds = state.PreparedBuilds;
        Assert.AreEqual(1L, builds.GetValueOrDefault("InterlayerExchangeField.device"), string.Join(", ", builds));
        Assert.AreEqual(1L, builds.GetValueOrDefault("InterlayerExchangeField.device-gradient"), string.Join(", ", builds));
    }

    [TestMethod]
    public void ANonQuadraticDensityIsRefusedOnTheDeviceByName()
    {
        var device = Own.Value;
        var state = new State(new Mesh(new[] { 2, 2, 2 }, new[] { 1e-9, 1e-9, 1e-9 }), device, DType.Float64);
        state["m"] = new VectorFunction(state).Fill(new[] { 0.6, 0, 0.8 });
        state.Material["Ms"] = 8e5;
        new Quartic().Register(state);
        var e = Assert.ThrowsExactly<ArgumentException>(() => state.Tensor("h_quartic"));
        StringAssert.Contains(e.Message, "not quadratic");
    }
}
