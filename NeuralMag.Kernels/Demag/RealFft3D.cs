using NeuralMag.AD;
using System.Numerics;

namespace NeuralMag.Kernels.Demag;

/// <summary>Which real-to-complex FFT implementation to use.</summary>
public enum FftBackend
{
    /// <summary>FFTW when libfftw3 loads, else the managed transform (with a one-line notice on stderr).</summary>
    Auto,
    /// <summary>FFTW 3 through P/Invoke (<see cref="FftwNative"/>).</summary>
    Fftw,
    /// <summary>Our real-to-complex transform on top of MathNet.Numerics' 1-D complex FFTs.</summary>
    Managed,
}

/// <summary>
/// Unnormalized real-to-complex FFT of a row-major real array of rank 1 to 3 (<see cref="Shape"/>) and its inverse.
/// The spectrum is the half spectrum of FFTW's layout: the last axis keeps n/2 + 1 frequencies, the others all.
/// Forward uses exp(-i...); Inverse uses exp(+i...), does not divide by the number of points, and may overwrite the
/// spectrum. Buffers are <see cref="NativeBuffer{T}"/>s of <see cref="RealLength"/> and <see cref="SpectrumLength"/>.
/// Instances are cheap views on cached plans and may be used from several threads at once.
/// </summary>
public abstract unsafe class RealFft3D
{
    /// <summary>Transforms of a real array of <paramref name="shape"/>.</summary>
    /// <exception cref="ArgumentException">The rank is not 1 to 3 or an extent is below 1.</exception>
    protected RealFft3D(int[] shape)
    {
        if (shape.Length is < 1 or > 3 || shape.Any(n => n < 1)) throw new ArgumentException($"RealFft3D: bad shape [{string.Join(", ", shape)}].");
        Shape = (int[])shape.Clone();
        SpectrumShape = (int[])shape.Clone();
        SpectrumShape[^1] = shape[^1] / 2 + 1;
        RealLength = shape.Aggregate(1L, (a, n) => a * n);
        SpectrumLength = SpectrumShape.Aggregate(1L, (a, n) => a * n);
    }

    /// <summary>Extents of the real array.</summary>
    public int[] Shape { get; }
    /// <summary>Extents of the half spectrum: <see cref="Shape"/> with the last axis n/2 + 1.</summary>
    public int[] SpectrumShape { get; }
    /// <summary>Elements of the real array.</summary>
    public long RealLength { get; }
    /// <summary>Elements of the half spectrum.</summary>
    public long SpectrumLength { get; }
    /// <summary>The implementation (FFTW or managed).</summary>
    public abstract FftBackend Backend { get; }

    /// <summary>Unnormalized forward transform (exp(-i...)) of <see cref="RealLength"/> reals into <see cref="SpectrumLength"/> complex values.</summary>
    public abstract void Forward(double* real, Complex* spectrum);
    /// <summary>Unnormalized inverse transform (exp(+i...), no 1/n) of the half spectrum; the spectrum may be overwritten.</summary>
    public abstract void Inverse(Complex* spectrum, double* real);

    /// <summary>
    /// <see cref="Forward(double*, Complex*)"/> of a real array that is zero outside the corner block [0, block[k]) per axis: an
    /// implementation may skip the 1-D transforms of all-zero lines (FFTW does). The result is the full half spectrum.
    /// </summary>
    public virtual void ForwardPruned(double* real, Complex* spectrum, int[] block) => Forward(real, spectrum);

    /// <summary>
    /// <see cref="ForwardPruned(double*, Complex*, int[])"/> of a real array whose block is also zero below
    /// <paramref name="first"/> on axis 0 (the data lie in [first, block[0]) there): an implementation may skip the
    /// transforms of the zero slabs too (FFTW does), which makes the transform of a localized input, such as the
    /// cotangent of a probe objective, cheaper. The result is the full half spectrum.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="first"/> is not in [0, block[0]).</exception>
    public virtual void ForwardPruned(double* real, Complex* spectrum, int[] block, int first)
    {
        ArgumentNullException.ThrowIfNull(block);
        if (block.Length == 0 || first < 0 || first >= block[0])
            throw new ArgumentOutOfRangeException(nameof(first), first, $"RealFft3D: the first non-zero slab must lie in [0, block[0]) = [0, {(block.Length > 0 ? block[0] : 0)}).");
        ForwardPruned(real, spectrum, block);
    }

    /// <summary>
    /// <see cref="Inverse(Complex*, double*)"/> when only the corner block [0, block[k]) of the result is needed: the values outside it
    /// are unspecified (FFTW skips the lines that do not reach the block).
    /// </summary>
    public virtual void InversePruned(Complex* spectrum, double* real, int[] block) => Inverse(spectrum, real);

    /// <summary>Forward transform between buffers of <see cref="RealLength"/> and <see cref="SpectrumLength"/> elements.</summary>
    /// <exception cref="ArgumentException">A buffer is shorter than required.</exception>
    public void Forward(NativeBuffer<double> real, NativeBuffer<Complex> spectrum) { Check(real, spectrum); Forward(real.Pointer, spectrum.Pointer); }
    /// <summary>Inverse transform between buffers of <see cref="SpectrumLength"/> and <see cref="RealLength"/> elements.</summary>
    /// <exception cref="ArgumentException">A buffer is shorter than required.</exception>
    public void Inverse(NativeBuffer<Complex> spectrum, NativeBuffer<double> real) { Check(real, spectrum); Inverse(spectrum.Pointer, real.Pointer); }

    private void Check(NativeBuffer<double> real, NativeBuffer<Complex> spectrum)
    {
        if (real.Length < RealLength || spectrum.Length < SpectrumLength)
            throw new ArgumentException($"RealFft3D: buffers of {real.Length} and {spectrum.Length} for {RealLength} real and {SpectrumLength} complex values.");
    }

