using NeuralMag.AD;
using NeuralMag.Kernels;

namespace NeuralMag.Tests.Kernels;

using State = NeuralMag.State;

/// <summary>
/// What stays on an ILGPU device during an LLG solve (ilgpu-cpu, exchange + demag + Zeeman + uniaxial anisotropy):
/// the prepared operators (demag weights and device convolution, the element operators of exchange and anisotropy)
/// are built once per State configuration, an assignment of Ms or rho rebuilds them once and gives the field of the
/// new configuration, and the host/device copy counters see no field-sized copy per step after the first.
/// </summary>
[TestClass]
public sealed class DeviceResidencyTests
{
    private static readonly int[] Cells = { 4, 4, 1 };

    // An accelerator of its own, so that the copies counted are this class's alone while other classes run in parallel.
    private static readonly Lazy<Device> Own = new(() => Devices.Create(TestDevices.TestKind));

    private static State NewState(Device device)
    {
        var state = new State(new Mesh(Cells, new[] { 3e-9, 3e-9, 2e-9 }), device, DType.Float64);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["Ku"] = 5e4;
        state.Material["Ku_axis"] = new[] { 0.0, 0.6, 0.8 };
        state.Material["alpha"] = 0.5;
        var m = new VectorFunction(state).Fill(new[] { 1.0, 0.3, 0.2 });
        state["m"] = new VectorFunction(state, m.Tensor / m.Tensor.Norm(-1).Unsqueeze(-1));
        new ExchangeField().Register(state, "exchange");
        new DemagField().Register(state, "demag");
        new ExternalField(new[] { -2e4, 5e3, 1e3 }).Register(state, "external");
        new UniaxialAnisotropyField().Register(state, "uaniso");
        new TotalField("exchange", "demag", "external", "uaniso").Register(state);
        return state;
    }

    /// <summary>Counts the accepted steps and the copies of each one (reported synchronously on the solver's thread).</summary>
    private sealed class PerStep : IProgress<SolverProgress>
    {
        private readonly TransferCounters _counters;
        private TransferSnapshot _last;
        public readonly List<TransferSnapshot> Steps = new();

        public PerStep(TransferCounters counters)
        {
            _counters = counters;
            _last = counters.Snapshot();
        }

        public void Report(SolverProgress value)
        {
            var now = _counters.Snapshot();
            Steps.Add(now - _last);
            _last = now;
        }
    }

    private static IReadOnlyDictionary<string, long> Builds(State state) => new Dictionary<string, long>(state.PreparedBuilds);

    private static string Format(IReadOnlyDictionary<string, long> builds) => string.Join(", ", builds.OrderBy(b => b.Key).Select(b => $"{b.Key}={b.Value}"));

    /// <summary>Solves over <paramref name="steps"/> output times 20 fs apart; the copies of each accepted step.</summary>
    private static (List<TransferSnapshot> Steps, IReadOnlyDictionary<string, long> Builds) Solve(Device device, int steps, FixedStepMethod? method)
    {
        var state = NewState(device);
        var counters = Devices.Transfers(device);
        var progress = new PerStep(counters);
        var solver = method is { } fixedMethod ? new LLGSolver(state, fixedStepMethod: fixedMethod, fixedStep: 2e-14) : new LLGSolver(state);
        solver.Progress = progress;
        var before = counters.Snapshot();
        solver.Solve(Enumerable.Range(1, steps).Select(i => i * 2e-14).ToArray());
        var total = counters.Snapshot() - before;
        var builds = Builds(state);
        Console.WriteLine($"{method?.ToString() ?? "Dormand-Prince"}: {progress.Steps.Count} steps, {solver.Evaluations} field evaluations; all copies: {total}");
        for (int i = 0; i < Math.Min(progress.Steps.Count, 3); i++) Console.WriteLine($"step {i}: {progress.Steps[i]}");
        Console.WriteLine($"builds: {Format(builds)}");
        Assert.IsTrue(progress.Steps.Count >= steps, $"expected at least {steps} accepted steps, got {progress.Steps.Count}");
        // Steps after the first: only scalars cross (the error norm, the time), no field-sized copy in either direction.
        for (int i = 1; i < progress.Steps.Count; i++)
            Assert.AreEqual(0L, progress.Steps[i].FieldSized, $"step {i}: {progress.Steps[i]}");
        return (progress.Steps, builds);
    }

