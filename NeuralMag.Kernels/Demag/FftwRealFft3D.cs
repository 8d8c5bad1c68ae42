using NeuralMag.AD;
using System.Runtime.InteropServices;
using System.Numerics;

namespace NeuralMag.Kernels.Demag;

/// <summary>
/// FFTW r2c/c2r plans of one shape in double precision, made once per (shape, planner flags, threads) and kept for the
/// process (the plans themselves are <see cref="FftwPlans{T}"/>, shared with the single-precision transforms). Plans are
/// made on 64-byte aligned scratch buffers (FFTW_MEASURE overwrites them) and executed on the caller's buffers with
/// FFTW's new-array execute functions, which is safe because every <see cref="NativeBuffer{T}"/> has that alignment.
/// </summary>
public sealed unsafe class FftwRealFft3D : RealFft3D
{
    private readonly FftwPlans<double> _plans;

    /// <summary>Planner rigor for new plans: FFTW_MEASURE (default) or as <see cref="Config.FftwPlanner"/> (NM_FFTW_PLANNER) says.</summary>
    public static uint PlannerFlags { get; set; } =
        Config.FftwPlanner switch
        {
            "estimate" => FftwNative.Estimate, "patient" => FftwNative.Patient, _ => FftwNative.Measure,
        };

    /// <summary>
    /// Threads of new plans (needs libfftw3_threads); 0 (default) = all cores for grids of at least 2^20 points and
    /// one thread below (on 2 cores, two threads were 1.35x faster on 512x512x128 and 2.5x slower on 256x64).
    /// <see cref="Config.FftwThreads"/> (NM_FFTW_THREADS) overrides.
    /// </summary>
    public static int Threads { get; set; } = Config.FftwThreads;

    /// <summary>
    /// Upper bound in seconds for one planning (fftw_set_timelimit). A plan cut short falls back to an estimate, which
    /// measured up to 8x slower, so this is generous; a two-thread MEASURE of 512x512x128 took 9 s per direction here.
    /// </summary>
    public static double PlannerTimeLimit { get; set; } = 60;

    private FftwRealFft3D(FftwPlans<double> plans) : base(plans.Shape) => _plans = plans;

    /// <inheritdoc/>
    public override FftBackend Backend => FftBackend.Fftw;
    /// <summary>FFTW planner flags the plans were made with (<see cref="FftwNative"/> constants).</summary>
    public uint Flags => _plans.Flags;
    /// <summary>Threads the plans use (1 without libfftw3_threads).</summary>
    public int ThreadCount => _plans.ThreadCount;
    /// <summary>Wall time spent planning both directions.</summary>
    public double PlanSeconds => _plans.PlanSeconds;

    internal FftwPlans<double> Plans => _plans;

    private static readonly Dictionary<string, FftwRealFft3D> Cache = new();

    /// <summary>The default thread count of a new plan of <paramref name="shape"/> (see <see cref="Threads"/>).</summary>
    internal static int DefaultThreads(int[] shape) =>
        Threads > 0 ? Threads : shape.Aggregate(1L, (a, n) => a * n) >= 1 << 20 ? Environment.ProcessorCount : 1;

    /// <summary>The cached plans of <paramref name="shape"/> for the current <see cref="PlannerFlags"/> and <see cref="Threads"/>.</summary>
    public static FftwRealFft3D Get(int[] shape) => Get(shape, PlannerFlags, DefaultThreads(shape));

    /// <summary>The cached plans of <paramref name="shape"/> for the given planner flags and thread count (planned on first request).</summary>
    /// <exception cref="InvalidOperationException">FFTW is not available or cannot plan the shape.</exception>
    public static FftwRealFft3D Get(int[] shape, uint flags, int threads)
    {
        if (!FftwNative.Available) throw new InvalidOperationException($"FFTW is not available: {FftwNative.LoadError}.");
        var key = $"{string.Join("x", shape)}|{flags}|{threads}";
        lock (Cache)
        {
            if (!Cache.TryGetValue(key, out var p)) Cache[key] = p = new FftwRealFft3D(FftwPlans<double>.Get(shape, flags, threads));
            return p;
        }
    }

