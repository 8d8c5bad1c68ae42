using ILGPU;
using ILGPU.Runtime;
using NeuralMag.AD;
using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag.Kernels.Demag;

/// <summary>
/// The nodal demag field on an ILGPU device (CUDA, OpenCL, or ILGPU's CPU accelerator), with our own FFT kernel:
/// cell means of Ms rho m scattered into zero-padded complex grids, a radix-2 Stockham FFT along each transformed axis
/// (one kernel launch per pass, twiddles from a host-computed table), the product with the kernel's real half spectra
/// (the full spectrum follows from N̂(−k) = N̂(k)) or, for the true-PBC kernel, with its projector
/// (Ĥ = −conj(a)(a·M̂), a(−k) = conj(a(k)); TruePeriodicDemag.cs), the inverse FFT, and the weighted gather of the cell
/// fields to the nodes. Every padded length must be a power of two (open axes always are; pseudo-periodic or true-PBC
/// axes of other lengths use the host path). The kernel spectra, twiddles, weights and grids stay on the device; <see cref="Dispose"/> frees them.
/// </summary>
public sealed class DeviceDemagConvolution : IDisposable
{
    /// <summary>Grid constants passed by value to the kernels (3 axes; missing axes have 1 cell and 1 node).</summary>
    public struct GridConstants
    {
        /// <summary>Corners of a cell: 2^dim.</summary>
        public int Corners;
        /// <summary>Doubles per point of the padded grids: 2 for interleaved complex grids, 1 for real ones.</summary>
        public int Stride;
        /// <summary>Nodes (N), cells (C) and padded-grid points (S) per axis.</summary>
        public int Nx, Ny, Nz, Cx, Cy, Cz, Sx, Sy, Sz;
        /// <summary>Half-spectrum layout: the transformed axis that is halved (-1 none), and the dims of the layout.</summary>
        public int HalfAxis, Dx, Dy, Dz, HalfLength;
    }

    /// <summary>One Stockham pass along one axis.</summary>
    public struct PassConstants
    {
        /// <summary>Transform length, Stockham stride of this pass, element stride of the transformed axis, extent of the second other axis, strides of both other axes, half length, sign of the exponent (−1 forward, +1 inverse) and offset of the axis' twiddles.</summary>
        public int Length, Stride, AxisStride, OtherDim, OtherStride0, OtherStride1, Span, Sign, TwiddleOffset;
    }

    private readonly IlgpuBackend _backend;
    private readonly GridConstants _grid;
    private readonly int _nodes, _cells, _points;
    private readonly bool _truePeriodic;
    private readonly int[] _shape;
    private readonly int[] _twiddleOffset = new int[3];
    private MemoryBuffer1D<double, Stride1D.Dense>? _spectra, _twiddles, _w, _wn, _invMass, _scratch;
    private readonly MemoryBuffer1D<double, Stride1D.Dense>[] _grids;

    /// <summary>True when this kernel and grid can run on the device (power-of-two padded lengths, more than one cell).</summary>
    public static bool Supports(DemagKernel kernel) =>
        kernel.Fft != null && kernel.FftShape.All(n => n == 1 || (n & (n - 1)) == 0);

    /// <param name="kernel">The demag kernel of the grid's cells.</param>
    /// <param name="g">The node/cell grid.</param>
    /// <param name="cellWeight">Per cell, Ms rho (the factor of the cell mean of m).</param>
    /// <param name="gatherWeight">Per cell, the weight of its field at its corners ((V/2^d) rho Ms).</param>
    /// <param name="invNodeMass">Per node, 1 / Σ of the adjacent cells' mass weights.</param>
    /// <param name="device">An ILGPU device.</param>
    public DeviceDemagConvolution(DemagKernel kernel, GridGeometry g, double[] cellWeight, double[] gatherWeight, double[] invNodeMass, AD.Device device)
    {
        _backend = device.Backend as IlgpuBackend
                   ?? throw new NotSupportedException($"DeviceDemagConvolution needs an ILGPU device (cuda, opencl, ilgpu-cpu); got '{device}'.");
        if (!Supports(kernel)) throw new NotSupportedException("DeviceDemagConvolution needs power-of-two padded lengths and more than one cell.");
        _shape = (int[])kernel.FftShape.Clone();
        _grid = Constants(kernel, g, stride: 2);
        _truePeriodic = kernel.IsTruePeriodic;
        // Newell: the six real half spectra one after the other; true PBC: the projector, six values per frequency.
        var spectra = _truePeriodic ? kernel.Projector! : Enumerable.Range(0, 6).SelectMany(kernel.HalfSpectrum).ToArray();
        if (spectra.Length != 6L * _grid.HalfLength)
            throw new InvalidOperationException($"Unexpected half-spectrum length {spectra.Length / 6}, expected {_grid.HalfLength}.");
        _nodes = g.NumNodes;
        _cells = g.NumCells;
        _points = _shape[0] * _shape[1] * _shape[2];
        // Twiddles exp(-2 pi i t / L), t < L/2, per transformed axis, as (cos, sin) pairs.
        var tw = new List<double>();
        for (int k = 0; k < 3; k++)
        {
            _twiddleOffset[k] = tw.Count / 2;
            int len = _shape[k];
            for (int t = 0; t < len / 2; t++)
            {
                double a = -2 * Math.PI * t / len;
                tw.Add(Math.Cos(a));
                tw.Add(Math.Sin(a));
            }
        }
        if (tw.Count == 0) tw.Add(0);
        var acc = _backend.Accelerator;
        _spectra = _backend.Upload(spectra);
        _twiddles = _backend.Upload(tw.ToArray());
        _w = _backend.Upload(cellWeight);
        _wn = _backend.Upload(gatherWeight);
        _invMass = _backend.Upload(invNodeMass);
        _grids = new[] { acc.Allocate1D<double>(2L * _points), acc.Allocate1D<double>(2L * _points), acc.Allocate1D<double>(2L * _points) };
        _scratch = acc.Allocate1D<double>(2L * _points);
    }

