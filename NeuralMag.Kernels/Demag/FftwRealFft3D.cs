using System.Numerics;

namespace NeuralMag.Kernels.Demag;

/// <summary>
/// FFTW r2c/c2r plans of one shape, made once per (shape, planner flags, threads) and kept for the process. Plans are
/// made on 64-byte aligned scratch buffers (FFTW_MEASURE overwrites them) and executed on the caller's buffers with
/// FFTW's new-array execute functions, which is safe because every <see cref="NativeBuffer{T}"/> has that alignment.
/// </summary>
public sealed unsafe class FftwRealFft3D : RealFft3D
{
    private static readonly Dictionary<string, FftwRealFft3D> Plans = new();
    private readonly nint _forward, _inverse;

    /// <summary>Planner rigor for new plans: FFTW_MEASURE (default) or FFTW_ESTIMATE (NEURALMAG_FFTW_PLANNER=estimate).</summary>
    public static uint PlannerFlags { get; set; } =
        Environment.GetEnvironmentVariable("NEURALMAG_FFTW_PLANNER")?.ToLowerInvariant() switch
        {
            "estimate" => FftwNative.Estimate, "patient" => FftwNative.Patient, _ => FftwNative.Measure,
        };

    /// <summary>
    /// Threads of new plans (needs libfftw3_threads); 0 (default) = all cores for grids of at least 2^20 points and
    /// one thread below (on 2 cores, two threads were 1.35x faster on 512x512x128 and 2.5x slower on 256x64).
    /// NEURALMAG_FFTW_THREADS overrides.
    /// </summary>
    public static int Threads { get; set; } =
        int.TryParse(Environment.GetEnvironmentVariable("NEURALMAG_FFTW_THREADS"), out var t) && t > 0 ? t : 0;

    /// <summary>
    /// Upper bound in seconds for one planning (fftw_set_timelimit). A plan cut short falls back to an estimate, which
    /// measured up to 8x slower, so this is generous; a two-thread MEASURE of 512x512x128 took 9 s per direction here.
    /// </summary>
    public static double PlannerTimeLimit { get; set; } = 60;

    private FftwRealFft3D(int[] shape, uint flags, int threads) : base(shape)
    {
        Flags = flags;
        ThreadCount = FftwNative.HasThreads ? threads : 1;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var real = new NativeBuffer<double>(RealLength);
        using var spectrum = new NativeBuffer<Complex>(SpectrumLength);
        var n = stackalloc int[shape.Length];
        for (int k = 0; k < shape.Length; k++) n[k] = shape[k];
        lock (FftwNative.PlannerLock)
        {
            if (FftwNative.HasThreads) FftwNative.PlanWithThreads(ThreadCount);
            FftwNative.SetTimeLimit(PlannerTimeLimit);
            _forward = FftwNative.PlanR2C(shape.Length, n, real.Pointer, spectrum.Pointer, flags);
            _inverse = FftwNative.PlanC2R(shape.Length, n, spectrum.Pointer, real.Pointer, flags);
        }
        if (_forward == 0 || _inverse == 0) throw new InvalidOperationException($"FFTW could not plan the shape [{string.Join(", ", shape)}].");
        PlanSeconds = sw.Elapsed.TotalSeconds;
    }

    public override FftBackend Backend => FftBackend.Fftw;
    public uint Flags { get; }
    public int ThreadCount { get; }
    /// <summary>Wall time spent planning both directions.</summary>
    public double PlanSeconds { get; }

    /// <summary>The cached plans of <paramref name="shape"/> for the current <see cref="PlannerFlags"/> and <see cref="Threads"/>.</summary>
    public static FftwRealFft3D Get(int[] shape) =>
        Get(shape, PlannerFlags, Threads > 0 ? Threads : shape.Aggregate(1L, (a, n) => a * n) >= 1 << 20 ? Environment.ProcessorCount : 1);

    public static FftwRealFft3D Get(int[] shape, uint flags, int threads)
    {
        if (!FftwNative.Available) throw new InvalidOperationException($"FFTW is not available: {FftwNative.LoadError}.");
        var key = $"{string.Join("x", shape)}|{flags}|{threads}";
        lock (Plans)
        {
            if (!Plans.TryGetValue(key, out var p)) Plans[key] = p = new FftwRealFft3D(shape, flags, threads);
            return p;
        }
    }

