using System.Diagnostics;
using NeuralMag.AD;
using NeuralMag.Kernels;

namespace NeuralMag.Bench;

/// <summary>
/// The GPU rows: the accelerator of NM_DEVICE when it is an ILGPU device, else "cuda" when this machine has one (the
/// suite has no rows without either). Each row is measured beside the CPU device in the same run.
/// <list type="bullet">
/// <item>mumax3's benchmark metric, cells × field evaluations per second: a permalloy film of 4 nm cubes, one cell
/// thick, N×N cells, exchange + demag + Zeeman through <c>Resolve("h", ["m"])</c> as the LLG calls it, float32 and
/// float64.</item>
/// <item>The demag field with cuFFT against our Stockham FFT kernel on the same CUDA device.</item>
/// <item>Standard problem 4, field 1, per simulated ns, with the field-sized host/device copies per accepted step.</item>
/// <item>The topology-optimization value and gradient (the demo's objective, 64x64x16).</item>
/// </list>
/// </summary>
public sealed class GpuBench : IBenchSuite
{
    public string Name => "gpu";

    public IEnumerable<BenchRow> Run(bool quick)
    {
        var gpu = Accelerator();
        if (gpu == null)
        {
            Console.Error.WriteLine("[bench gpu] no ILGPU device (NM_DEVICE names none and this machine has no CUDA device): no rows");
            yield break;
        }
        Console.Error.WriteLine($"[bench gpu] device {gpu}");
        var sizes = quick ? new[] { 32, 64 } : new[] { 64, 256, 1024, 2048, 4096 };
        foreach (int n in sizes)
            foreach (var dtype in new[] { DType.Float32, DType.Float64 })
            {
                var row = Guarded($"film {n}x{n}x1 {dtype.Name()}", () => FilmRow(n, dtype, gpu, quick));
                if (row != null) yield return row;
            }
        if (gpu.Backend is IlgpuBackend { Accelerator: ILGPU.Runtime.Cuda.CudaAccelerator })
            foreach (int n in quick ? new[] { 256 } : new[] { 256, 1024, 4096 })
            {
                var row = Guarded($"cuFFT {n}", () => CuFftRow(n, gpu, quick));
                if (row != null) yield return row;
            }
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var row = Guarded($"sp4 {dtype.Name()}", () => Sp4Row(dtype, gpu, quick));
            if (row != null) yield return row;
        }
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var row = Guarded($"topology {dtype.Name()}", () => TopologyRow(dtype, gpu, quick));
            if (row != null) yield return row;
        }
    }

    /// <summary>NM_DEVICE's device when it is an ILGPU device, else CUDA when present, else null.</summary>
    private static Device? Accelerator()
    {
        var configured = Environment.GetEnvironmentVariable("NM_DEVICE");
        if (configured is { Length: > 0 } && configured != "cpu") return Config.Device;
        try { return DeviceRegistry.Get("cuda"); }
        catch (NotSupportedException) { return null; }
    }

    /// <summary>A row, or null with the error on standard error, so that one failing case does not end the suite.</summary>
    private static BenchRow? Guarded(string what, Func<BenchRow> row)
    {
        try { return row(); }
        catch (Exception e)
        {
            Console.Error.WriteLine($"[bench gpu] {what} failed: {e.GetType().Name}: {e.Message}");
            Console.Error.WriteLine(e.StackTrace);
            return null;
        }
    }

    /// <summary>The permalloy film of mumax3's benchmark: n×n×1 cells of 4 nm, exchange + demag + Zeeman, m a smooth vortex-like pattern.</summary>
    private static (State State, NTensor[] Ms) Film(int n, DType dtype, Device device, bool? cuFft = null)
    {
        var state = new State(new Mesh(new[] { n, n, 1 }, new[] { 4e-9, 4e-9, 4e-9 }), device, dtype);
        state.Material["Ms"] = 8.6e5;
        state.Material["A"] = 1.3e-11;
        var nodes = state.Mesh.NodeCounts;
        var m0 = new double[state.Mesh.NumNodes * 3];
        for (int i = 0; i < nodes[0]; i++)
            for (int j = 0; j < nodes[1]; j++)
                for (int k = 0; k < nodes[2]; k++)
                {
                    int p = 3 * ((i * nodes[1] + j) * nodes[2] + k);
                    double x = (i - 0.5 * n) / n, y = (j - 0.5 * n) / n, r = Math.Sqrt(x * x + y * y) + 1e-3;
                    double mz = Math.Exp(-r * r * 40), t = Math.Sqrt(1 - mz * mz);
                    m0[p] = -y / r * t;
                    m0[p + 1] = x / r * t;
                    m0[p + 2] = mz;
                }
        var m = NTensor.FromArray(m0, nodes.Append(3).ToArray(), dtype, device);
        state["m"] = new VectorFunction(state, m);
        new ExchangeField().Register(state, "exchange");
        var demag = cuFft is { } c ? new DemagField { CuFft = c } : new DemagField();
        demag.Register(state, "demag");
        new ExternalField(new[] { 1e4, 2e3, 0.0 }).Register(state, "external");
        new TotalField("exchange", "demag", "external").Register(state);
        return (state, new[] { m, m * 1.0 });
    }

    /// <summary>Median seconds of one evaluation of <paramref name="eval"/> (completed by reading one value back), over about 0.3 s.</summary>
    private static double PerEvaluation(Func<int, NTensor> eval, bool quick)
    {
        eval(0).Item0();
        var sw = Stopwatch.StartNew();
        eval(1).Item0();
        double once = sw.Elapsed.TotalSeconds;
        int inner = Math.Clamp((int)(0.1 / Math.Max(once, 1e-6)), 1, 2000);
        int call = 0;
        return BenchTimer.Median(() =>
        {
            NTensor? h = null;
            for (int i = 0; i < inner; i++) h = eval(call++);
            h!.Item0();
        }, quick || once > 0.5 ? 1 : 3, 0) / inner;
    }

    private static BenchRow FilmRow(int n, DType dtype, Device gpu, bool quick)
    {
        var (state, ms) = Film(n, dtype, gpu);
        var h = state.Resolve("h", new[] { "m" });
        double tg = PerEvaluation(i => h.Invoke(ms[i % 2]), quick);
        // The CPU device on the same film (all cores); one evaluation suffices at the large sizes.
        var (cpuState, cpuMs) = Film(n, dtype, Device.Cpu);
        var hc = cpuState.Resolve("h", new[] { "m" });
        double tc = PerEvaluation(i => hc.Invoke(cpuMs[i % 2]), quick || n >= 2048);
        double cells = (double)n * n;
        return new BenchRow($"mumax3 metric {n}x{n}x1 {dtype.Name()} exchange+demag+Zeeman on {gpu}: {cells / tg:E2} cells*evals/s (cpu {cells / tc:E2})",
            tg, "cpu device, same film", tc);
    }

    private static BenchRow CuFftRow(int n, Device gpu, bool quick)
    {
        double Time(bool cuFft)
        {
            var (state, ms) = Film(n, DType.Float64, gpu, cuFft);
            var h = state.Resolve("h_demag", new[] { "m" });
            return PerEvaluation(i => h.Invoke(ms[i % 2]), quick);
        }
        double stockham = Time(false), cufft = Time(true);
        return new BenchRow($"h_demag {n}x{n}x1 float64 on {gpu} with cuFFT", cufft, "our Stockham FFT kernel, same device", stockham);
    }

    private static BenchRow Sp4Row(DType dtype, Device gpu, bool quick)
    {
        double simulated = quick ? 0.01e-9 : 1e-9;
        double Run(Device device, out long evals, out string copies)
        {
            var state = StandardProblem4.Field1(dtype, device);
            var llg = new LLGSolver(state);
            llg.Step(1e-13); // warm-up: demag kernel, plans, kernel compilation
            long e0 = llg.Evaluations;
            copies = "";
            if (device.Backend is IlgpuBackend)
            {
                var counters = Devices.Transfers(device);
                var before = counters.Snapshot();
                var sw0 = Stopwatch.StartNew();
                llg.Step(simulated);
                double s = sw0.Elapsed.TotalSeconds;
                var d = counters.Snapshot() - before;
                copies = $"; copies over the run: {d}";
                evals = llg.Evaluations - e0;
                return s;
            }
            var sw = Stopwatch.StartNew();
            llg.Step(simulated);
            evals = llg.Evaluations - e0;
            return sw.Elapsed.TotalSeconds;
        }
        double tg = Run(gpu, out long eg, out string copies);
        double tc = Run(Device.Cpu, out long ec, out _);
        double perNs = 1e-9 / simulated;
        return new BenchRow($"sp4 field 1 {dtype.Name()} per simulated ns on {gpu} ({eg * perNs:F0} RHS evals/ns, cpu {ec * perNs:F0}{copies})",
            tg * perNs, "cpu device", tc * perNs);
    }

    private static BenchRow TopologyRow(DType dtype, Device gpu, bool quick)
    {
        var n = quick ? new[] { 16, 16, 6 } : new[] { 64, 64, 16 };
        double Time(Device device)
        {
            int nx = n[0], nz = n[2], top = nz - 2;
            var state = new State(new Mesh(n, new[] { 5e-9, 5e-9, 5e-9 }), device, dtype);
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
            return BenchTimer.Median(() => valueAndGrad(rhoM).Item2.ToArray(), quick ? 1 : 5, 2);
        }
        double tg = Time(gpu), tc = Time(Device.Cpu);
        return new BenchRow($"topology objective value and gradient {string.Join("x", n)} {dtype.Name()} on {gpu}", tg, "cpu device", tc);
    }
}