    private static readonly string[] PreparedOperators =
        { "demag.weights", "demag.device", "ExchangeField.operator", "ExchangeField.device", "UniaxialAnisotropyField.operator", "UniaxialAnisotropyField.device" };

    [TestMethod]
    public void OneHundredStepsBuildEachPreparedOperatorOnceAndCopyNoField()
    {
        // Euler: one field evaluation per step, so 100 steps stay quick on the simulated GPU threads of ilgpu-cpu.
        var (_, builds) = Solve(Own.Value, 100, FixedStepMethod.Euler);
        foreach (var name in PreparedOperators)
            Assert.AreEqual(1L, builds.GetValueOrDefault(name), $"{name} built once over the solve ({Format(builds)})");
    }

    [TestMethod]
    public void AdaptiveStepsKeepTheStepControlOnTheDevice()
    {
        // Dormand–Prince: the stage sums, the error estimate and its RMS norm (a device reduction read as one scalar).
        var (steps, builds) = Solve(Own.Value, 15, null);
        foreach (var name in PreparedOperators)
            Assert.AreEqual(1L, builds.GetValueOrDefault(name), $"{name} built once over the solve ({Format(builds)})");
        for (int i = 1; i < steps.Count; i++)
            Assert.IsTrue(steps[i].Bytes <= 64, $"step {i}: only scalars cross ({steps[i]})");
    }

    [TestMethod]
    public void ALaterStepCallChecksMOnTheDeviceAndCopiesNoField()
    {
        var device = Own.Value;
        var state = NewState(device);
        var counters = Devices.Transfers(device);
        var solver = new LLGSolver(state, fixedStepMethod: FixedStepMethod.Euler, fixedStep: 2e-14);
        solver.Step(4e-14);
        var before = counters.Snapshot();
        solver.Step(4e-14);
        var call = counters.Snapshot() - before;
        Console.WriteLine($"second Step call: {call}");
        // The unit-length check of m and the two steps read back scalars only.
        Assert.AreEqual(0L, call.ToHostFieldSized, $"field-sized downloads in a later Step call: {call}");
        Assert.AreEqual(0L, call.ToDeviceFieldSized, $"field-sized uploads in a later Step call: {call}");
    }

    [TestMethod]
    public void AResolvedFieldOfRhoFollowsEachNewRho()
    {
        // Inverse design: rho is an argument of the resolved field, a new tensor on every call (not a state attribute).
        var device = Own.Value;
        var gpu = NewState(device);
        var cpu = NewState(Device.Cpu);
        int nc = Cells.Aggregate(1, (a, b) => a * b);
        foreach (var f in new[] { "h_demag", "h_exchange" })
        {
            var onDevice = gpu.Resolve(f, new[] { "rho" });
            var onCpu = cpu.Resolve(f, new[] { "rho" });
            for (int k = 0; k < 3; k++)
            {
                var rho = Enumerable.Range(0, nc).Select(c => 0.3 + 0.7 * ((c * (k + 2)) % 5) / 4.0).ToArray();
                var a = onDevice.Invoke(gpu.Tensor(rho, Cells)).ToArray();
                var b = onCpu.Invoke(cpu.Tensor(rho, Cells)).ToArray();
                double scale = b.Max(Math.Abs);
                for (int i = 0; i < a.Length; i++) Assert.AreEqual(b[i], a[i], 1e-12 * scale, $"{f}, rho #{k}, element {i}");
            }
        }
    }

