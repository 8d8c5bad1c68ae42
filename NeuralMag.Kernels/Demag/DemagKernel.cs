using System.Collections.Concurrent;
using System.Numerics;

namespace NeuralMag.Kernels.Demag;

/// <summary>How a <see cref="DemagKernel"/> zero-pads its open axes (always to at least 2n cells).</summary>
public enum DemagPadding
{
    /// <summary><see cref="Smooth"/> when the grid's transform is FFTW's, else <see cref="PowerOfTwo"/>.</summary>
    Auto,
    /// <summary>The next power of two: the radix-2 Stockham FFT of the ILGPU devices and the managed transform need it.</summary>
    PowerOfTwo,
    /// <summary>2n' with n' ≥ n the smallest integer whose prime factors are at most 7: fewer points than a power of two
    /// (1.64x fewer on sp4's 100x25 grid) on lengths FFTW handles with its fast codelets.</summary>
    Smooth,
}

/// <summary>
/// The six independent components of the demagnetization tensor on the FFT grid, transformed to Fourier space
/// (real, since the tensor is even in space) and kept as half spectra of the real-to-complex transform (the last
/// transformed axis keeps n/2 + 1 frequencies). Open axes are zero-padded to at least 2n; pseudo-periodic axes keep
/// n points and sum the tensor over the image copies; axes of one cell are not transformed. Built once per grid, in
/// float64. Also holds the <see cref="RealFft3D"/> of its grid and a pool of convolution work buffers.
/// </summary>
public sealed unsafe class DemagKernel
{
    /// <summary>Component order of <see cref="Spectrum"/>: xx, xy, xz, yy, yz, zz.</summary>
    public static readonly (int I, int J)[] Components = { (0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2) };

