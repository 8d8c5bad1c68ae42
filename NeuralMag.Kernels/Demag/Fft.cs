using System.Numerics;
using MathNet.Numerics.IntegralTransforms;

namespace NeuralMag.Kernels.Demag;

/// <summary>
/// In-place complex FFTs of a 3-D row-major array along chosen axes, line by line with MathNet.Numerics (any length:
/// mixed radix and Bluestein), lines in parallel. Forward is unscaled with exp(-i...), inverse scales by 1/n.
/// </summary>
public static class Fft
{
    /// <summary>Transforms <paramref name="data"/> in place along each of <paramref name="axes"/>.</summary>
    /// <param name="data">Row-major values of shape <paramref name="shape"/>.</param>
    /// <param name="shape">Extents of the 3 axes.</param>
    /// <param name="axes">Axes to transform (0 to 2).</param>
    /// <param name="inverse">False: unscaled exp(-i...) transform; true: exp(+i...) scaled by 1/n per axis.</param>
    public static void Transform(Complex[] data, int[] shape, IEnumerable<int> axes, bool inverse)
    {
        foreach (var axis in axes)
        {
            int n = shape[axis];
            if (n <= 1) continue;
            int stride = 1;
            for (int k = axis + 1; k < 3; k++) stride *= shape[k];
            int lines = data.Length / n;
            NeuralMag.AD.ParallelLoop.For(lines, (lo, hi) =>
            {
                var buf = new Complex[n];
                for (int l = lo; l < hi; l++)
                {
                    // Line l: the index with the axis coordinate removed.
                    int outer = l / stride, inner = l % stride;
                    int start = outer * n * stride + inner;
                    for (int i = 0; i < n; i++) buf[i] = data[start + i * stride];
                    if (inverse) Fourier.Inverse(buf, FourierOptions.Matlab);
                    else Fourier.Forward(buf, FourierOptions.Matlab);
                    for (int i = 0; i < n; i++) data[start + i * stride] = buf[i];
                }
            }, Math.Max(1, 8192 / n));
        }
    }
}