    [TestMethod]
    public void AssigningMsOrRhoRebuildsOnceAndGivesTheNewField()
    {
        var device = Own.Value;
        var gpu = NewState(device);
        var cpu = NewState(Device.Cpu);
        string[] fields = { "h_demag", "h_exchange", "h_uaniso" };
        void Compare(string when)
        {
            foreach (var f in fields)
            {
                var a = gpu.Tensor(f);
                Assert.AreEqual(device, a.Device, $"{f} stays on the device");
                var av = a.ToArray();
                var bv = cpu.Tensor(f).ToArray();
                double scale = bv.Max(Math.Abs);
                for (int i = 0; i < av.Length; i++) Assert.AreEqual(bv[i], av[i], 1e-12 * scale, $"{f} {when}, element {i}");
            }
        }
        Compare("before");
        Compare("again");
        var first = Builds(gpu);
        Assert.AreEqual(1L, first.GetValueOrDefault("demag.device"), Format(first));
        Assert.AreEqual(1L, first.GetValueOrDefault("ExchangeField.device"), Format(first));

        // A new Ms (a cell function): one rebuild of everything weighted by Ms.
        int nc = Cells.Aggregate(1, (a, b) => a * b);
        var ms = Enumerable.Range(0, nc).Select(c => 6e5 + 1e4 * c).ToArray();
        foreach (var s in new[] { gpu, cpu }) s.Material["Ms"] = new CellFunction(s, tensor: s.Tensor(ms, Cells));
        Compare("after assigning Ms");
        Compare("after assigning Ms, again");
        var afterMs = Builds(gpu);
        Assert.AreEqual(2L, afterMs.GetValueOrDefault("demag.device"), Format(afterMs));
        Assert.AreEqual(2L, afterMs.GetValueOrDefault("demag.weights"), Format(afterMs));
        Assert.AreEqual(2L, afterMs.GetValueOrDefault("ExchangeField.device"), Format(afterMs));

        // New domains (rho follows them lazily): one more rebuild.
        var inside = Enumerable.Range(0, nc).Select(c => c % 3 == 0 ? 0.0 : 1.0).ToArray();
        foreach (var s in new[] { gpu, cpu }) s.AddDomain(1, s.Tensor(inside, Cells));
        Compare("after new domains");
        Compare("after new domains, again");
        var afterRho = Builds(gpu);
        Assert.AreEqual(3L, afterRho.GetValueOrDefault("demag.device"), Format(afterRho));
        Assert.AreEqual(3L, afterRho.GetValueOrDefault("ExchangeField.device"), Format(afterRho));
        Assert.AreEqual(3L, afterRho.GetValueOrDefault("UniaxialAnisotropyField.device"), Format(afterRho));

        // A new exchange constant rebuilds exchange alone; a new m rebuilds nothing.
        foreach (var s in new[] { gpu, cpu }) s.Material["A"] = 1.1e-11;
        foreach (var s in new[] { gpu, cpu }) s["m"] = new VectorFunction(s).Fill(new[] { 0.6, 0.0, 0.8 });
        Compare("after assigning A and m");
        var afterA = Builds(gpu);
        Assert.AreEqual(afterRho.GetValueOrDefault("ExchangeField.operator") + 1, afterA.GetValueOrDefault("ExchangeField.operator"), Format(afterA));
        Assert.AreEqual(4L, afterA.GetValueOrDefault("ExchangeField.device"), Format(afterA));
        foreach (var name in new[] { "demag.weights", "demag.device", "UniaxialAnisotropyField.operator", "UniaxialAnisotropyField.device" })
            Assert.AreEqual(afterRho[name], afterA[name], $"{name}: {Format(afterA)}");

        // Assigning t re-resolves the fields; rho and the operators are found as they were: nothing is read back.
        var counters = Devices.Transfers(device);
        var before = counters.Snapshot();
        gpu.T = 1e-12;
        foreach (var f in fields) gpu.Tensor(f);
        var copies = counters.Snapshot() - before;
        Assert.AreEqual(0L, copies.FieldSized, copies.ToString());
    }