    public override void Forward(double* real, Complex* spectrum) => FftwNative.ExecuteR2C(_forward, real, spectrum);
    public override void Inverse(Complex* spectrum, double* real) => FftwNative.ExecuteC2R(_inverse, spectrum, real);

    private readonly Dictionary<string, PrunedPlans> _pruned = new();

    /// <summary>
    /// Plans of FFTW's guru interface for a zero-padded grid with data in the corner block. 2-D grids: the last axis
    /// (r2c) over the block's lines only, then the first axis over every frequency; 3-D grids: 2-D r2c transforms of the
    /// (y, z) planes x &lt; block[0] only (plane transforms stay cache friendly; pruning their lines as well measured
    /// slower), then the x lines. Each forward stage writes out of place into a buffer of its own whose other lines are
    /// never written and so stay zero (the next stage reads them as the padding); the inverse mirrors it in place and
    /// computes only what reaches the block. Measured here: 10–20% less time than the full transforms on the
    /// 3-D grids we use, 33% on sp4's 2-D grid.
    /// </summary>
    private sealed class PrunedPlans
    {
        public nint R2C, C2R;
        public bool Planes;
        public nint[] Forward = Array.Empty<nint>(), Inverse = Array.Empty<nint>();
        /// <summary>Sets of r − 1 intermediate spectra (zero outside their stage's lines), one set per concurrent call.</summary>
        public readonly System.Collections.Concurrent.ConcurrentBag<NativeBuffer<Complex>[]> Scratch = new();
    }

    private PrunedPlans Pruned(int[] block)
    {
        if (block.Length != Shape.Length) throw new ArgumentException($"The block has {block.Length} axes, the transform {Shape.Length}.");
        for (int k = 0; k < block.Length; k++)
            if (block[k] < 1 || block[k] > Shape[k]) throw new ArgumentException($"Block extent {block[k]} outside 1..{Shape[k]} on axis {k}.");
        var key = string.Join("x", block);
        lock (_pruned)
        {
            if (_pruned.TryGetValue(key, out var plans)) return plans;
            int r = Shape.Length;
            var rs = new int[r];
            var cs = new int[r];
            rs[r - 1] = 1;
            cs[r - 1] = 1;
            for (int k = r - 2; k >= 0; k--)
            {
                rs[k] = rs[k + 1] * Shape[k + 1];
                cs[k] = cs[k + 1] * SpectrumShape[k + 1];
            }
            plans = new PrunedPlans { Forward = new nint[r - 1], Inverse = new nint[r - 1] };
            using var real = new NativeBuffer<double>(RealLength);
            using var spectrum = new NativeBuffer<Complex>(SpectrumLength);
            using var other = new NativeBuffer<Complex>(SpectrumLength);
            var dim = stackalloc FftwNative.IoDim[1];
            var many = stackalloc FftwNative.IoDim[3];
            lock (FftwNative.PlannerLock)
            {
                if (FftwNative.HasThreads) FftwNative.PlanWithThreads(ThreadCount);
                FftwNative.SetTimeLimit(PlannerTimeLimit);
                if (plans.Planes = r == 3)
                {
                    // 3D: 2-D r2c/c2r of the (y, z) planes x < block[0] (FFTW's plane transforms stay cache friendly),
                    // then the x lines.
                    var d2 = stackalloc FftwNative.IoDim[2];
                    d2[0] = new FftwNative.IoDim(Shape[1], rs[1], cs[1]);
                    d2[1] = new FftwNative.IoDim(Shape[2], 1, 1);
                    many[0] = new FftwNative.IoDim(block[0], rs[0], cs[0]);
                    plans.R2C = FftwNative.PlanGuruR2C(2, d2, 1, many, real.Pointer, spectrum.Pointer, Flags);
                    d2[0] = new FftwNative.IoDim(Shape[1], cs[1], rs[1]);
                    many[0] = new FftwNative.IoDim(block[0], cs[0], rs[0]);
                    plans.C2R = FftwNative.PlanGuruC2R(2, d2, 1, many, spectrum.Pointer, real.Pointer, Flags);
                    dim[0] = new FftwNative.IoDim(Shape[0], cs[0], cs[0]);
                    many[0] = new FftwNative.IoDim(SpectrumShape[1], cs[1], cs[1]);
                    many[1] = new FftwNative.IoDim(SpectrumShape[2], 1, 1);
                    plans.Forward = new[] { FftwNative.PlanGuruDft(1, dim, 2, many, other.Pointer, spectrum.Pointer, -1, Flags) };
                    plans.Inverse = new[] { FftwNative.PlanGuruDft(1, dim, 2, many, spectrum.Pointer, spectrum.Pointer, +1, Flags) };
                }
                else
                {
                    // Last axis: real <-> half spectrum over the block's lines.
                    dim[0] = new FftwNative.IoDim(Shape[r - 1], 1, 1);
                    for (int k = 0; k < r - 1; k++) many[k] = new FftwNative.IoDim(block[k], rs[k], cs[k]);
                    plans.R2C = FftwNative.PlanGuruR2C(1, dim, r - 1, many, real.Pointer, spectrum.Pointer, Flags);
                    for (int k = 0; k < r - 1; k++) many[k] = new FftwNative.IoDim(block[k], cs[k], rs[k]);
                    plans.C2R = FftwNative.PlanGuruC2R(1, dim, r - 1, many, spectrum.Pointer, real.Pointer, Flags);
                    // Earlier axes: block extent before the axis, every frequency after it; forward out of place, inverse in place.
                    for (int k = 0; k < r - 1; k++)
                    {
                        dim[0] = new FftwNative.IoDim(Shape[k], cs[k], cs[k]);
                        int h = 0;
                        for (int i = 0; i < r; i++)
                            if (i != k) many[h++] = new FftwNative.IoDim(i < k ? block[i] : SpectrumShape[i], cs[i], cs[i]);
                        plans.Forward[k] = FftwNative.PlanGuruDft(1, dim, r - 1, many, other.Pointer, spectrum.Pointer, -1, Flags);
                        plans.Inverse[k] = FftwNative.PlanGuruDft(1, dim, r - 1, many, spectrum.Pointer, spectrum.Pointer, +1, Flags);
                    }
                }
            }
            if (plans.R2C == 0 || plans.C2R == 0 || plans.Forward.Any(p => p == 0) || plans.Inverse.Any(p => p == 0))
                throw new InvalidOperationException($"FFTW could not plan the pruned transforms of [{string.Join(", ", Shape)}] with block [{key}].");
            _pruned[key] = plans;
            return plans;
        }
    }