    /// <summary>The grid constants of the kernels for this demag kernel and grid (missing axes padded at the end).</summary>
    internal static GridConstants Constants(DemagKernel kernel, GridGeometry g, int stride)
    {
        var cells = new[] { 1, 1, 1 };
        var nodes = new[] { 1, 1, 1 };
        for (int k = 0; k < g.Dim; k++)
        {
            cells[k] = g.Cells[k];
            nodes[k] = g.Nodes[k];
        }
        if (!cells.SequenceEqual(kernel.Cells)) throw new ArgumentException("The grid's cells differ from the kernel's.");
        var s = kernel.FftShape;
        int halfAxis = kernel.Axes[^1];
        var d = (int[])s.Clone();
        d[halfAxis] = s[halfAxis] / 2 + 1;
        return new GridConstants
        {
            Corners = g.Corners, Stride = stride,
            Nx = nodes[0], Ny = nodes[1], Nz = nodes[2], Cx = cells[0], Cy = cells[1], Cz = cells[2],
            Sx = s[0], Sy = s[1], Sz = s[2],
            HalfAxis = halfAxis, Dx = d[0], Dy = d[1], Dz = d[2], HalfLength = d[0] * d[1] * d[2],
        };
    }

    /// <summary>Device bytes held: kernel spectra, grids and weights.</summary>
    public long Bytes => (_spectra?.LengthInBytes ?? 0) + 4 * 16L * _points + (_w?.LengthInBytes ?? 0) * 2 + (_invMass?.LengthInBytes ?? 0);

    /// <summary>The nodal field for nodal m on this device (float64 or float32; the result has m's dtype).</summary>
    public NTensor Apply(NTensor m)
    {
        if (_spectra == null) throw new ObjectDisposedException(nameof(DeviceDemagConvolution));
        if (m.Device != _backend.Device) throw new ArgumentException($"m is on '{m.Device}', the demag operator on '{_backend.Device}'.");
        if (m.Size != 3 * _nodes) throw new ArgumentException($"m has {m.Size} values, expected {3 * _nodes} (nodes x 3).");
        var m64 = m.DType == DType.Float64 ? m : m.Cast(DType.Float64);
        var mView = ((IlgpuStorage)m64.Storage).F64;
        var zero = _backend.Kernel<Action<Index1D, ArrayView<double>>>(Zero);
        foreach (var grid in _grids) zero((int)grid.Length, grid.View);
        _backend.Kernel<Action<Index1D, GridConstants, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>>>(ScatterCellMean)(
            _cells, _grid, mView, _w!.View, _grids[0].View, _grids[1].View, _grids[2].View);
        foreach (var grid in _grids) Transform(grid, sign: -1);
        _backend.Kernel<Action<Index1D, GridConstants, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>>>(_truePeriodic ? ProjectBySpectrum : MultiplyBySpectrum)(
            _points, _grid, _grids[0].View, _grids[1].View, _grids[2].View, _spectra.View);
        foreach (var grid in _grids) Transform(grid, sign: +1);
        var output = _backend.Full(DType.Float64, m.Size, 0);
        _backend.Kernel<Action<Index1D, GridConstants, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>>>(GatherToNodes)(
            _nodes, _grid, _grids[0].View, _grids[1].View, _grids[2].View, _wn!.View, _invMass!.View, ((IlgpuStorage)output).F64);
        var h = new NTensor(output, m.GetShape());
        return m.DType == DType.Float64 ? h : h.Cast(m.DType);
    }