    [TestMethod]
    public void EnergiesStayOnTheDevice()
    {
        // E_exchange and E_uaniso: one gradient application and a device reduction; E_demag and E_external: ½ m·(K h) with
        // K the operator of E(u, u) (BilinearElementOperator). After the first evaluation (which builds the energy
        // operators) nothing field-sized crosses, and the value is read as one scalar.
        var device = Own.Value;
        var gpu = NewState(device);
        var cpu = NewState(Device.Cpu);
        var counters = Devices.Transfers(device);
        foreach (var term in new[] { "E_exchange", "E_uaniso", "E_demag", "E_external", "E" })
        {
            var onDevice = gpu.Resolve(term, new[] { "m" });
            var onCpu = cpu.Resolve(term, new[] { "m" });
            int nodes = gpu.Mesh.NumNodes;
            for (int k = 0; k < 3; k++)
            {
                var values = Enumerable.Range(0, 3 * nodes).Select(i => Math.Cos(0.3 * i + k)).ToArray();
                var m = gpu.Tensor(values, gpu.Mesh.NodeCounts.Append(3).ToArray());
                var before = counters.Snapshot();
                var e = onDevice.Invoke(m);
                var copies = counters.Snapshot() - before;
                Assert.AreEqual(device, e.Device, $"{term} stays on the device");
                if (k > 0) Assert.AreEqual(0L, copies.FieldSized, $"{term}, evaluation {k}: {copies}");
                double expected = onCpu.Invoke(cpu.Tensor(values, cpu.Mesh.NodeCounts.Append(3).ToArray())).Item();
                Assert.AreEqual(expected, e.Item(), 1e-12 * Math.Abs(expected), $"{term}, evaluation {k}");
            }
        }
        var builds = Builds(gpu);
        Assert.AreEqual(1L, builds.GetValueOrDefault("ExchangeField.device-gradient"), Format(builds));
        Assert.AreEqual(1L, builds.GetValueOrDefault("UniaxialAnisotropyField.device-gradient"), Format(builds));
        // Zeeman and demag are bilinear in (m, h): ½ m·(K h), one operator each, made once.
        Assert.AreEqual(1L, builds.GetValueOrDefault("DemagField.bilinear"), Format(builds));
        Assert.AreEqual(1L, builds.GetValueOrDefault("ExternalField.bilinear"), Format(builds));
    }

    [TestMethod]
    public void EnergyGradientsWithRespectToMAndRhoStayOnTheDevice()
    {
        // dE/d rho_c of an element-operator term is the cell's energy per unit rho, ½ m_cᵀK m_c + bᵀm_c + e0 V (one thread
        // per cell on the device), also in a cell with rho = 0; dE/dm as before. Same values as the CPU's dual-number
        // passes, and nothing field- or cell-sized crosses after the first evaluation.
        var device = Own.Value;
        var gpu = NewState(device);
        var cpu = NewState(Device.Cpu);
        var counters = Devices.Transfers(device);
        int nodes = gpu.Mesh.NumNodes, cells = gpu.Mesh.NumCells;
        var shape = gpu.Mesh.NodeCounts.Append(3).ToArray();
        var mValues = Enumerable.Range(0, 3 * nodes).Select(i => Math.Sin(0.45 * i + 0.3)).ToArray();
        var rhoValues = Enumerable.Range(0, cells).Select(c => c == 2 ? 0.0 : 0.5 + 0.1 * (c % 5)).ToArray();
        foreach (var term in new[] { "E_exchange", "E_uaniso" })
        {
            var onDevice = gpu.Resolve(term, new[] { "m", "rho" });
            var onCpu = cpu.Resolve(term, new[] { "m", "rho" });
            var expected = Autodiff.Grads(x => onCpu.Invoke(x))(new[] { cpu.Tensor(mValues, shape), cpu.Tensor(rhoValues, gpu.Mesh.N) });
            var inputs = new[] { gpu.Tensor(mValues, shape), gpu.Tensor(rhoValues, gpu.Mesh.N) };
            NTensor[] actual = null!;
            for (int k = 0; k < 2; k++)
            {
                var before = counters.Snapshot();
                actual = Autodiff.Grads(x => onDevice.Invoke(x))(inputs);
                var copies = counters.Snapshot() - before;
                if (k > 0) Assert.AreEqual(0L, copies.FieldSized, $"d{term}/d(m, rho), evaluation {k}: {copies}");
            }
            for (int j = 0; j < 2; j++)
            {
                Assert.AreEqual(device, actual[j].Device, $"d{term}/d{(j == 0 ? "m" : "rho")} stays on the device");
                var (a, e) = (actual[j].ToArray(), expected[j].ToArray());
                CollectionAssert.AreEqual(expected[j].GetShape(), actual[j].GetShape());
                double scale = e.Max(Math.Abs);
                Assert.IsTrue(scale > 0, term);
                for (int i = 0; i < a.Length; i++) Assert.AreEqual(e[i], a[i], 1e-12 * scale, $"d{term}/d{(j == 0 ? "m" : "rho")} element {i}");
            }
        }
    }

