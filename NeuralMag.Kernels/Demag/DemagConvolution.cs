using System.Numerics;

namespace NeuralMag.Kernels.Demag;

/// <summary>
/// The cell-wise demagnetization field h_c = sum_c' N(c - c') M_c' (A/m) of cell magnetizations M = Ms rho m (A/m),
/// by FFT convolution with a <see cref="DemagKernel"/>, or, for true periodic boundaries on all axes, by the
/// finite-difference Poisson solver in Fourier space of Bruckner et al., Sci. Rep. 11, 9202 (2021). Both operators are
/// linear and self-adjoint, so their VJP is the same operation applied to the output gradient.
/// </summary>
public static unsafe class DemagConvolution
{
    /// <param name="kernel">Demag kernel of the grid.</param>
    /// <param name="magnetization">Cells x 3 values of Ms rho m (row-major cells).</param>
    /// <param name="into">Optional cells x 3 array for the result (every element is written); a new one otherwise.</param>
    public static double[] Apply(DemagKernel kernel, double[] magnetization, double[]? into = null)
    {
        var h = Prepare(kernel, magnetization, into);
        Convolve(kernel, kernel.Transform<double>(), magnetization, h);
        return h;
    }

    /// <summary>
    /// The convolution in single precision: transforms (libfftw3f), kernel spectra (computed in float64, rounded once)
    /// and products all in float32. Without libfftw3f the float64 convolution runs on the widened values and the
    /// result is rounded (with a one-line notice).
    /// </summary>
    /// <param name="kernel">Demag kernel of the grid.</param>
    /// <param name="magnetization">Cells x 3 values of Ms rho m (row-major cells).</param>
    /// <param name="into">Optional cells x 3 array for the result (every element is written); a new one otherwise.</param>
    public static float[] Apply(DemagKernel kernel, float[] magnetization, float[]? into = null)
    {
        var h = Prepare(kernel, magnetization, into);
        var fft = kernel.Transform<float>();
        if (kernel.Fft != null && fft == null)
        {
            if (Interlocked.Exchange(ref _singleNoticeShown, 1) == 0 && FftwNative.SingleLoadError != "NM_FFT=managed")
                NeuralMag.AD.Config.Notice($"libfftw3f not found ({FftwNative.SingleLoadError}); float32 demag runs in float64 and rounds. Debian/Ubuntu: apt-get install libfftw3-single3.");
            var wide = Apply(kernel, Array.ConvertAll(magnetization, v => (double)v));
            for (int i = 0; i < h.Length; i++) h[i] = (float)wide[i];
            return h;
        }
        Convolve(kernel, fft, magnetization, h);
        return h;
    }

    private static int _singleNoticeShown;

    private static T[] Prepare<T>(DemagKernel kernel, T[] magnetization, T[]? into)
    {
        var n = kernel.Cells;
        int cells = n[0] * n[1] * n[2];
        if (magnetization.Length != cells * 3) throw new ArgumentException($"DemagConvolution: {magnetization.Length} values for {cells} cells x 3.", nameof(magnetization));
        if (into != null && into.Length != cells * 3) throw new ArgumentException($"DemagConvolution: the output has {into.Length} values, expected {cells * 3}.", nameof(into));
        return into ?? new T[cells * 3];
    }

