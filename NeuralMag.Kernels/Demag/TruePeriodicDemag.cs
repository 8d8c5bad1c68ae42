using System.Numerics;
using System.Runtime.CompilerServices;

namespace NeuralMag.Kernels.Demag;

/// <summary>
/// True-PBC demag on a fully periodic grid: the scalar potential u of the discrete Poisson equation
/// Σ_j D⁺_j D⁻_j u = Σ_j D⁻_j M_j (M = Ms ρ m in A/m per cell, D⁻ backward and D⁺ forward differences of the cell
/// size Δx_j), and H = −D⁺u in A/m. With d_j(k) = (1 − e^{−i k_j})/Δx_j, k_j = 2π i_j / n_j, backward differences are
/// multiplications by d_j and forward ones by −conj(d_j), so in Fourier space
///     Ĥ_i(k) = −conj(d_i) (d·M̂) / |d|²,   Ĥ(0) = 0 (the mean potential is free),
/// the projection of M̂ onto the complex unit vector a = d/|d|, negated: Ĥ = −conj(a) (a·M̂). The projector is
/// Hermitian, so the real-space operator is symmetric (its VJP is itself) and the product of a real M keeps the
/// half spectrum's symmetry. Stored per frequency of the real-to-complex half spectrum as a/√N (N transform points),
/// which folds the 1/N of the unnormalized inverse transform into the product.
/// </summary>
internal static unsafe class TruePeriodicDemag
{
    /// <summary>
    /// a/√N per frequency of the half spectrum <paramref name="spectrumShape"/> of the transformed axes
    /// <paramref name="axes"/> (physical axes of more than one cell), six values each: Re a_x, Im a_x, Re a_y, ….
    /// </summary>
    public static double[] Projector(int[] cells, double[] dx, int[] axes, int[] spectrumShape)
    {
        int r = axes.Length;
        long count = spectrumShape.Aggregate(1L, (p, n) => p * n);
        double points = axes.Aggregate(1.0, (p, k) => p * cells[k]);
        var a = new double[6 * count];
        var index = new int[r];
        Span<double> re = stackalloc double[3];
        Span<double> im = stackalloc double[3];
        for (long f = 0; f < count; f++)
        {
            long rest = f;
            for (int t = r - 1; t >= 0; t--)
            {
                index[t] = (int)(rest % spectrumShape[t]);
                rest /= spectrumShape[t];
            }
            re.Clear();
            im.Clear();
            double norm2 = 0;
            for (int t = 0; t < r; t++)
            {
                int axis = axes[t];
                double k = 2.0 * Math.PI * index[t] / cells[axis];
                re[axis] = (1.0 - Math.Cos(k)) / dx[axis];
                im[axis] = Math.Sin(k) / dx[axis];
                norm2 += re[axis] * re[axis] + im[axis] * im[axis];
            }
            if (norm2 == 0) continue;
            double scale = 1.0 / Math.Sqrt(norm2 * points);
            for (int j = 0; j < 3; j++)
            {
                a[6 * f + 2 * j] = re[j] * scale;
                a[6 * f + 2 * j + 1] = im[j] * scale;
            }
        }
        return a;
    }

    /// <summary>
    /// Ĥ = −conj(a) (a·M̂) in place at every frequency of <paramref name="members"/> members' three half spectra (member
    /// b's at x, y, z + b·<paramref name="memberStride"/> in T, interleaved (re, im)), with the projector
    /// <paramref name="a"/> of <see cref="Projector"/> in precision T.
    /// </summary>
    public static void ProjectInPlace<T>(T[] a, long frequencies, T* x, T* y, T* z, int members, long memberStride, int grain) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint p0 = (nint)x, p1 = (nint)y, p2 = (nint)z;
        long total = members * frequencies;
        int rows = (int)Math.Min(int.MaxValue, (total + 255) / 256);
        NeuralMag.AD.ParallelLoop.For(rows, (lo, hi) =>
        {
            long end = Math.Min(total, (long)hi * 256);
            for (long t = (long)lo * 256; t < end; t++)
            {
                long f = t % frequencies, k = t / frequencies * memberStride + 2 * f;
                T* mx = (T*)p0 + k, my = (T*)p1 + k, mz = (T*)p2 + k;
                long o = 6 * f;
                ProjectPoint(a[o], a[o + 1], a[o + 2], a[o + 3], a[o + 4], a[o + 5], ref mx[0], ref mx[1], ref my[0], ref my[1], ref mz[0], ref mz[1]);
            }
        }, grain == int.MaxValue ? grain : Math.Max(1, grain / 256));
    }

    /// <summary>
    /// Ĥ = −conj(a)(a·M̂) at one frequency, in place on M̂ = (x, y, z) (real and imaginary parts), a = (ax, ay, az): the
    /// arithmetic of the projector for the CPU loop above and the device kernel (DeviceDemagConvolution).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ProjectPoint<T>(T axr, T axi, T ayr, T ayi, T azr, T azi, ref T xr, ref T xi, ref T yr, ref T yi, ref T zr, ref T zi)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // s = a·M̂ (complex products), then Ĥ_i = −conj(a_i) s.
        T sr = axr * xr - axi * xi + ayr * yr - ayi * yi + azr * zr - azi * zi;
        T si = axr * xi + axi * xr + ayr * yi + ayi * yr + azr * zi + azi * zr;
        xr = -(axr * sr + axi * si);
        xi = -(axr * si - axi * sr);
        yr = -(ayr * sr + ayi * si);
        yi = -(ayr * si - ayi * sr);
        zr = -(azr * sr + azi * si);
        zi = -(azr * si - azi * sr);
    }
}
