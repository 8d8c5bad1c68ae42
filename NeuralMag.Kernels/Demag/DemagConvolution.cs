using System.Numerics;

namespace NeuralMag.Kernels.Demag;

/// <summary>
/// The cell-wise demagnetization field h_c = sum_c' N(c - c') M_c' (A/m) of cell magnetizations M = Ms rho m (A/m),
/// by FFT convolution with a <see cref="DemagKernel"/>, or, for true periodic boundaries on all axes, by the
/// finite-difference Poisson solver in Fourier space of Bruckner et al., Sci. Rep. 11, 9202 (2021). Both operators are
/// linear and self-adjoint, so their VJP is the same operation applied to the output gradient.
/// </summary>
public static class DemagConvolution
{
    /// <param name="kernel">Demag kernel of the grid.</param>
    /// <param name="magnetization">Cells x 3 values of Ms rho m (row-major cells).</param>
    public static double[] Apply(DemagKernel kernel, double[] magnetization)
    {
        var n = kernel.Cells;
        var s = kernel.FftShape;
        int cells = n[0] * n[1] * n[2], size = s[0] * s[1] * s[2];
        var h = new double[cells * 3];
        if (kernel.Axes.Length == 0)
        {
            // A single cell: the tensor is the self term only (its Fourier transform is itself).
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) h[i] += Component(kernel, i, j)[0] * magnetization[j];
            return h;
        }
        var mf = new Complex[3][];
        for (int j = 0; j < 3; j++)
        {
            var buf = new Complex[size];
            for (int c = 0; c < cells; c++) buf[Padded(c, n, s)] = magnetization[c * 3 + j];
            Fft.Transform(buf, s, kernel.Axes, inverse: false);
            mf[j] = buf;
        }
        for (int i = 0; i < 3; i++)
        {
            var hi = new Complex[size];
            double[] n0 = Component(kernel, i, 0), n1 = Component(kernel, i, 1), n2 = Component(kernel, i, 2);
            NeuralMag.AD.CpuBackend.For(size, (lo, hiEnd) =>
            {
                for (int k = lo; k < hiEnd; k++) hi[k] = n0[k] * mf[0][k] + n1[k] * mf[1][k] + n2[k] * mf[2][k];
            });
            Fft.Transform(hi, s, kernel.Axes, inverse: true);
            for (int c = 0; c < cells; c++) h[c * 3 + i] = hi[Padded(c, n, s)].Real;
        }
        return h;
    }

    private static double[] Component(DemagKernel k, int i, int j) => k.Spectrum[(Math.Min(i, j), Math.Max(i, j)) switch
    {
        (0, 0) => 0, (0, 1) => 1, (0, 2) => 2, (1, 1) => 3, (1, 2) => 4, _ => 5,
    }];

    private static int Padded(int cell, int[] n, int[] s)
    {
        int i2 = cell % n[2], r = cell / n[2];
        int i1 = r % n[1], i0 = r / n[1];
        return (i0 * s[1] + i1) * s[2] + i2;
    }

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