    /// <inheritdoc/>
    public override void Forward(double* real, Complex* spectrum) => _plans.Forward(real, (double*)spectrum);
    /// <inheritdoc/>
    public override void Inverse(Complex* spectrum, double* real) => _plans.Inverse((double*)spectrum, real);
    /// <inheritdoc/>
    public override void ForwardPruned(double* real, Complex* spectrum, int[] block) => _plans.ForwardPruned(real, (double*)spectrum, block, 0);
    /// <inheritdoc/>
    public override void ForwardPruned(double* real, Complex* spectrum, int[] block, int first)
    {
        ArgumentNullException.ThrowIfNull(block);
        if (block.Length == 0 || first < 0 || first >= block[0])
            throw new ArgumentOutOfRangeException(nameof(first), first, $"FftwRealFft3D: the first non-zero slab must lie in [0, block[0]) = [0, {(block.Length > 0 ? block[0] : 0)}).");
        _plans.ForwardPruned(real, (double*)spectrum, block, first);
    }
    /// <inheritdoc/>
    public override void InversePruned(Complex* spectrum, double* real, int[] block) => _plans.InversePruned((double*)spectrum, real, block);
}

/// <summary>
/// FFTW plans of one real shape in the precision of <typeparamref name="T"/> (double: libfftw3, float: libfftw3f):
/// the plain r2c/c2r transforms and the pruned ones of a zero-padded grid. Spectra are interleaved complex values
/// (re, im) of T, the half spectrum of <see cref="RealFft3D"/>'s layout. One implementation serves both precisions;
/// the plans of each (shape, flags, threads, precision) are made once per process.
/// </summary>
internal sealed unsafe class FftwPlans<T> : IRealFft<T> where T : unmanaged
{
    private static readonly Dictionary<string, FftwPlans<T>> Cache = new();
    private static FftwNative.Api Api => typeof(T) == typeof(double) ? FftwNative.Double : typeof(T) == typeof(float) ? FftwNative.Single
        : throw new NotSupportedException($"FftwPlans: no FFTW precision for {typeof(T).Name}.");

    private readonly FftwNative.Api _api;
    private readonly nint _forward, _inverse;

    private FftwPlans(int[] shape, uint flags, int threads)
    {
        _api = Api;
        Shape = (int[])shape.Clone();
        SpectrumShape = (int[])shape.Clone();
        SpectrumShape[^1] = shape[^1] / 2 + 1;
        RealLength = shape.Aggregate(1L, (a, n) => a * n);
        SpectrumLength = SpectrumShape.Aggregate(1L, (a, n) => a * n);
        Flags = flags;
        ThreadCount = _api.HasThreads ? threads : 1;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var real = new NativeBuffer<T>(RealLength);
        using var spectrum = new NativeBuffer<T>(2 * SpectrumLength);
        var n = stackalloc int[shape.Length];
        for (int k = 0; k < shape.Length; k++) n[k] = shape[k];
        lock (FftwNative.PlannerLock)
        {
            if (_api.HasThreads) _api.PlanWithThreads(ThreadCount);
            _api.SetTimeLimit(FftwRealFft3D.PlannerTimeLimit);
            _forward = _api.PlanR2C(shape.Length, n, real.Pointer, spectrum.Pointer, flags);
            _inverse = _api.PlanC2R(shape.Length, n, spectrum.Pointer, real.Pointer, flags);
        }
        if (_forward == 0 || _inverse == 0) throw new InvalidOperationException($"FFTW ({_api.LibraryName}) could not plan the shape [{string.Join(", ", shape)}].");
        PlanSeconds = sw.Elapsed.TotalSeconds;
    }

    public int[] Shape { get; }
    public int[] SpectrumShape { get; }
    public long RealLength { get; }
    public long SpectrumLength { get; }
    public uint Flags { get; }
    public int ThreadCount { get; }
    public double PlanSeconds { get; }
    /// <summary>The FFTW library of the plans (libfftw3 or libfftw3f).</summary>
    public string Library => _api.LibraryName!;

    /// <summary>The cached plans of <paramref name="shape"/> in this precision.</summary>
    /// <exception cref="InvalidOperationException">The library of this precision is not available or cannot plan the shape.</exception>
    public static FftwPlans<T> Get(int[] shape, uint flags, int threads)
    {
        var api = Api;
        if (!api.Available) throw new InvalidOperationException($"FFTW ({typeof(T).Name}) is not available: {api.LoadError}.");
        var key = $"{string.Join("x", shape)}|{flags}|{threads}";
        lock (Cache)
        {
            if (!Cache.TryGetValue(key, out var p)) Cache[key] = p = new FftwPlans<T>(shape, flags, threads);
            return p;
        }
    }