    [TestMethod]
    public void GradientsWithRespectToMStayOnTheDevice()
    {
        // d(w·h)/dm and dE/dm through Resolve and the tape: the element-operator terms' VJPs apply the unit-scale operator
        // on the device (K symmetric), demag's the device convolution with swapped weights, so the backward pass copies
        // nothing field-sized either.
        var device = Own.Value;
        var gpu = NewState(device);
        var cpu = NewState(Device.Cpu);
        var counters = Devices.Transfers(device);
        int nodes = gpu.Mesh.NumNodes;
        var shape = gpu.Mesh.NodeCounts.Append(3).ToArray();
        var mValues = Enumerable.Range(0, 3 * nodes).Select(i => Math.Sin(0.45 * i)).ToArray();
        var wValues = Enumerable.Range(0, 3 * nodes).Select(i => Math.Cos(0.2 * i + 1)).ToArray();
        foreach (var (attribute, isField) in new[] { ("h_exchange", true), ("h_uaniso", true), ("h_demag", true), ("h", true), ("E_exchange", false), ("E_uaniso", false), ("E_demag", false), ("E_external", false), ("E", false) })
        {
            var onDevice = gpu.Resolve(attribute, new[] { "m" });
            var onCpu = cpu.Resolve(attribute, new[] { "m" });
            NTensor Loss(Func<NTensor[], NTensor> f, NTensor m, NTensor w) => isField ? (f(new[] { m }) * w).Sum() : f(new[] { m });
            var (mg, wg) = (gpu.Tensor(mValues, shape), gpu.Tensor(wValues, shape));
            var (mc, wc) = (cpu.Tensor(mValues, shape), cpu.Tensor(wValues, shape));
            var expected = Autodiff.Grad(v => Loss(onCpu.Invoke, v, wc))(mc).ToArray();
            NTensor actual = null!;
            for (int k = 0; k < 2; k++)
            {
                var before = counters.Snapshot();
                actual = Autodiff.Grad(v => Loss(onDevice.Invoke, v, wg))(mg);
                var copies = counters.Snapshot() - before;
                if (k > 0) Assert.AreEqual(0L, copies.FieldSized, $"d{attribute}/dm, evaluation {k}: {copies}");
            }
            Assert.AreEqual(device, actual.Device, $"d{attribute}/dm stays on the device");
            var a = actual.ToArray();
            double scale = expected.Max(Math.Abs);
            Assert.IsTrue(scale > 0, attribute);
            for (int i = 0; i < a.Length; i++) Assert.AreEqual(expected[i], a[i], 1e-12 * scale, $"d{attribute}/dm element {i}");
        }
    }

    [TestMethod]
    public void BackpropagationThroughAnLlgSolveStaysOnTheDevice()
    {
        // d(w·m(t1))/dm0 through a Dormand–Prince solve on the tape: the torque, stage sums and the VJPs of exchange,
        // anisotropy and demag all run on the device, so beyond the step control's scalars the backward pass copies
        // no field; the gradient equals the CPU's.
        var device = Own.Value;
        double[] Gradient(Device d, int repeats, out TransferSnapshot last)
        {
            var state = NewState(d);
            var llg = new LLGSolver(state);
            var m0 = state.M.Tensor;
            var w = state.Tensor(Enumerable.Range(0, m0.Size).Select(i => Math.Cos(0.3 * i)).ToArray(), m0.GetShape());
            var counters = d.IsCpu ? null : Devices.Transfers(d);
            NTensor g = null!;
            last = default;
            // The first gradient builds the operators; the last one is the one measured.
            for (int k = 0; k < repeats; k++)
            {
                var before = counters?.Snapshot() ?? default;
                g = Autodiff.Grad(v => (llg.Solve(3e-13, v) * w).Sum())(m0);
                if (counters != null) last = counters.Snapshot() - before;
            }
            Assert.AreEqual(d, g.Device);
            return g.ToArray();
        }
        var a = Gradient(device, 2, out var copies);
        var b = Gradient(Device.Cpu, 1, out _);
        Console.WriteLine($"forward + backward on the device: {copies}");
        Assert.AreEqual(0L, copies.FieldSized, copies.ToString());
        double scale = b.Max(Math.Abs);
        for (int i = 0; i < a.Length; i++) Assert.AreEqual(b[i], a[i], 1e-10 * scale, $"element {i}");
    }