    /// <summary>h = N * M in the precision T (one implementation for float and double).</summary>
    private static void Convolve<T>(DemagKernel kernel, IRealFft<T>? fft, T[] magnetization, T[] h) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var n = kernel.Cells;
        if (fft == null)
        {
            // A single cell: the tensor is the self term only (its Fourier transform is itself).
            var sp = kernel.SpectrumOf<T>();
            Array.Clear(h);
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) h[i] += sp[ComponentIndex(i, j)][0] * magnetization[j];
            return;
        }
        var ws = kernel.Rent<T>();
        // The data occupy the cell block of the padded grid: the transforms skip the all-zero lines (forward) and the
        // lines that miss the block (inverse), about 1.75 of 3 line passes per direction for a 2x-padded 3D grid.
        var block = kernel.Axes.Select(k => n[k]).ToArray();
        // The slabs of the first transformed axis that hold non-zero values of M: [first, end).
        var (first, end) = NonZeroSlabs(magnetization, n, kernel.Axes[0]);
        var forwardBlock = (int[])block.Clone();
        forwardBlock[0] = end;
        try
        {
            // M -> M^ (r2c, which keeps its input: the padding of ws.Real stays zero), h^ = N^ M^, h^ -> h (c2r).
            for (int j = 0; j < 3; j++)
            {
                Scatter(magnetization, j, n, kernel.FftShape, ws.Real.Pointer);
                fft.ForwardPruned(ws.Real.Pointer, ws.Spectra[j].Pointer, forwardBlock, first);
            }
            MultiplyInPlace(kernel, fft.SpectrumShape, ws);
            for (int i = 0; i < 3; i++)
            {
                fft.InversePruned(ws.Spectra[i].Pointer, ws.Output.Pointer, block);
                Gather(ws.Output.Pointer, n, kernel.FftShape, h, i);
            }
        }
        finally
        {
            kernel.Return(ws);
        }
    }

    /// <summary>
    /// The range [first, end) of indices along the first transformed axis at which M has non-zero values ([0, n] for
    /// a dense M, found at once; [0, 1) for an all-zero M): the slabs outside it need no forward transform. A
    /// localized M, such as the cotangent of a probe objective in the VJP, is zero in most of them.
    /// </summary>
    private static (int First, int End) NonZeroSlabs<T>(T[] magnetization, int[] n, int axis) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int inner = 3;
        for (int k = axis + 1; k < 3; k++) inner *= n[k];
        int lo = 0, hi = magnetization.Length - 1;
        while (lo < magnetization.Length && T.IsZero(magnetization[lo])) lo++;
        if (lo == magnetization.Length) return (0, 1);
        while (T.IsZero(magnetization[hi])) hi--;
        return (lo / inner, hi / inner + 1);
    }

    /// <summary>
    /// h^ = N^ M^ at every frequency of the half spectrum, overwriting M^ (the kernel spectra already carry the 1/N of
    /// the inverse; spectra are interleaved (re, im), and the real N^ scales both parts). The kernel is stored for
    /// non-negative frequencies of the folded axes: a mirrored row reads the stored row and flips the sign of the
    /// components odd along that axis.
    /// </summary>
    private static void MultiplyInPlace<T>(DemagKernel kernel, int[] hs, DemagWorkspace<T> ws) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sp = kernel.SpectrumOf<T>();
        T[] nxx = sp[0], nxy = sp[1], nxz = sp[2], nyy = sp[3], nyz = sp[4], nzz = sp[5];
        int r = hs.Length;
        var h3 = Enumerable.Repeat(1, 3 - r).Concat(hs).ToArray();
        var s3 = Enumerable.Repeat(1, 3 - r).Concat(kernel.StoredShape).ToArray();
        var phys = new int[3];
        for (int pIdx = 0; pIdx < 3; pIdx++) phys[pIdx] = pIdx - (3 - r) >= 0 ? kernel.Axes[pIdx - (3 - r)] : -1;
        // Sign flips of (xy, xz, yz) when padded axis 0 or 1 is mirrored.
        T Flip(int c, int pIdx) => phys[pIdx] < 0 ? T.One : T.CreateTruncating(kernel.MirrorSign(c, phys[pIdx]));
        T fxy0 = Flip(1, 0), fxz0 = Flip(2, 0), fyz0 = Flip(4, 0), fxy1 = Flip(1, 1), fxz1 = Flip(2, 1), fyz1 = Flip(4, 1);
        nint p0 = (nint)ws.Spectra[0].Pointer, p1 = (nint)ws.Spectra[1].Pointer, p2 = (nint)ws.Spectra[2].Pointer;
        int rows = h3[0] * h3[1], n2 = h3[2];
        NeuralMag.AD.ParallelLoop.For(rows, (lo, hi) =>
        {
            T* a = (T*)p0, b = (T*)p1, c = (T*)p2;
            for (int row = lo; row < hi; row++)
            {
                int i0 = row / h3[1], i1 = row % h3[1];
                int j0 = i0, j1 = i1;
                T sxy = T.One, sxz = T.One, syz = T.One;
                if (s3[0] < h3[0] && i0 > h3[0] / 2) { j0 = h3[0] - i0; sxy *= fxy0; sxz *= fxz0; syz *= fyz0; }
                if (s3[1] < h3[1] && i1 > h3[1] / 2) { j1 = h3[1] - i1; sxy *= fxy1; sxz *= fxz1; syz *= fyz1; }
                long k0 = (long)row * n2, o0 = ((long)j0 * s3[1] + j1) * n2;
                for (int i2 = 0; i2 < n2; i2++)
                {
                    long k = 2 * (k0 + i2), o = o0 + i2;
                    T kxx = nxx[o], kxy = sxy * nxy[o], kxz = sxz * nxz[o], kyy = nyy[o], kyz = syz * nyz[o], kzz = nzz[o];
                    T xr = a[k], xi = a[k + 1], yr = b[k], yi = b[k + 1], zr = c[k], zi = c[k + 1];
                    a[k] = kxx * xr + kxy * yr + kxz * zr;
                    a[k + 1] = kxx * xi + kxy * yi + kxz * zi;
                    b[k] = kxy * xr + kyy * yr + kyz * zr;
                    b[k + 1] = kxy * xi + kyy * yi + kyz * zi;
                    c[k] = kxz * xr + kyz * yr + kzz * zr;
                    c[k + 1] = kxz * xi + kyz * yi + kzz * zi;
                }
            }
        }, Math.Max(1, 16384 / n2));
    }

    /// <summary>Component j of the cell values into the corner block of the padded grid s.</summary>
    private static void Scatter<T>(T[] values, int j, int[] n, int[] s, T* grid) where T : unmanaged
    {
        nint gp = (nint)grid;
        NeuralMag.AD.ParallelLoop.For(n[0] * n[1], (lo, hi) =>
        {
            var g = (T*)gp;
            for (int row = lo; row < hi; row++)
            {
                int i0 = row / n[1], i1 = row % n[1];
                T* dst = g + ((long)i0 * s[1] + i1) * s[2];
                int src = row * n[2] * 3 + j;
                for (int i2 = 0; i2 < n[2]; i2++) dst[i2] = values[src + i2 * 3];
            }
        }, Math.Max(1, 16384 / n[2]));
    }

    /// <summary>The corner block of the padded grid s into component i of the cell values.</summary>
    private static void Gather<T>(T* grid, int[] n, int[] s, T[] values, int i) where T : unmanaged
    {
        nint gp = (nint)grid;
        NeuralMag.AD.ParallelLoop.For(n[0] * n[1], (lo, hi) =>
        {
            var g = (T*)gp;
            for (int row = lo; row < hi; row++)
            {
                int i0 = row / n[1], i1 = row % n[1];
                T* src = g + ((long)i0 * s[1] + i1) * s[2];
                int dst = row * n[2] * 3 + i;
                for (int i2 = 0; i2 < n[2]; i2++) values[dst + i2 * 3] = src[i2];
            }
        }, Math.Max(1, 16384 / n[2]));
    }

    private static int ComponentIndex(int i, int j) => (Math.Min(i, j), Math.Max(i, j)) switch
    {
        (0, 0) => 0, (0, 1) => 1, (0, 2) => 2, (1, 1) => 3, (1, 2) => 4, _ => 5,
    };

    /// <summary>
    /// True-PBC field on a cells[0] x cells[1] x cells[2] periodic grid: solve the discrete Poisson equation for the
    /// scalar potential u with the divergence of M by backward differences, h = -grad u by forward differences.
    /// </summary>
    public static double[] ApplyPeriodic(int[] cells, double[] dx, double[] magnetization)
    {
        int n0 = cells[0], n1 = cells[1], n2 = cells[2], size = n0 * n1 * n2;
        var axes = Enumerable.Range(0, 3).Where(k => cells[k] > 1).ToArray();
        var mf = new Complex[3][];
        for (int j = 0; j < 3; j++)
        {
            var buf = new Complex[size];
            for (int c = 0; c < size; c++) buf[c] = magnetization[c * 3 + j];
            Fft.Transform(buf, cells, axes, inverse: false);
            mf[j] = buf;
        }
        var hf = new[] { new Complex[size], new Complex[size], new Complex[size] };
        for (int i0 = 0; i0 < n0; i0++)
            for (int i1 = 0; i1 < n1; i1++)
                for (int i2 = 0; i2 < n2; i2++)
                {
                    int c = (i0 * n1 + i1) * n2 + i2;
                    double kx = 2.0 * Math.PI * i0 / n0, ky = 2.0 * Math.PI * i1 / n1, kz = 2.0 * Math.PI * i2 / n2;
                    var div = (1.0 - Complex.Exp(-Complex.ImaginaryOne * kx)) * mf[0][c] / dx[0]
                            + (1.0 - Complex.Exp(-Complex.ImaginaryOne * ky)) * mf[1][c] / dx[1]
                            + (1.0 - Complex.Exp(-Complex.ImaginaryOne * kz)) * mf[2][c] / dx[2];
                    double sx = Math.Sin(kx / 2.0), sy = Math.Sin(ky / 2.0), sz = Math.Sin(kz / 2.0);
                    double lap = 4.0 / (dx[0] * dx[0]) * (sx * sx) + 4.0 / (dx[1] * dx[1]) * (sy * sy) + 4.0 / (dx[2] * dx[2]) * (sz * sz);
                    if (c == 0) continue; // the mean potential is free: u(k = 0) = 0
                    var u = -div / lap;
                    hf[0][c] = (1.0 - Complex.Exp(Complex.ImaginaryOne * kx)) * u / dx[0];
                    hf[1][c] = (1.0 - Complex.Exp(Complex.ImaginaryOne * ky)) * u / dx[1];
                    hf[2][c] = (1.0 - Complex.Exp(Complex.ImaginaryOne * kz)) * u / dx[2];
                }
        var h = new double[size * 3];
        for (int i = 0; i < 3; i++)
        {
            Fft.Transform(hf[i], cells, axes, inverse: true);
            for (int c = 0; c < size; c++) h[c * 3 + i] = hf[i][c].Real;
        }
        return h;
    }
}
