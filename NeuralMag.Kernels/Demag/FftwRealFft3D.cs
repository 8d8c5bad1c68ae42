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
}