    /// <summary>The cached plans of <paramref name="shape"/> with the default planner flags and threads of <see cref="FftwRealFft3D"/>.</summary>
    public static FftwPlans<T> Get(int[] shape) => Get(shape, FftwRealFft3D.PlannerFlags, FftwRealFft3D.DefaultThreads(shape));

    public void Forward(T* real, T* spectrum) => _api.ExecuteR2C(_forward, real, spectrum);
    public void Inverse(T* spectrum, T* real) => _api.ExecuteC2R(_inverse, spectrum, real);

    private readonly Dictionary<string, PrunedPlans> _pruned = new();

    /// <summary>
    /// Plans of FFTW's guru interface for a zero-padded grid with data in the corner block [0, block[k]) (on axis 0
    /// possibly [first, block[0])). Forward: the
    /// r2c transforms of the x &lt; block[0] slabs only (2-D (y, z) planes in 3-D, the y lines in 2-D) into the spectrum,
    /// whose x &gt;= block[0] tail (contiguous) is cleared, then the x lines in place. The inverse mirrors it: x lines,
    /// then the c2r of the x &lt; block[0] slabs, which is all the block needs. Pruning only x keeps FFTW's plane
    /// transforms (cache friendly); pruning the lines of every axis, 1/4 + 1/2 + 1 of the work on paper, measured slower.
    /// 1-D grids use the plain transforms.
    /// </summary>
    private sealed class PrunedPlans
    {
        public nint R2C, C2R, ForwardX, InverseX;
    }

    /// <summary>Throws unless <paramref name="block"/> has one extent per axis, each between 1 and the transform's.</summary>
    private void CheckBlock(int[] block)
    {
        if (block.Length != Shape.Length) throw new ArgumentException($"The block has {block.Length} axes, the transform {Shape.Length}.");
        for (int k = 0; k < block.Length; k++)
            if (block[k] < 1 || block[k] > Shape[k]) throw new ArgumentException($"Block extent {block[k]} outside 1..{Shape[k]} on axis {k}.");
    }

    /// <summary>Row-major element strides of the real grid and of the half spectrum.</summary>
    private (int[] Real, int[] Spectrum) RowMajorStrides()
    {
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
        return (rs, cs);
    }

    /// <summary>The pruned plans of <paramref name="block"/> whose slab transforms cover x in [first, block[0]) only.</summary>
    private PrunedPlans Pruned(int[] block, int first)
    {
        CheckBlock(block);
        var key = first == 0 ? string.Join("x", block) : $"{string.Join("x", block)}from{first}";
        lock (_pruned)
        {
            if (_pruned.TryGetValue(key, out var plans)) return plans;
            int r = Shape.Length;
            var (rs, cs) = RowMajorStrides();
            plans = new PrunedPlans();
            using var real = new NativeBuffer<T>(RealLength);
            using var spectrum = new NativeBuffer<T>(2 * SpectrumLength);
            var slab = stackalloc FftwNative.IoDim[2];
            var many = stackalloc FftwNative.IoDim[2];
            var line = stackalloc FftwNative.IoDim[1];
            lock (FftwNative.PlannerLock)
            {
                if (_api.HasThreads) _api.PlanWithThreads(ThreadCount);
                _api.SetTimeLimit(FftwRealFft3D.PlannerTimeLimit);
                // The slab transforms: axes 1..r-1 (real strides in, complex strides out), x < block[0].
                for (int k = 1; k < r; k++) slab[k - 1] = new FftwNative.IoDim(Shape[k], rs[k], cs[k]);
                many[0] = new FftwNative.IoDim(block[0] - first, rs[0], cs[0]);
                plans.R2C = _api.PlanGuruR2C(r - 1, slab, 1, many, real.Pointer, spectrum.Pointer, Flags);
                for (int k = 1; k < r; k++) slab[k - 1] = new FftwNative.IoDim(Shape[k], cs[k], rs[k]);
                many[0] = new FftwNative.IoDim(block[0], cs[0], rs[0]);
                plans.C2R = _api.PlanGuruC2R(r - 1, slab, 1, many, spectrum.Pointer, real.Pointer, Flags);
                // The x lines, in place, over every frequency of the other axes.
                line[0] = new FftwNative.IoDim(Shape[0], cs[0], cs[0]);
                for (int k = 1; k < r; k++) many[k - 1] = new FftwNative.IoDim(SpectrumShape[k], cs[k], cs[k]);
                plans.ForwardX = _api.PlanGuruDft(1, line, r - 1, many, spectrum.Pointer, spectrum.Pointer, -1, Flags);
                plans.InverseX = _api.PlanGuruDft(1, line, r - 1, many, spectrum.Pointer, spectrum.Pointer, +1, Flags);
            }
            if (plans.R2C == 0 || plans.C2R == 0 || plans.ForwardX == 0 || plans.InverseX == 0)
                throw new InvalidOperationException($"FFTW could not plan the pruned transforms of [{string.Join(", ", Shape)}] with block [{key}].");
            _pruned[key] = plans;
            return plans;
        }
    }