    public override void ForwardPruned(double* real, Complex* spectrum, int[] block)
    {
        var p = Pruned(block);
        int r = Shape.Length;
        if (r == 1)
        {
            FftwNative.ExecuteR2C(p.R2C, real, spectrum);
            return;
        }
        if (!p.Scratch.TryTake(out var scratch))
        {
            scratch = new NativeBuffer<Complex>[r - 1];
            for (int i = 0; i < scratch.Length; i++)
            {
                scratch[i] = new NativeBuffer<Complex>(SpectrumLength);
                scratch[i].Clear();
            }
        }
        try
        {
            if (p.Planes)
            {
                FftwNative.ExecuteR2C(p.R2C, real, scratch[0].Pointer);
                FftwNative.ExecuteDft(p.Forward[0], scratch[0].Pointer, spectrum);
                return;
            }
            // real -> scratch[0] (r2c), then axis r-2 .. 0, each into the next buffer, the last into the spectrum.
            FftwNative.ExecuteR2C(p.R2C, real, scratch[0].Pointer);
            for (int k = r - 2, stage = 0; k >= 0; k--, stage++)
            {
                var to = k == 0 ? spectrum : scratch[stage + 1].Pointer;
                FftwNative.ExecuteDft(p.Forward[k], scratch[stage].Pointer, to);
            }
        }
        finally
        {
            p.Scratch.Add(scratch);
        }
    }

    public override void InversePruned(Complex* spectrum, double* real, int[] block)
    {
        var p = Pruned(block);
        for (int k = 0; k < p.Inverse.Length; k++) FftwNative.ExecuteDft(p.Inverse[k], spectrum, spectrum);
        FftwNative.ExecuteC2R(p.C2R, spectrum, real);
    }
}