    /// <summary>Unnormalized complex FFT of a padded grid along every axis of length > 1 (sign −1 forward, +1 inverse).</summary>
    private void Transform(MemoryBuffer1D<double, Stride1D.Dense> grid, int sign)
    {
        var pass = _backend.Kernel<Action<Index1D, PassConstants, ArrayView<double>, ArrayView<double>, ArrayView<double>>>(StockhamPass);
        var copy = _backend.Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>>>(Copy);
        var strides = new[] { _shape[1] * _shape[2], _shape[2], 1 };
        for (int k = 0; k < 3; k++)
        {
            int len = _shape[k];
            if (len == 1) continue;
            int o0 = k == 0 ? 1 : 0, o1 = k == 2 ? 1 : 2;
            var src = grid;
            var dst = _scratch!;
            for (int s = 1; s < len; s *= 2)
            {
                var c = new PassConstants
                {
                    Length = len, Stride = s, AxisStride = strides[k], OtherDim = _shape[o1], OtherStride0 = strides[o0],
                    OtherStride1 = strides[o1], Span = len / 2, Sign = sign, TwiddleOffset = _twiddleOffset[k],
                };
                pass(_points / 2, c, src.View, dst.View, _twiddles!.View);
                (src, dst) = (dst, src);
            }
            if (!ReferenceEquals(src, grid)) copy((int)grid.Length, src.View, grid.View);
        }
    }

    internal static void Zero(Index1D i, ArrayView<double> a) => a[i] = 0;

    private static void Copy(Index1D i, ArrayView<double> from, ArrayView<double> to) => to[i] = from[i];

    /// <summary>Cell c: the three components of Ms rho · mean of the corners into the padded grids (real parts).</summary>
    internal static void ScatterCellMean(Index1D c, GridConstants g, ArrayView<double> m, ArrayView<double> w, ArrayView<double> gx, ArrayView<double> gy, ArrayView<double> gz)
    {
        int iz = c % g.Cz, iy = c / g.Cz % g.Cy, ix = c / (g.Cz * g.Cy);
        int sy = g.Nz, sx = g.Ny * g.Nz;
        int ox = ix + 1 == g.Nx ? -ix * sx : sx, oy = iy + 1 == g.Ny ? -iy * sy : sy, oz = iz + 1 == g.Nz ? -iz : 1;
        int baseNode = ix * sx + iy * sy + iz;
        double x = 0, y = 0, z = 0;
        for (int a = 0; a < g.Corners; a++)
        {
            int n = (baseNode + ((a & 1) != 0 ? ox : 0) + ((a & 2) != 0 ? oy : 0) + ((a & 4) != 0 ? oz : 0)) * 3;
            x += m[n];
            y += m[n + 1];
            z += m[n + 2];
        }
        double f = w[c] / g.Corners;
        int p = g.Stride * ((ix * g.Sy + iy) * g.Sz + iz);
        gx[p] = f * x;
        gy[p] = f * y;
        gz[p] = f * z;
    }

    /// <summary>
    /// One radix-2 Stockham pass: butterfly i of line ℓ with stride s (n = L/s points per sub-transform, m = n/2):
    /// y[q + s·2p] = a + b, y[q + s·(2p+1)] = (a − b)·exp(∓2πi p/n), a = x[q + s·p], b = x[q + s·(p + m)].
    /// </summary>
    private static void StockhamPass(Index1D i, PassConstants c, ArrayView<double> x, ArrayView<double> y, ArrayView<double> tw)
    {
        int line = i / c.Span, b = i % c.Span;
        int p = b / c.Stride, q = b % c.Stride;
        int half = c.Length / (2 * c.Stride);
        int lineBase = line / c.OtherDim * c.OtherStride0 + line % c.OtherDim * c.OtherStride1;
        int ia = 2 * (lineBase + (q + c.Stride * p) * c.AxisStride);
        int ib = 2 * (lineBase + (q + c.Stride * (p + half)) * c.AxisStride);
        double ar = x[ia], ai = x[ia + 1], br = x[ib], bi = x[ib + 1];
        int t = 2 * (c.TwiddleOffset + p * c.Stride);
        double wr = tw[t], wi = c.Sign < 0 ? tw[t + 1] : -tw[t + 1];
        double dr = ar - br, di = ai - bi;
        int o0 = 2 * (lineBase + (q + c.Stride * 2 * p) * c.AxisStride);
        int o1 = 2 * (lineBase + (q + c.Stride * (2 * p + 1)) * c.AxisStride);
        y[o0] = ar + br;
        y[o0 + 1] = ai + bi;
        y[o1] = dr * wr - di * wi;
        y[o1 + 1] = dr * wi + di * wr;
    }