    [TestMethod]
    public void AMinimizerRunCopiesNoFieldAfterItsFirstIteration()
    {
        // Barzilai–Borwein iterations on the device: the field, the torque-like direction and the step lengths are
        // tensor operations there; the per-iteration convergence check reads scalars only.
        var device = Own.Value;
        var state = NewState(device);
        var counters = Devices.Transfers(device);
        new EnergyMinimizer(state, maxIter: 1).Minimize();
        var before = counters.Snapshot();
        var result = new EnergyMinimizer(state, maxIter: 40).Minimize();
        var copies = counters.Snapshot() - before;
        Console.WriteLine($"40 iterations: {copies}");
        Assert.AreEqual(0L, copies.FieldSized, copies.ToString());
    }

    [TestMethod]
    public void ATruePbcDemagFieldStaysOnTheDevice()
    {
        // The true-PBC projector runs in the device convolution (power-of-two periodic grid): after the first
        // evaluation, a new m on the device gives its field with no field-sized copy.
        var device = Own.Value;
        var n = new[] { 4, 4, 2 };
        State Make(Device d)
        {
            var s = new State(new Mesh(n, new[] { 3e-9, 3e-9, 2e-9 }, pbc: new Pbc[] { true, true, true }), d, DType.Float64);
            s.Material["Ms"] = 8e5;
            s["m"] = new VectorFunction(s).Fill(new[] { 0.6, 0.0, 0.8 });
            new DemagField().Register(s, "demag");
            return s;
        }
        var gpu = Make(device);
        var cpu = Make(Device.Cpu);
        var onDevice = gpu.Resolve("h_demag", new[] { "m" });
        var onCpu = cpu.Resolve("h_demag", new[] { "m" });
        var counters = Devices.Transfers(device);
        int nodes = gpu.Mesh.NumNodes;
        for (int k = 0; k < 3; k++)
        {
            var values = Enumerable.Range(0, 3 * nodes).Select(i => Math.Sin(0.7 * i + k)).ToArray();
            var mGpu = gpu.Tensor(values, gpu.Mesh.NodeCounts.Append(3).ToArray());
            var before = counters.Snapshot();
            var h = onDevice.Invoke(mGpu);
            var copies = counters.Snapshot() - before;
            Assert.AreEqual(device, h.Device, "h_demag stays on the device");
            if (k > 0) Assert.AreEqual(0L, copies.FieldSized, $"evaluation {k}: {copies}");
            var a = h.ToArray();
            var b = onCpu.Invoke(cpu.Tensor(values, cpu.Mesh.NodeCounts.Append(3).ToArray())).ToArray();
            double scale = b.Max(Math.Abs);
            Assert.IsTrue(scale > 0);
            for (int i = 0; i < a.Length; i++) Assert.AreEqual(b[i], a[i], 1e-12 * scale, $"evaluation {k}, element {i}");
        }
    }

    [TestMethod]
    public void TheCountersSeeEveryCopyWithItsSize()
    {
        var device = Own.Value;
        var counters = Devices.Transfers(device);
        var before = counters.Snapshot();
        var t = NTensor.FromArray(new double[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, null, DType.Float64, device);
        var s = (t * 2.0).Sum();
        Assert.AreEqual(110.0, s.Item());
        var f = t.Cast(DType.Float32).ToArray();
        var d = counters.Snapshot() - before;
        Assert.AreEqual(10, f.Length);
        Assert.AreEqual(new TransferSnapshot(1, 80, 1, 2, 8 + 40, 0), d, d.ToString());
        Assert.ThrowsExactly<ArgumentException>(() => Devices.Transfers(Device.Cpu));
    }
}
