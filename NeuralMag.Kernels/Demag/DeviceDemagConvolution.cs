using System.Numerics;
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
/// axes of other lengths use the host path). The kernels are generic over the float type and run in m's precision:
/// a float32 m is transformed in float32 with the spectra, twiddles and weights computed in float64 and rounded once. The kernel spectra, twiddles, weights and grids stay on the device; <see cref="Dispose"/> frees them.
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
    // Host copies (float64) of what the kernels read: spectra or projector, twiddles, w/2^d, wn, 1/W.
    // The spectra, twiddles, scatter and gather weights, inverse node mass, then the FFT scratch and three component
    // grids, in m's precision.
    private readonly PrecisionTables _tables;
    private bool _disposed;

    /// <summary>The tables and grids of one precision by name (views of <see cref="_tables"/>' buffers, freed with them).</summary>
    private readonly struct Buffers<T> where T : unmanaged
    {
        public Buffers(MemoryBuffer1D<T, Stride1D.Dense>[] all)
        {
            (Spectra, Twiddles, W, Wn, InvMass, Scratch) = (all[0], all[1], all[2], all[3], all[4], all[5]);
            Grids = all[6..9];
        }

        public MemoryBuffer1D<T, Stride1D.Dense> Spectra { get; }
        public MemoryBuffer1D<T, Stride1D.Dense> Twiddles { get; }
        public MemoryBuffer1D<T, Stride1D.Dense> W { get; }
        public MemoryBuffer1D<T, Stride1D.Dense> Wn { get; }
        public MemoryBuffer1D<T, Stride1D.Dense> InvMass { get; }
        public MemoryBuffer1D<T, Stride1D.Dense> Scratch { get; }
        public MemoryBuffer1D<T, Stride1D.Dense>[] Grids { get; }
    }

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
        // The cell mean's factor w/2^d, formed once in float64.
        long grid = 2L * _points;
        _tables = new PrecisionTables(_backend, new[] { spectra, tw.ToArray(), CellMeanWeights(cellWeight, g.Corners), gatherWeight, invNodeMass }, grid, grid, grid, grid);
    }

    /// <summary>The scatter kernel's per-cell factor: the cell weight over the 2^d corners it averages.</summary>
    internal static double[] CellMeanWeights(double[] cellWeight, int corners) => Array.ConvertAll(cellWeight, w => w / corners);

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
    public long Bytes => _tables.Bytes;

    /// <summary>The nodal field for nodal m on this device (float64 or float32, computed in m's precision).</summary>
    public NTensor Apply(NTensor m)
    {
        if (_disposed) throw new ObjectDisposedException(nameof(DeviceDemagConvolution));
        if (m.Device != _backend.Device) throw new ArgumentException($"m is on '{m.Device}', the demag operator on '{_backend.Device}'.");
        if (m.Size != 3 * _nodes) throw new ArgumentException($"m has {m.Size} values, expected {3 * _nodes} (nodes x 3).");
        var storage = (IlgpuStorage)m.Storage;
        var output = (IlgpuStorage)_backend.Full(m.DType, m.Size, 0);
        if (m.DType == DType.Float32) Run(new Buffers<float>(_tables.Get<float>()), storage.F32, output.F32);
        else Run(new Buffers<double>(_tables.Get<double>()), storage.F64, output.F64);
        return new NTensor(output, m.GetShape());
    }

    private void Run<T>(Buffers<T> b, ArrayView<T> m, ArrayView<T> h) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var zero = _backend.Kernel<Action<Index1D, ArrayView<T>>>(Zero);
        foreach (var grid in b.Grids) zero((int)grid.Length, grid.View);
        _backend.Kernel<Action<Index1D, GridConstants, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>>>(ScatterCellMean)(
            _cells, _grid, m, b.W.View, b.Grids[0].View, b.Grids[1].View, b.Grids[2].View);
        foreach (var grid in b.Grids) Transform(b, grid, sign: -1);
        _backend.Kernel<Action<Index1D, GridConstants, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>>>(_truePeriodic ? ProjectBySpectrum : MultiplyBySpectrum)(
            _points, _grid, b.Grids[0].View, b.Grids[1].View, b.Grids[2].View, b.Spectra.View);
        foreach (var grid in b.Grids) Transform(b, grid, sign: +1);
        _backend.Kernel<Action<Index1D, GridConstants, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>>>(GatherToNodes)(
            _nodes, _grid, b.Grids[0].View, b.Grids[1].View, b.Grids[2].View, b.Wn.View, b.InvMass.View, h);
    }

    /// <summary>Unnormalized complex FFT of a padded grid along every axis of length > 1 (sign −1 forward, +1 inverse).</summary>
    private void Transform<T>(Buffers<T> b, MemoryBuffer1D<T, Stride1D.Dense> grid, int sign) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var pass = _backend.Kernel<Action<Index1D, PassConstants, ArrayView<T>, ArrayView<T>, ArrayView<T>>>(StockhamPass);
        var copy = _backend.Kernel<Action<Index1D, ArrayView<T>, ArrayView<T>>>(Copy);
        var strides = new[] { _shape[1] * _shape[2], _shape[2], 1 };
        for (int k = 0; k < 3; k++)
        {
            int len = _shape[k];
            if (len == 1) continue;
            int o0 = k == 0 ? 1 : 0, o1 = k == 2 ? 1 : 2;
            var src = grid;
            var dst = b.Scratch;
            for (int s = 1; s < len; s *= 2)
            {
                var c = new PassConstants
                {
                    Length = len, Stride = s, AxisStride = strides[k], OtherDim = _shape[o1], OtherStride0 = strides[o0],
                    OtherStride1 = strides[o1], Span = len / 2, Sign = sign, TwiddleOffset = _twiddleOffset[k],
                };
                pass(_points / 2, c, src.View, dst.View, b.Twiddles.View);
                (src, dst) = (dst, src);
            }
            if (!ReferenceEquals(src, grid)) copy((int)grid.Length, src.View, grid.View);
        }
    }

    internal static void Zero<T>(Index1D i, ArrayView<T> a) where T : unmanaged, IFloatingPointIeee754<T> => a[i] = T.Zero;

    private static void Copy<T>(Index1D i, ArrayView<T> from, ArrayView<T> to) where T : unmanaged => to[i] = from[i];

    /// <summary>Cell c: the three components of Ms rho · mean of the corners into the padded grids (real parts); w holds
    /// the factor (Ms rho)/2^d per cell (<see cref="CellMeanWeights"/>).</summary>
    internal static void ScatterCellMean<T>(Index1D c, GridConstants g, ArrayView<T> m, ArrayView<T> w, ArrayView<T> gx, ArrayView<T> gy, ArrayView<T> gz)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int iz = c % g.Cz, iy = c / g.Cz % g.Cy, ix = c / (g.Cz * g.Cy);
        int sy = g.Nz, sx = g.Ny * g.Nz;
        int ox = ix + 1 == g.Nx ? -ix * sx : sx, oy = iy + 1 == g.Ny ? -iy * sy : sy, oz = iz + 1 == g.Nz ? -iz : 1;
        int baseNode = ix * sx + iy * sy + iz;
        T x = T.Zero, y = T.Zero, z = T.Zero;
        for (int a = 0; a < g.Corners; a++)
        {
            int n = (baseNode + ((a & 1) != 0 ? ox : 0) + ((a & 2) != 0 ? oy : 0) + ((a & 4) != 0 ? oz : 0)) * 3;
            x += m[n];
            y += m[n + 1];
            z += m[n + 2];
        }
        T f = w[c];
        int p = g.Stride * ((ix * g.Sy + iy) * g.Sz + iz);
        gx[p] = f * x;
        gy[p] = f * y;
        gz[p] = f * z;
    }

    /// <summary>
    /// One radix-2 Stockham pass: butterfly i of line ℓ with stride s (n = L/s points per sub-transform, m = n/2):
    /// y[q + s·2p] = a + b, y[q + s·(2p+1)] = (a − b)·exp(∓2πi p/n), a = x[q + s·p], b = x[q + s·(p + m)].
    /// </summary>
    private static void StockhamPass<T>(Index1D i, PassConstants c, ArrayView<T> x, ArrayView<T> y, ArrayView<T> tw) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int line = i / c.Span, b = i % c.Span;
        int p = b / c.Stride, q = b % c.Stride;
        int half = c.Length / (2 * c.Stride);
        int lineBase = line / c.OtherDim * c.OtherStride0 + line % c.OtherDim * c.OtherStride1;
        int ia = 2 * (lineBase + (q + c.Stride * p) * c.AxisStride);
        int ib = 2 * (lineBase + (q + c.Stride * (p + half)) * c.AxisStride);
        T ar = x[ia], ai = x[ia + 1], br = x[ib], bi = x[ib + 1];
        int t = 2 * (c.TwiddleOffset + p * c.Stride);
        T wr = tw[t], wi = c.Sign < 0 ? tw[t + 1] : -tw[t + 1];
        T dr = ar - br, di = ai - bi;
        int o0 = 2 * (lineBase + (q + c.Stride * 2 * p) * c.AxisStride);
        int o1 = 2 * (lineBase + (q + c.Stride * (2 * p + 1)) * c.AxisStride);
        y[o0] = ar + br;
        y[o0 + 1] = ai + bi;
        y[o1] = dr * wr - di * wi;
        y[o1 + 1] = dr * wi + di * wr;
    }

    /// <summary>ĥ = N̂ M̂ at frequency k; the kernel's half spectra are real and even, N̂(k) = N̂(−k).</summary>
    private static void MultiplyBySpectrum<T>(Index1D k, GridConstants g, ArrayView<T> gx, ArrayView<T> gy, ArrayView<T> gz, ArrayView<T> spectra)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        HalfSpectrumIndex(k, g, out int s);
        MultiplyPoint(k, s, g.HalfLength, gx, gy, gz, spectra);
    }

    /// <summary>
    /// True PBC: Ĥ = −conj(a)(a·M̂) at frequency k, with a read from the stored half at k, or at −k and conjugated
    /// (a(−k) = conj(a(k))) beyond the half axis' middle.
    /// </summary>
    private static void ProjectBySpectrum<T>(Index1D k, GridConstants g, ArrayView<T> gx, ArrayView<T> gy, ArrayView<T> gz, ArrayView<T> projector)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool mirrored = HalfSpectrumIndex(k, g, out int s);
        int o = 6 * s, p = 2 * k;
        T axi = projector[o + 1], ayi = projector[o + 3], azi = projector[o + 5];
        if (mirrored)
        {
            axi = -axi;
            ayi = -ayi;
            azi = -azi;
        }
        TruePeriodicDemag.ProjectPoint(projector[o], axi, projector[o + 2], ayi, projector[o + 4], azi,
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
    internal static void MultiplyPoint<T>(int k, int s, int n, ArrayView<T> gx, ArrayView<T> gy, ArrayView<T> gz, ArrayView<T> spectra)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int p = 2 * k;
        DemagConvolution.TensorPoint(spectra[s], spectra[n + s], spectra[2 * n + s], spectra[3 * n + s], spectra[4 * n + s], spectra[5 * n + s],
            ref gx[p], ref gx[p + 1], ref gy[p], ref gy[p + 1], ref gz[p], ref gz[p + 1]);
    }

    /// <summary>Node n: h = invMass_n Σ_{cells c at n} wn_c H_c (real parts of the padded grids).</summary>
    internal static void GatherToNodes<T>(Index1D n, GridConstants g, ArrayView<T> gx, ArrayView<T> gy, ArrayView<T> gz, ArrayView<T> wn, ArrayView<T> invMass, ArrayView<T> h)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int iz = n % g.Nz, iy = n / g.Nz % g.Ny, ix = n / (g.Nz * g.Ny);
        T x = T.Zero, y = T.Zero, z = T.Zero;
        for (int a = 0; a < g.Corners; a++)
        {
            int cx = ix - (a & 1), cy = iy - ((a >> 1) & 1), cz = iz - ((a >> 2) & 1);
            if (cx < 0) { if (g.Cx == g.Nx) cx += g.Cx; else continue; }
            if (cy < 0) { if (g.Cy == g.Ny) cy += g.Cy; else continue; }
            if (cz < 0) { if (g.Cz == g.Nz) cz += g.Cz; else continue; }
            if (cx >= g.Cx || cy >= g.Cy || cz >= g.Cz) continue;
            T w = wn[(cx * g.Cy + cy) * g.Cz + cz];
            int p = g.Stride * ((cx * g.Sy + cy) * g.Sz + cz);
            x += w * gx[p];
            y += w * gy[p];
            z += w * gz[p];
        }
        T s = invMass[n];
        h[3 * n] = s * x;
        h[3 * n + 1] = s * y;
        h[3 * n + 2] = s * z;
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _tables.Dispose();
    }
}