    /// <summary>
    /// The forward transform of a real array that is zero outside the block (and below <paramref name="first"/> on axis
    /// 0); the result is the full half spectrum.
    /// </summary>
    public void ForwardPruned(T* real, T* spectrum, int[] block, int first)
    {
        if (Shape.Length == 1)
        {
            Forward(real, spectrum);
            return;
        }
        long slab = SpectrumLength / SpectrumShape[0], realSlab = RealLength / Shape[0];
        long complexSize = 2L * sizeof(T);
        // The slab plans run at an offset of first slabs; FFTW's new-array execute needs the planning alignment
        // (16 bytes), which a real slab of odd length breaks at odd offsets: then all slabs are transformed.
        if (first > 0 && first * realSlab * sizeof(T) % 16 != 0) first = 0;
        var p = Pruned(block, first);
        if (first > 0) NativeMemory.Clear(spectrum, (nuint)(first * slab * complexSize));
        NativeMemory.Clear(spectrum + 2 * block[0] * slab, (nuint)((SpectrumShape[0] - block[0]) * slab * complexSize));
        _api.ExecuteR2C(p.R2C, real + first * realSlab, spectrum + 2 * first * slab);
        _api.ExecuteDft(p.ForwardX, spectrum, spectrum);
    }

    private readonly Dictionary<string, PrunedPlans> _batched = new();