    /// <param name="cells">Cells per axis (3 entries; 1 for the missing axes of 1D/2D meshes).</param>
    /// <param name="dx">Cell size in m (3 entries).</param>
    /// <param name="images">Image copies per side per axis (0 = open).</param>
    /// <param name="p">Distance in cell diagonals beyond which the dipole approximation is used (upstream default 20).</param>
    /// <param name="backend">The real FFT of the grid (default: <see cref="RealFft3D.DefaultBackend"/>).</param>
    /// <param name="padding">The padded length of the open axes (default: FFTW's fast lengths when the transform is FFTW's, else powers of two).</param>
    public DemagKernel(int[] cells, double[] dx, int[] images, double p = 20, FftBackend backend = FftBackend.Auto, DemagPadding padding = DemagPadding.Auto)
    {
        Cells = (int[])cells.Clone();
        FftShape = new int[3];
        backend = RealFft3D.Resolve(backend);
        if (padding == DemagPadding.Auto) padding = backend == FftBackend.Fftw ? DemagPadding.Smooth : DemagPadding.PowerOfTwo;
        for (int k = 0; k < 3; k++) FftShape[k] = cells[k] == 1 ? 1 : images[k] > 0 ? cells[k] : PaddedLength(cells[k], padding);
        Axes = Enumerable.Range(0, 3).Where(k => cells[k] > 1).ToArray();
        int size = FftShape[0] * FftShape[1] * FftShape[2];
        // The transform runs on the transformed axes only (a size-1 axis does not change row-major offsets), so the
        // half spectrum halves the last axis of more than one cell.
        TransformShape = Axes.Select(k => FftShape[k]).ToArray();
        Fft = Axes.Length > 0 ? RealFft3D.Create(TransformShape, backend) : null;
        long half = Fft?.SpectrumLength ?? 1;
        using var real = new NativeBuffer<double>(size);
        using var spectrum = new NativeBuffer<Complex>(half);
        nint rp = (nint)real.Pointer;
        // Lengths in units of the smallest cell size (as upstream: keeps single-precision kernels finite).
        double min = dx.Min();
        var d = dx.Select(v => v / min).ToArray();
        Spectrum = new double[6][];
        for (int t = 0; t + 1 < Axes.Length; t++) Folded[Axes[t]] = images[Axes[t]] == 0 && FftShape[Axes[t]] % 2 == 0;
        var perms = new[] { new[] { 0, 1, 2 }, new[] { 0, 1, 2 }, new[] { 0, 2, 1 }, new[] { 1, 2, 0 }, new[] { 1, 2, 0 }, new[] { 2, 0, 1 } };
        var diagonal = new[] { true, false, false, true, false, true };
        for (int c = 0; c < 6; c++)
        {
            var perm = perms[c];
            bool diag = diagonal[c];
            NeuralMag.AD.ParallelLoop.For(size, (lo, hi) =>
            {
                var real = (double*)rp;
                Span<double> pos = stackalloc double[3];
                for (int flat = lo; flat < hi; flat++)
                {
                    int r = flat;
                    int i2 = r % FftShape[2]; r /= FftShape[2];
                    int i1 = r % FftShape[1]; int i0 = r / FftShape[1];
                    pos[0] = Freq(i0, FftShape[0]) * d[0];
                    pos[1] = Freq(i1, FftShape[1]) * d[1];
                    pos[2] = Freq(i2, FftShape[2]) * d[2];
                    double x = pos[perm[0]], y = pos[perm[1]], z = pos[perm[2]];
                    double lx = cells[perm[0]] * d[perm[0]], ly = cells[perm[1]] * d[perm[1]], lz = cells[perm[2]] * d[perm[2]];
                    double ddx = d[perm[0]], ddy = d[perm[1]], ddz = d[perm[2]];
                    int ix = images[perm[0]], iy = images[perm[1]], iz = images[perm[2]];
                    double sum = 0;
                    for (int a = -ix; a <= ix; a++)
                        for (int b = -iy; b <= iy; b++)
                            for (int e = -iz; e <= iz; e++)
                            {
                                double xx = x + a * lx, yy = y + b * ly, zz = z + e * lz;
                                sum += diag ? Newell.Nxx(xx, yy, zz, ddx, ddy, ddz, p) : Newell.Nxy(xx, yy, zz, ddx, ddy, ddz, p);
                            }
                    real[flat] = sum;
                }
            }, 1024);
            var values = new double[half];
            if (Fft != null)
            {
                // An off-diagonal component is odd along its two axes, except for the self-mirrored sample at S/2 of
                // a padded axis, which lies beyond the magnet (|i| >= n) and never enters the cropped convolution:
                // zero it, so the spectrum is exactly odd there and can be folded.
                foreach (int a in OddAxes[c])
                    if (Folded[a]) ZeroPlane(real.Pointer, a, FftShape[a] / 2);
                // Real part of the transform, divided by the number of points: the convolution's inverse transforms
                // are then unnormalized.
                Fft.Forward(real, spectrum);
                double scale = 1.0 / size;
                var sp = spectrum.Span;
                for (int i = 0; i < values.Length; i++) values[i] = sp[i].Real * scale;
                _scale = Math.Max(_scale, values.Max(Math.Abs));
                Spectrum[c] = Fold(values, c);
            }
            else
            {
                values[0] = real.Span[0];
                Spectrum[c] = values;
            }
        }
    }

    /// <summary>
    /// The true-PBC kernel of a fully periodic grid (<see cref="TruePeriodicDemag"/>): the convolution runs on the grid
    /// itself (no padding), and its spectral product is the Hermitian projector −conj(a)(a·M̂) instead of a real
    /// symmetric tensor. Built once per grid in float64.
    /// </summary>
    /// <param name="cells">Cells per axis (3 entries; 1 for the missing axes of 1D/2D meshes).</param>
    /// <param name="dx">Cell size in m (3 entries).</param>
    /// <param name="backend">The real FFT of the grid (default: <see cref="RealFft3D.DefaultBackend"/>).</param>
    public static DemagKernel TruePeriodic(int[] cells, double[] dx, FftBackend backend = FftBackend.Auto) => new(cells, dx, backend);