    /// <summary>The process-wide default: <see cref="FftBackend.Auto"/> unless <see cref="Config.Fft"/> (NM_FFT=managed|fftw) or set here.</summary>
    public static FftBackend DefaultBackend { get; set; } =
        Config.Fft switch { "managed" => FftBackend.Managed, "fftw" => FftBackend.Fftw, _ => FftBackend.Auto };

    private static int _noticeShown;

    /// <summary>The transform of <paramref name="shape"/> with the given (or default) backend.</summary>
    public static RealFft3D Create(int[] shape, FftBackend backend = FftBackend.Auto) =>
        Resolve(backend) == FftBackend.Fftw ? FftwRealFft3D.Get(shape) : new ManagedRealFft3D(shape);

    /// <summary>The implementation <paramref name="backend"/> stands for here: <see cref="FftBackend.Fftw"/> or
    /// <see cref="FftBackend.Managed"/> (Auto: the default, then FFTW when it loads).</summary>
    /// <exception cref="InvalidOperationException">FFTW was requested and does not load.</exception>
    public static FftBackend Resolve(FftBackend backend)
    {
        if (backend == FftBackend.Auto) backend = DefaultBackend;
        if (backend == FftBackend.Fftw && !FftwNative.Available)
            throw new InvalidOperationException($"FFTW was requested but is not available ({FftwNative.LoadError}). Install libfftw3 (Debian: apt-get install libfftw3-double3).");
        if (backend == FftBackend.Auto)
        {
            if (FftwNative.Available) backend = FftBackend.Fftw;
            else
            {
                backend = FftBackend.Managed;
                if (Interlocked.Exchange(ref _noticeShown, 1) == 0 && FftwNative.LoadError != "NM_FFT=managed")
                    Config.Notice($"libfftw3 not found ({FftwNative.LoadError}); using the managed FFT (slower). Debian/Ubuntu: apt-get install libfftw3-double3.");
            }
        }
        return backend;
    }
}

/// <summary>
/// The transforms a convolution needs, on reals of type <typeparamref name="T"/> with interleaved complex spectra
/// (re, im) in the half-spectrum layout of <see cref="RealFft3D"/>: the pruned forward transform of data in a corner
/// block (zero below <c>first</c> on axis 0) and the inverse of which only the block is read.
/// </summary>
internal unsafe interface IRealFft<T> where T : unmanaged
{
    /// <summary>Extents of the half spectrum.</summary>
    int[] SpectrumShape { get; }
    /// <summary>Elements of the real array.</summary>
    long RealLength { get; }
    /// <summary>Complex elements of the half spectrum (2x as many T).</summary>
    long SpectrumLength { get; }
    /// <summary>Forward transform of a real array zero outside the block and below <paramref name="first"/> on axis 0.</summary>
    void ForwardPruned(T* real, T* spectrum, int[] block, int first);
    /// <summary>Inverse transform of which only the corner block of the result is used.</summary>
    void InversePruned(T* spectrum, T* real, int[] block);

    /// <summary>
    /// <see cref="ForwardPruned"/> of <paramref name="count"/> grids, grid g's reals at real + g·RealLength and its
    /// spectrum at spectrum + 2g·SpectrumLength (FFTW: one batched plan; otherwise grid by grid).
    /// </summary>
    void ForwardPrunedBatch(T* real, T* spectrum, int[] block, int first, int count);
    /// <summary><see cref="InversePruned"/> of <paramref name="count"/> grids in the layout of <see cref="ForwardPrunedBatch"/>.</summary>
    void InversePrunedBatch(T* spectrum, T* real, int[] block, int count);
}

/// <summary>A double-precision <see cref="RealFft3D"/> (FFTW or managed) as an <see cref="IRealFft{T}"/>.</summary>
internal sealed unsafe class DoubleRealFft : IRealFft<double>
{
    private readonly RealFft3D _fft;
    public DoubleRealFft(RealFft3D fft) => _fft = fft;
    public int[] SpectrumShape => _fft.SpectrumShape;
    public long RealLength => _fft.RealLength;
    public long SpectrumLength => _fft.SpectrumLength;

    public void ForwardPruned(double* real, double* spectrum, int[] block, int first)
    {
        if (first > 0) _fft.ForwardPruned(real, (Complex*)spectrum, block, first);
        else _fft.ForwardPruned(real, (Complex*)spectrum, block);
    }

    public void InversePruned(double* spectrum, double* real, int[] block) => _fft.InversePruned((Complex*)spectrum, real, block);

    /// <summary>FFTW: one batched plan for all grids; the managed transform goes grid by grid over its one prepared transform.</summary>
    public void ForwardPrunedBatch(double* real, double* spectrum, int[] block, int first, int count)
    {
        if (_fft is FftwRealFft3D fftw)
        {
            fftw.Plans.ForwardPrunedBatch(real, spectrum, block, first, count);
            return;
        }
        for (int g = 0; g < count; g++) ForwardPruned(real + g * RealLength, spectrum + 2 * g * SpectrumLength, block, first);
    }

    /// <summary>FFTW: one batched plan for all grids; the managed transform goes grid by grid.</summary>
    public void InversePrunedBatch(double* spectrum, double* real, int[] block, int count)
    {
        if (_fft is FftwRealFft3D fftw)
        {
            fftw.Plans.InversePrunedBatch(spectrum, real, block, count);
            return;
        }
        for (int g = 0; g < count; g++) InversePruned(spectrum + 2 * g * SpectrumLength, real + g * RealLength, block);
    }
}