    /// <summary>
    /// The pruned plans of <see cref="Pruned"/> over <paramref name="count"/> grids at once: each guru plan gains one
    /// more howmany dimension, grid g at real offset g·<see cref="RealLength"/> and complex offset
    /// g·<see cref="SpectrumLength"/> (so one r2c, one x-line dft per direction and one c2r serve every grid). A 1-D
    /// shape is a plain many-transform (the whole line per grid). Threads: as <see cref="FftwRealFft3D.Threads"/>, with
    /// the default chosen by the points of all grids together (one thread below 2^20).
    /// </summary>
    private PrunedPlans Batched(int[] block, int first, int count)
    {
        CheckBlock(block);
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "A batched transform needs at least one grid.");
        var key = $"{string.Join("x", block)}from{first}|{count}";
        lock (_batched)
        {
            if (_batched.TryGetValue(key, out var plans)) return plans;
            int r = Shape.Length;
            var (rs, cs) = RowMajorStrides();
            if (count * RealLength > int.MaxValue || count * SpectrumLength * 2 > int.MaxValue)
                throw new ArgumentOutOfRangeException(nameof(count), count, $"FftwPlans: {count} grids of {RealLength} points exceed FFTW's int strides; transform fewer grids at once.");
            int realStride = (int)RealLength, complexStride = (int)SpectrumLength;
            plans = new PrunedPlans();
            using var real = new NativeBuffer<T>(count * RealLength);
            using var spectrum = new NativeBuffer<T>(2 * count * SpectrumLength);
            var dims = stackalloc FftwNative.IoDim[3];
            var many = stackalloc FftwNative.IoDim[3];
            int threads = FftwRealFft3D.Threads > 0 ? FftwRealFft3D.Threads : count * RealLength >= 1 << 20 ? Environment.ProcessorCount : 1;
            lock (FftwNative.PlannerLock)
            {
                if (_api.HasThreads) _api.PlanWithThreads(threads);
                _api.SetTimeLimit(FftwRealFft3D.PlannerTimeLimit);
                if (r == 1)
                {
                    dims[0] = new FftwNative.IoDim(Shape[0], 1, 1);
                    many[0] = new FftwNative.IoDim(count, realStride, complexStride);
                    plans.R2C = _api.PlanGuruR2C(1, dims, 1, many, real.Pointer, spectrum.Pointer, Flags);
                    many[0] = new FftwNative.IoDim(count, complexStride, realStride);
                    plans.C2R = _api.PlanGuruC2R(1, dims, 1, many, spectrum.Pointer, real.Pointer, Flags);
                }
                else
                {
                    // The slab transforms of every grid: axes 1..r-1, x in [first, block[0]) (forward) or [0, block[0]) (inverse).
                    for (int k = 1; k < r; k++) dims[k - 1] = new FftwNative.IoDim(Shape[k], rs[k], cs[k]);
                    many[0] = new FftwNative.IoDim(count, realStride, complexStride);
                    many[1] = new FftwNative.IoDim(block[0] - first, rs[0], cs[0]);
                    plans.R2C = _api.PlanGuruR2C(r - 1, dims, 2, many, real.Pointer, spectrum.Pointer, Flags);
                    for (int k = 1; k < r; k++) dims[k - 1] = new FftwNative.IoDim(Shape[k], cs[k], rs[k]);
                    many[0] = new FftwNative.IoDim(count, complexStride, realStride);
                    many[1] = new FftwNative.IoDim(block[0], cs[0], rs[0]);
                    plans.C2R = _api.PlanGuruC2R(r - 1, dims, 2, many, spectrum.Pointer, real.Pointer, Flags);
                    // The x lines of every grid, in place, over every frequency of the other axes.
                    dims[0] = new FftwNative.IoDim(Shape[0], cs[0], cs[0]);
                    many[0] = new FftwNative.IoDim(count, complexStride, complexStride);
                    for (int k = 1; k < r; k++) many[k] = new FftwNative.IoDim(SpectrumShape[k], cs[k], cs[k]);
                    plans.ForwardX = _api.PlanGuruDft(1, dims, r, many, spectrum.Pointer, spectrum.Pointer, -1, Flags);
                    plans.InverseX = _api.PlanGuruDft(1, dims, r, many, spectrum.Pointer, spectrum.Pointer, +1, Flags);
                }
            }
            if (plans.R2C == 0 || plans.C2R == 0 || (r > 1 && (plans.ForwardX == 0 || plans.InverseX == 0)))
                throw new InvalidOperationException($"FFTW could not plan the batched transforms of {count} grids [{string.Join(", ", Shape)}] with block [{key}].");
            _batched[key] = plans;
            return plans;
        }
    }

    /// <summary>
    /// <see cref="ForwardPruned"/> of <paramref name="count"/> grids with one batched plan: grid g's real values at
    /// real + g·RealLength, its half spectrum at spectrum + 2g·SpectrumLength.
    /// </summary>
    public void ForwardPrunedBatch(T* real, T* spectrum, int[] block, int first, int count)
    {
        long slab = SpectrumLength / SpectrumShape[0], realSlab = RealLength / Shape[0];
        long complexSize = 2L * sizeof(T);
        if (Shape.Length == 1) first = 0;
        // As ForwardPruned: an offset that breaks FFTW's planning alignment transforms all slabs.
        if (first > 0 && first * realSlab * sizeof(T) % 16 != 0) first = 0;
        var p = Batched(block, first, count);
        if (Shape.Length == 1)
        {
            _api.ExecuteR2C(p.R2C, real, spectrum);
            return;
        }
        for (int g = 0; g < count; g++)
        {
            T* s = spectrum + 2 * g * SpectrumLength;
            if (first > 0) NativeMemory.Clear(s, (nuint)(first * slab * complexSize));
            NativeMemory.Clear(s + 2 * block[0] * slab, (nuint)((SpectrumShape[0] - block[0]) * slab * complexSize));
        }
        _api.ExecuteR2C(p.R2C, real + first * realSlab, spectrum + 2 * first * slab);
        _api.ExecuteDft(p.ForwardX, spectrum, spectrum);
    }

    /// <summary><see cref="InversePruned"/> of <paramref name="count"/> grids with one batched plan (layout of <see cref="ForwardPrunedBatch"/>).</summary>
    public void InversePrunedBatch(T* spectrum, T* real, int[] block, int count)
    {
        var p = Batched(block, 0, count);
        if (Shape.Length > 1) _api.ExecuteDft(p.InverseX, spectrum, spectrum);
        _api.ExecuteC2R(p.C2R, spectrum, real);
    }

    /// <summary>The inverse transform when only the corner block of the result is needed (the rest is unspecified).</summary>
    public void InversePruned(T* spectrum, T* real, int[] block)
    {
        if (Shape.Length == 1)
        {
            Inverse(spectrum, real);
            return;
        }
        var p = Pruned(block, 0);
        _api.ExecuteDft(p.InverseX, spectrum, spectrum);
        _api.ExecuteC2R(p.C2R, spectrum, real);
    }
}
