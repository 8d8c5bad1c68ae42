using System.Numerics;
using MathNet.Numerics.IntegralTransforms;
using NeuralMag.AD;

namespace NeuralMag.Kernels.Demag;

/// <summary>
/// Managed real-to-complex FFT (the fallback when FFTW is missing). The last axis is transformed two real lines at a
/// time as one complex line z = x + i y (X_k = (Z_k + conj Z_{n-k})/2, Y_k = (Z_k - conj Z_{n-k})/(2i)), keeping
/// n/2 + 1 frequencies; the other axes are complex line transforms of the half spectrum. 1-D transforms are
/// MathNet.Numerics' (radix 2 for powers of two, else mixed radix / Bluestein), lines in parallel.
/// </summary>
public sealed unsafe class ManagedRealFft3D : RealFft3D
{
    // Forward: exp(-i), no scaling. Inverses are computed as conj(FFT(conj(x))), also unscaled.
    internal const FourierOptions ForwardOptions = FourierOptions.Matlab;

    /// <summary>Transforms of a real array of <paramref name="shape"/> (rank 1 to 3, every extent at least 1).</summary>
    public ManagedRealFft3D(int[] shape) : base(shape) { }

    /// <inheritdoc/>
    public override FftBackend Backend => FftBackend.Managed;

    /// <inheritdoc/>
    public override void Forward(double* real, Complex* spectrum)
    {
        int n = Shape[^1], h = SpectrumShape[^1];
        int lines = (int)(RealLength / n);
        nint rp = (nint)real, sp = (nint)spectrum;
        ParallelLoop.For((lines + 1) / 2, (lo, hi) =>
        {
            var x = (double*)rp;
            var s = (Complex*)sp;
            var buf = new Complex[n];
            for (int p = lo; p < hi; p++)
            {
                int l0 = 2 * p, l1 = l0 + 1;
                bool pair = l1 < lines;
                double* a = x + (long)l0 * n, b = x + (long)l1 * n;
                for (int i = 0; i < n; i++) buf[i] = new Complex(a[i], pair ? b[i] : 0);
                if (n > 1) Fourier.Forward(buf, ForwardOptions);
                Complex* sa = s + (long)l0 * h, sb = s + (long)l1 * h;
                for (int k = 0; k < h; k++)
                {
                    Complex z = buf[k], zc = Complex.Conjugate(buf[(n - k) % n]);
                    sa[k] = 0.5 * (z + zc);
                    if (pair) sb[k] = new Complex(0, -0.5) * (z - zc);
                }
            }
        }, Math.Max(1, 4096 / n));
        for (int axis = Shape.Length - 2; axis >= 0; axis--) LineFft.Transform(spectrum, SpectrumShape, axis, inverse: false);
    }

    /// <inheritdoc/>
    public override void Inverse(Complex* spectrum, double* real)
    {
        for (int axis = 0; axis < Shape.Length - 1; axis++) LineFft.Transform(spectrum, SpectrumShape, axis, inverse: true);
        int n = Shape[^1], h = SpectrumShape[^1];
        int lines = (int)(RealLength / n);
        nint rp = (nint)real, sp = (nint)spectrum;
        ParallelLoop.For((lines + 1) / 2, (lo, hi) =>
        {
            var x = (double*)rp;
            var s = (Complex*)sp;
            var buf = new Complex[n];
            for (int p = lo; p < hi; p++)
            {
                int l0 = 2 * p, l1 = l0 + 1;
                bool pair = l1 < lines;
                Complex* sa = s + (long)l0 * h, sb = s + (long)l1 * h;
                for (int k = 0; k < h; k++)
                {
                    Complex xa = sa[k], xb = pair ? sb[k] : Complex.Zero;
                    // c2r semantics: the imaginary parts of the self-conjugate frequencies are ignored.
                    if (k == 0 || 2 * k == n) { xa = xa.Real; xb = xb.Real; }
                    // conj(Z_k) with Z_k = X_k + i Y_k, and Z_{n-k} = conj(X_k) + i conj(Y_k).
                    buf[k] = Complex.Conjugate(xa + Complex.ImaginaryOne * xb);
                    if (k > 0 && n - k >= h) buf[n - k] = xa - Complex.ImaginaryOne * xb;
                }
                if (n > 1) Fourier.Forward(buf, ForwardOptions);
                double* a = x + (long)l0 * n, b = x + (long)l1 * n;
                for (int i = 0; i < n; i++)
                {
                    a[i] = buf[i].Real;
                    if (pair) b[i] = -buf[i].Imaginary;
                }
            }
        }, Math.Max(1, 4096 / n));
    }
}

/// <summary>In-place complex 1-D transforms of every line of a row-major array along one axis (MathNet per line).</summary>
internal static unsafe class LineFft
{
    /// <summary>Lines gathered at once for strided axes, so each read touches a run of consecutive values.</summary>
    private const int Block = 8;

    /// <summary>Unscaled transforms: exp(-i...) forward, exp(+i...) inverse (as conj(FFT(conj(x)))).</summary>
    public static void Transform(Complex* data, int[] shape, int axis, bool inverse)
    {
        int n = shape[axis];
        if (n <= 1) return;
        long stride = 1;
        for (int k = axis + 1; k < shape.Length; k++) stride *= shape[k];
        long outerCount = 1;
        for (int k = 0; k < axis; k++) outerCount *= shape[k];
        long blocksPerOuter = (stride + Block - 1) / Block;
        long tasks = outerCount * blocksPerOuter;
        nint dp = (nint)data;
        ParallelLoop.For(checked((int)tasks), (lo, hi) =>
        {
            var d = (Complex*)dp;
            var bufs = new Complex[Block][];
            for (int b = 0; b < Block; b++) bufs[b] = new Complex[n];
            for (long t = lo; t < hi; t++)
            {
                long outer = t / blocksPerOuter, inner0 = t % blocksPerOuter * Block;
                int width = (int)Math.Min(Block, stride - inner0);
                Complex* start = d + outer * n * stride + inner0;
                for (int i = 0; i < n; i++)
                {
                    Complex* row = start + i * stride;
                    for (int b = 0; b < width; b++) bufs[b][i] = inverse ? Complex.Conjugate(row[b]) : row[b];
                }
                for (int b = 0; b < width; b++) Fourier.Forward(bufs[b], ManagedRealFft3D.ForwardOptions);
                for (int i = 0; i < n; i++)
                {
                    Complex* row = start + i * stride;
                    for (int b = 0; b < width; b++) row[b] = inverse ? Complex.Conjugate(bufs[b][i]) : bufs[b][i];
                }
            }
        }, Math.Max(1, 8192 / (n * Block)));
    }
}