    private DemagKernel(int[] cells, double[] dx, FftBackend backend)
    {
        Cells = (int[])cells.Clone();
        FftShape = (int[])cells.Clone();
        Axes = Enumerable.Range(0, 3).Where(k => cells[k] > 1).ToArray();
        TransformShape = Axes.Select(k => FftShape[k]).ToArray();
        Fft = Axes.Length > 0 ? RealFft3D.Create(TransformShape, backend) : null;
        StoredShape = Fft?.SpectrumShape ?? Array.Empty<int>();
        // A single cell has only k = 0, where the field vanishes: a zero self term.
        Spectrum = Enumerable.Range(0, 6).Select(_ => new double[1]).ToArray();
        Projector = Fft == null ? new double[6] : TruePeriodicDemag.Projector(Cells, dx, Axes, Fft.SpectrumShape);
    }

    /// <summary>
    /// The padded length of an open axis of n cells: at least 2n, so that the cropped circular convolution equals the
    /// linear one (upstream pads to exactly 2n). <see cref="DemagPadding.PowerOfTwo"/>: the next power of two;
    /// <see cref="DemagPadding.Smooth"/>: 2n' with n' the smallest integer ≥ n without prime factors above 7 (200 for
    /// 100 cells where a power of two is 256), lengths FFTW transforms with its direct codelets.
    /// </summary>
    public static int PaddedLength(int n, DemagPadding padding)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "An axis has at least one cell.");
        if (padding == DemagPadding.PowerOfTwo) return (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(2 * n));
        if (padding != DemagPadding.Smooth) throw new ArgumentOutOfRangeException(nameof(padding), padding, "PaddedLength takes DemagPadding.PowerOfTwo or DemagPadding.Smooth.");
        for (int m = n; ; m++)
        {
            int r = m;
            foreach (int f in SmoothPrimes)
                while (r % f == 0) r /= f;
            if (r == 1) return 2 * m;
        }
    }

    private static readonly int[] SmoothPrimes = { 2, 3, 5, 7 };

    /// <summary>True for the true-PBC kernel (<see cref="TruePeriodic"/>), whose spectral product is a projector.</summary>
    public bool IsTruePeriodic => Projector != null;

    /// <summary>The true-PBC projector a/√N, six values per frequency of the half spectrum (null for the Newell kernel).</summary>
    internal double[]? Projector { get; }

    private float[]? _singleProjector;

    /// <summary><see cref="Projector"/> in precision T (float: computed in float64, rounded once).</summary>
    internal T[] ProjectorOf<T>() where T : unmanaged
    {
        var a = Projector ?? throw new InvalidOperationException("DemagKernel: the Newell kernel has no projector.");
        if (typeof(T) == typeof(double)) return (T[])(object)a;
        if (typeof(T) != typeof(float)) throw new NotSupportedException($"DemagKernel: no projector in {typeof(T).Name}.");
        lock (_singleLock) return (T[])(object)(_singleProjector ??= Array.ConvertAll(a, v => (float)v));
    }

    /// <summary>Physical axes along which each component (<see cref="Components"/> order) is odd.</summary>
    private static readonly int[][] OddAxes = { Array.Empty<int>(), new[] { 0, 1 }, new[] { 0, 2 }, Array.Empty<int>(), new[] { 1, 2 }, Array.Empty<int>() };

    /// <summary>
    /// Per physical axis: the spectrum is stored for the non-negative frequencies only (N̂(−k) = ±N̂(k)): an open
    /// (zero-padded) transformed axis that is not the half-spectrum axis of the real FFT. Pseudo-periodic image sums
    /// are not exactly symmetric, so those axes keep every frequency.
    /// </summary>
    private bool[] Folded { get; } = new bool[3];

    /// <summary>The stored part of the half spectrum per transformed axis (the half spectrum's shape, folded axes halved).</summary>
    public int[] StoredShape { get; private set; } = Array.Empty<int>();

    private void ZeroPlane(double* grid, int axis, int index)
    {
        int n0 = FftShape[0], n1 = FftShape[1], n2 = FftShape[2];
        for (int i0 = 0; i0 < n0; i0++)
            for (int i1 = 0; i1 < n1; i1++)
                for (int i2 = 0; i2 < n2; i2++)
                    if ((axis == 0 ? i0 : axis == 1 ? i1 : i2) == index) grid[((long)i0 * n1 + i1) * n2 + i2] = 0;
    }

    /// <summary>The sign of component c's spectrum at the mirrored frequency of a folded physical axis.</summary>
    public double MirrorSign(int c, int physicalAxis) => OddAxes[c].Contains(physicalAxis) ? -1 : 1;

    /// <summary>Largest |N̂| of the components built so far (xx comes first): the scale of the symmetry check.</summary>
    private double _scale;

    /// <summary>
    /// Keeps the block of non-negative frequencies on the folded axes, after checking N̂(−k) = ±N̂(k) holds to
    /// round-off of the kernel's scale. The scale is that of the whole tensor, not of the component: a component that
    /// is odd along a pseudo-periodic or single-cell axis has a real spectrum that vanishes in exact arithmetic
    /// (upstream keeps the real part only, as here), so what remains is round-off with no symmetry of its own.
    /// </summary>
    private double[] Fold(double[] half, int c)
    {
        var hs = Fft!.SpectrumShape;
        int r = hs.Length;
        var st = (int[])hs.Clone();
        for (int t = 0; t < r - 1; t++)
            if (Folded[Axes[t]]) st[t] = hs[t] / 2 + 1;
        StoredShape = st;
        var h3 = Pad3(hs);
        var s3 = Pad3(st);
        var fold3 = new bool[3];
        var axis3 = new int[3];
        for (int t = 0; t < r; t++)
        {
            fold3[3 - r + t] = t < r - 1 && Folded[Axes[t]];
            axis3[3 - r + t] = Axes[t];
        }
        var stored = new double[(long)s3[0] * s3[1] * s3[2]];
        double max = Math.Max(_scale, half.Max(Math.Abs)), worst = 0;
        for (int i0 = 0; i0 < h3[0]; i0++)
            for (int i1 = 0; i1 < h3[1]; i1++)
            {
                int j0 = i0, j1 = i1;
                double sign = 1;
                if (fold3[0] && i0 > h3[0] / 2) { j0 = h3[0] - i0; sign *= MirrorSign(c, axis3[0]); }
                if (fold3[1] && i1 > h3[1] / 2) { j1 = h3[1] - i1; sign *= MirrorSign(c, axis3[1]); }
                bool mirrored = j0 != i0 || j1 != i1;
                for (int i2 = 0; i2 < h3[2]; i2++)
                {
                    double v = half[((long)i0 * h3[1] + i1) * h3[2] + i2];
                    long o = ((long)j0 * s3[1] + j1) * s3[2] + i2;
                    if (!mirrored) stored[o] = v;
                    else worst = Math.Max(worst, Math.Abs(v - sign * half[((long)j0 * h3[1] + j1) * h3[2] + i2]));
                }
            }
        if (worst > 1e-9 * max)
            throw new InvalidOperationException($"Demag kernel component {c}: the spectrum is not symmetric under k -> -k (deviation {worst / max:E2}); cannot fold it.");
        return stored;
    }

    private static int[] Pad3(int[] s) => Enumerable.Repeat(1, 3 - s.Length).Concat(s).ToArray();

    /// <summary>Component c's half spectrum in the layout of <see cref="RealFft3D.SpectrumShape"/> (unfolded).</summary>
    public double[] HalfSpectrum(int c)
    {
        if (IsTruePeriodic) throw new InvalidOperationException("DemagKernel: the true-PBC kernel is a projector, not a tensor spectrum.");
        if (Fft == null) return (double[])Spectrum[c].Clone();
        var hs = Pad3(Fft.SpectrumShape);
        var st = Pad3(StoredShape);
        int r = Fft.SpectrumShape.Length;
        var result = new double[(long)hs[0] * hs[1] * hs[2]];
        for (int i0 = 0; i0 < hs[0]; i0++)
            for (int i1 = 0; i1 < hs[1]; i1++)
            {
                int j0 = i0, j1 = i1;
                double sign = 1;
                // Padded index p is transform axis p - (3 - r); a folded one always exists.
                if (st[0] < hs[0] && i0 > hs[0] / 2) { j0 = hs[0] - i0; sign *= MirrorSign(c, Axes[0 - (3 - r)]); }
                if (st[1] < hs[1] && i1 > hs[1] / 2) { j1 = hs[1] - i1; sign *= MirrorSign(c, Axes[1 - (3 - r)]); }
                for (int i2 = 0; i2 < hs[2]; i2++)
                    result[((long)i0 * hs[1] + i1) * hs[2] + i2] = sign * Spectrum[c][((long)j0 * st[1] + j1) * st[2] + i2];
            }
        return result;
    }

    /// <summary>Cells per axis of the grid the kernel was built for.</summary>
    public int[] Cells { get; }
    /// <summary>Grid of the convolution per axis.</summary>
    public int[] FftShape { get; }
    /// <summary>Axes that are transformed (more than one cell).</summary>
    public int[] Axes { get; }
    /// <summary><see cref="FftShape"/> on the transformed axes (the real shape of <see cref="Fft"/>).</summary>
    public int[] TransformShape { get; }
    /// <summary>The real-to-complex transform of the grid (null for a single cell).</summary>
    public RealFft3D? Fft { get; }
    /// <summary>
    /// Spectra of N_xx, N_xy, N_xz, N_yy, N_yz, N_zz (<see cref="Components"/> order), divided by the number of FFT
    /// points, stored for the non-negative frequencies of the folded axes only (<see cref="StoredShape"/>; a quarter of
    /// the half spectrum in 3D): N̂(−k) = N̂(k) for the diagonal and ±N̂(k) for the off-diagonal components
    /// (<see cref="MirrorSign"/>). One value (the self term) for a single cell. <see cref="HalfSpectrum"/> unfolds.
    /// </summary>
    public double[][] Spectrum { get; }

    /// <summary>Memory held by the kernel's spectra in bytes (float64, and their float32 copies once made).</summary>
    public long Bytes => Spectrum.Sum(s => (long)s.Length * sizeof(double)) + (_singleSpectrum?.Sum(s => (long)s.Length * sizeof(float)) ?? 0)
        + (Projector?.LongLength ?? 0) * sizeof(double) + (_singleProjector?.LongLength ?? 0) * sizeof(float);

    /// <summary>Memory of one float64 convolution work space in bytes (two real grids and three half spectra; half as much in float32).</summary>
    public long WorkspaceBytes => Fft == null ? 0 : 2 * Fft.RealLength * sizeof(double) + 3 * Fft.SpectrumLength * sizeof(Complex);

    private readonly ConcurrentBag<DemagWorkspace<double>> _workspaces = new();
    private readonly ConcurrentBag<DemagWorkspace<float>> _singleWorkspaces = new();

    /// <summary>A work space for one convolution in precision T (from the pool, or new); give it back with <see cref="Return{T}"/>.</summary>
    internal DemagWorkspace<T> Rent<T>() where T : unmanaged
    {
        var pool = Pool<T>();
        var fft = Transform<T>()!;
        return pool.TryTake(out var w) ? w : new DemagWorkspace<T>(fft.RealLength, fft.SpectrumLength);
    }

    internal void Return<T>(DemagWorkspace<T> w) where T : unmanaged => Pool<T>().Add(w);

    private ConcurrentBag<DemagWorkspace<T>> Pool<T>() where T : unmanaged =>
        typeof(T) == typeof(double) ? (ConcurrentBag<DemagWorkspace<T>>)(object)_workspaces
        : typeof(T) == typeof(float) ? (ConcurrentBag<DemagWorkspace<T>>)(object)_singleWorkspaces
        : throw new NotSupportedException($"DemagKernel: no convolution in {typeof(T).Name}.");

    /// <summary>Frees the pooled work spaces (they are re-made on demand).</summary>
    public void TrimWorkspaces()
    {
        while (_workspaces.TryTake(out var w)) w.Dispose();
        while (_singleWorkspaces.TryTake(out var w)) w.Dispose();
        foreach (var bag in _batchWorkspaces.Values)
            while (bag.TryTake(out var w)) w.Dispose();
    }

    private readonly ConcurrentDictionary<(Type, int), ConcurrentBag<IDisposable>> _batchWorkspaces = new();

    /// <summary>A work space for a batched convolution of <paramref name="members"/> members in precision T (pooled per member count).</summary>
    internal DemagBatchWorkspace<T> RentBatch<T>(int members) where T : unmanaged
    {
        var fft = Transform<T>()!;
        var bag = _batchWorkspaces.GetOrAdd((typeof(T), members), _ => new ConcurrentBag<IDisposable>());
        return bag.TryTake(out var w) ? (DemagBatchWorkspace<T>)w : new DemagBatchWorkspace<T>(fft.RealLength, fft.SpectrumLength, members);
    }

    internal void ReturnBatch<T>(DemagBatchWorkspace<T> w) where T : unmanaged =>
        _batchWorkspaces.GetOrAdd((typeof(T), w.Members), _ => new ConcurrentBag<IDisposable>()).Add(w);

    private DoubleRealFft? _doubleFft;
    private FftwPlans<float>? _singleFft;
    private float[][]? _singleSpectrum;
    private readonly object _singleLock = new();

    /// <summary>
    /// The transform of the grid in precision T: the kernel's <see cref="Fft"/> for double; for float the
    /// single-precision FFTW plans (libfftw3f), or null when libfftw3f is missing (or for a single cell).
    /// </summary>
    internal IRealFft<T>? Transform<T>() where T : unmanaged
    {
        if (Fft == null) return null;
        if (typeof(T) == typeof(double)) return (IRealFft<T>)(object)(_doubleFft ??= new DoubleRealFft(Fft));
        if (typeof(T) != typeof(float) || !FftwNative.SingleAvailable) return null;
        lock (_singleLock) return (IRealFft<T>)(object)(_singleFft ??= FftwPlans<float>.Get(TransformShape));
    }

    /// <summary>The FFTW library of the single-precision transform (null before it is made or without libfftw3f).</summary>
    internal string? SingleTransformLibrary => _singleFft?.Library;

    /// <summary>
    /// <see cref="Spectrum"/> in precision T: the float64 spectra for double; for float each value computed in float64
    /// and rounded once (made on first request and kept).
    /// </summary>
    internal T[][] SpectrumOf<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(double)) return (T[][])(object)Spectrum;
        if (typeof(T) != typeof(float)) throw new NotSupportedException($"DemagKernel: no spectra in {typeof(T).Name}.");
        lock (_singleLock)
            return (T[][])(object)(_singleSpectrum ??= Spectrum.Select(s => s.Select(v => (float)v).ToArray()).ToArray());
    }

    /// <summary>numpy.fft.fftfreq(n, 1/n): 0, 1, ..., then the negative offsets.</summary>
    private static int Freq(int i, int n) => i <= (n - 1) / 2 ? i : i - n;
}