    /// <summary>ĥ = N̂ M̂ at frequency k; the kernel's half spectra are real and even, N̂(k) = N̂(−k).</summary>
    private static void MultiplyBySpectrum(Index1D k, GridConstants g, ArrayView<double> gx, ArrayView<double> gy, ArrayView<double> gz, ArrayView<double> spectra)
    {
        HalfSpectrumIndex(k, g, out int s);
        MultiplyPoint(k, s, g.HalfLength, gx, gy, gz, spectra);
    }

    /// <summary>
    /// True PBC: Ĥ = −conj(a)(a·M̂) at frequency k, with a read from the stored half at k, or at −k and conjugated
    /// (a(−k) = conj(a(k))) beyond the half axis' middle.
    /// </summary>
    private static void ProjectBySpectrum(Index1D k, GridConstants g, ArrayView<double> gx, ArrayView<double> gy, ArrayView<double> gz, ArrayView<double> projector)
    {
        bool mirrored = HalfSpectrumIndex(k, g, out int s);
        double conj = mirrored ? -1 : 1;
        int o = 6 * s, p = 2 * k;
        TruePeriodicDemag.ProjectPoint(projector[o], conj * projector[o + 1], projector[o + 2], conj * projector[o + 3], projector[o + 4], conj * projector[o + 5],
            ref gx[p], ref gx[p + 1], ref gy[p], ref gy[p + 1], ref gz[p], ref gz[p + 1]);
    }

    /// <summary>
    /// The index s in the half-spectrum layout of the full-grid frequency k: k itself in the stored half, −k beyond the
    /// half axis' middle (then true is returned: the stored value is that of −k).
    /// </summary>
    private static bool HalfSpectrumIndex(int k, GridConstants g, out int s)
    {
        int i2 = k % g.Sz, i1 = k / g.Sz % g.Sy, i0 = k / (g.Sz * g.Sy);
        int h = g.HalfAxis == 0 ? i0 : g.HalfAxis == 1 ? i1 : i2;
        int hl = g.HalfAxis == 0 ? g.Sx : g.HalfAxis == 1 ? g.Sy : g.Sz;
        bool mirrored = h > hl / 2;
        if (mirrored)
        {
            i0 = (g.Sx - i0) % g.Sx;
            i1 = (g.Sy - i1) % g.Sy;
            i2 = (g.Sz - i2) % g.Sz;
        }
        s = (i0 * g.Dy + i1) * g.Dz + i2;
        return mirrored;
    }

    /// <summary>
    /// ĥ = N̂ M̂ at the interleaved complex point k of the grids, with the symmetric tensor read at index s of the six
    /// real kernel spectra of length n each.
    /// </summary>
    internal static void MultiplyPoint(int k, int s, int n, ArrayView<double> gx, ArrayView<double> gy, ArrayView<double> gz, ArrayView<double> spectra)
    {
        int p = 2 * k;
        DemagConvolution.TensorPoint(spectra[s], spectra[n + s], spectra[2 * n + s], spectra[3 * n + s], spectra[4 * n + s], spectra[5 * n + s],
            ref gx[p], ref gx[p + 1], ref gy[p], ref gy[p + 1], ref gz[p], ref gz[p + 1]);
    }

    /// <summary>Node n: h = invMass_n Σ_{cells c at n} wn_c H_c (real parts of the padded grids).</summary>
    internal static void GatherToNodes(Index1D n, GridConstants g, ArrayView<double> gx, ArrayView<double> gy, ArrayView<double> gz, ArrayView<double> wn, ArrayView<double> invMass, ArrayView<double> h)
    {
        int iz = n % g.Nz, iy = n / g.Nz % g.Ny, ix = n / (g.Nz * g.Ny);
        double x = 0, y = 0, z = 0;
        for (int a = 0; a < g.Corners; a++)
        {
            int cx = ix - (a & 1), cy = iy - ((a >> 1) & 1), cz = iz - ((a >> 2) & 1);
            if (cx < 0) { if (g.Cx == g.Nx) cx += g.Cx; else continue; }
            if (cy < 0) { if (g.Cy == g.Ny) cy += g.Cy; else continue; }
            if (cz < 0) { if (g.Cz == g.Nz) cz += g.Cz; else continue; }
            if (cx >= g.Cx || cy >= g.Cy || cz >= g.Cz) continue;
            double w = wn[(cx * g.Cy + cy) * g.Cz + cz];
            int p = g.Stride * ((cx * g.Sy + cy) * g.Sz + cz);
            x += w * gx[p];
            y += w * gy[p];
            z += w * gz[p];
        }
        double s = invMass[n];
        h[3 * n] = s * x;
        h[3 * n + 1] = s * y;
        h[3 * n + 2] = s * z;
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        foreach (var b in new[] { _spectra, _twiddles, _w, _wn, _invMass, _scratch }) b?.Dispose();
        foreach (var b in _grids) b.Dispose();
        _spectra = _twiddles = _w = _wn = _invMass = _scratch = null;
    }
}
