using System.Numerics;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using NeuralMag.AD;
using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag.Kernels.Demag;

/// <summary>
/// The nodal demag field on a CUDA device with cuFFT (ILGPU.Algorithms' bindings): the cell means of Ms rho m go into
/// zero-padded real grids, D2Z transforms give half spectra in FFTW's layout, the product with the kernel's real half
/// spectra, Z2D transforms back, and the weighted gather to the nodes. Same contract as
/// <see cref="DeviceDemagConvolution"/>, which serves every ILGPU device with our own FFT kernel.
/// <para>
/// Not yet verified on hardware (no GPU was available when it was written): <see cref="Enabled"/> is off unless
/// NM_CUFFT=1, and DeviceDemagTests compares it with the CPU where CUDA is present.
/// </para>
/// </summary>
public sealed class CuFftDemagConvolution : IDisposable
{
    /// <summary>Opt-in until checked on a GPU: NM_CUFFT=1.</summary>
    public static bool Enabled => Environment.GetEnvironmentVariable("NM_CUFFT") == "1";

    private readonly IlgpuBackend _backend;
    private readonly DeviceDemagConvolution.GridConstants _grid;
    private readonly int _nodes, _cells, _points, _half;
    private readonly CuFFT _cufft;
    private readonly CuFFTPlan _forward, _inverse;
    private readonly MemoryBuffer1D<double, Stride1D.Dense> _spectra, _w, _wn, _invMass;
    private readonly MemoryBuffer1D<double, Stride1D.Dense>[] _real, _complex;
    private bool _disposed;

    /// <summary>Whether this device and kernel can use cuFFT (a CUDA accelerator, more than one cell).</summary>
    public static bool Supports(AD.Device device, DemagKernel kernel) =>
        device.Backend is IlgpuBackend { Accelerator: CudaAccelerator } && kernel.Fft != null;

    public CuFftDemagConvolution(DemagKernel kernel, GridGeometry g, double[] cellWeight, double[] gatherWeight, double[] invNodeMass, AD.Device device)
    {
        _backend = device.Backend as IlgpuBackend ?? throw new NotSupportedException($"cuFFT needs a CUDA device; got '{device}'.");
        if (_backend.Accelerator is not CudaAccelerator cuda) throw new NotSupportedException($"cuFFT needs a CUDA device; got '{device}'.");
        if (kernel.Fft == null) throw new NotSupportedException("A single cell has no convolution to transform.");
        int dim = g.Dim;
        var cells = new[] { 1, 1, 1 };
        var nodes = new[] { 1, 1, 1 };
        for (int k = 0; k < dim; k++)
        {
            cells[k] = g.Cells[k];
            nodes[k] = g.Nodes[k];
        }
        var s = kernel.FftShape;
        int halfAxis = kernel.Axes[^1];
        var d = (int[])s.Clone();
        d[halfAxis] = s[halfAxis] / 2 + 1;
        _grid = new DeviceDemagConvolution.GridConstants
        {
            Corners = g.Corners,
            Nx = nodes[0], Ny = nodes[1], Nz = nodes[2], Cx = cells[0], Cy = cells[1], Cz = cells[2],
            Sx = s[0], Sy = s[1], Sz = s[2],
            HalfAxis = halfAxis, Dx = d[0], Dy = d[1], Dz = d[2], HalfLength = d[0] * d[1] * d[2],
        };
        _nodes = g.NumNodes;
        _cells = g.NumCells;
        _points = s[0] * s[1] * s[2];
        _half = _grid.HalfLength;
        var acc = _backend.Accelerator;
        _spectra = acc.Allocate1D(Enumerable.Range(0, 6).SelectMany(kernel.HalfSpectrum).ToArray());
        _w = acc.Allocate1D(cellWeight);
        _wn = acc.Allocate1D(gatherWeight);
        _invMass = acc.Allocate1D(invNodeMass);
        _real = Enumerable.Range(0, 3).Select(_ => acc.Allocate1D<double>(_points)).ToArray();
        _complex = Enumerable.Range(0, 3).Select(_ => acc.Allocate1D<double>(2L * _half)).ToArray();
        _cufft = new CuFFT();
        var t = kernel.TransformShape;
        CuFFTPlan Plan(CuFFTType type)
        {
            CuFFTPlan? plan;
            var result = t.Length switch
            {
                1 => _cufft.Plan1D(out plan, t[0], type, 1),
                2 => _cufft.Plan2D(out plan, t[0], t[1], type),
                _ => _cufft.Plan3D(out plan, t[0], t[1], t[2], type),
            };
            CuFFTException.ThrowIfFailed(result);
            plan!.SetStream((CudaStream)cuda.DefaultStream);
            return plan;
        }
        _forward = Plan(CuFFTType.CUFFT_D2Z);
        _inverse = Plan(CuFFTType.CUFFT_Z2D);
    }

    public NTensor Apply(NTensor m)
    {
        if (_disposed) throw new ObjectDisposedException(nameof(CuFftDemagConvolution));
        if (m.Device != _backend.Device) throw new ArgumentException($"m is on '{m.Device}', the demag operator on '{_backend.Device}'.");
        if (m.Size != 3 * _nodes) throw new ArgumentException($"m has {m.Size} values, expected {3 * _nodes} (nodes x 3).");
        var m64 = m.DType == DType.Float64 ? m : m.Cast(DType.Float64);
        var zero = _backend.Kernel<Action<Index1D, ArrayView<double>>>(Zero);
        foreach (var r in _real) zero(_points, r.View);
        _backend.Kernel<Action<Index1D, DeviceDemagConvolution.GridConstants, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>>>(ScatterCellMean)(
            _cells, _grid, ((IlgpuStorage)m64.Storage).F64, _w.View, _real[0].View, _real[1].View, _real[2].View);
        for (int j = 0; j < 3; j++) CuFFTException.ThrowIfFailed(_forward.ExecD2Z(_real[j].View, _complex[j].View.BaseView.Cast<Complex>()));
        _backend.Kernel<Action<Index1D, int, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>>>(Multiply)(
            _half, _half, _complex[0].View, _complex[1].View, _complex[2].View, _spectra.View);
        for (int i = 0; i < 3; i++) CuFFTException.ThrowIfFailed(_inverse.ExecZ2D(_complex[i].View.BaseView.Cast<Complex>(), _real[i].View));
        var output = _backend.Full(DType.Float64, m.Size, 0);
        _backend.Kernel<Action<Index1D, DeviceDemagConvolution.GridConstants, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>>>(Gather)(
            _nodes, _grid, _real[0].View, _real[1].View, _real[2].View, _wn.View, _invMass.View, ((IlgpuStorage)output).F64);
        var h = new NTensor(output, m.GetShape());
        return m.DType == DType.Float64 ? h : h.Cast(m.DType);
    }

    private static void Zero(Index1D i, ArrayView<double> a) => a[i] = 0;

    private static void ScatterCellMean(Index1D c, DeviceDemagConvolution.GridConstants g, ArrayView<double> m, ArrayView<double> w, ArrayView<double> gx, ArrayView<double> gy, ArrayView<double> gz)
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
        int p = (ix * g.Sy + iy) * g.Sz + iz;
        gx[p] = f * x;
        gy[p] = f * y;
        gz[p] = f * z;
    }

    /// <summary>ĥ = N̂ M̂ at half-spectrum index k (interleaved complex), with the six real kernel spectra of length n.</summary>
    private static void Multiply(Index1D k, int n, ArrayView<double> gx, ArrayView<double> gy, ArrayView<double> gz, ArrayView<double> spectra)
    {
        double nxx = spectra[k], nxy = spectra[n + k], nxz = spectra[2 * n + k], nyy = spectra[3 * n + k], nyz = spectra[4 * n + k], nzz = spectra[5 * n + k];
        int p = 2 * k;
        double xr = gx[p], xi = gx[p + 1], yr = gy[p], yi = gy[p + 1], zr = gz[p], zi = gz[p + 1];
        gx[p] = nxx * xr + nxy * yr + nxz * zr;
        gx[p + 1] = nxx * xi + nxy * yi + nxz * zi;
        gy[p] = nxy * xr + nyy * yr + nyz * zr;
        gy[p + 1] = nxy * xi + nyy * yi + nyz * zi;
        gz[p] = nxz * xr + nyz * yr + nzz * zr;
        gz[p + 1] = nxz * xi + nyz * yi + nzz * zi;
    }

    private static void Gather(Index1D n, DeviceDemagConvolution.GridConstants g, ArrayView<double> gx, ArrayView<double> gy, ArrayView<double> gz, ArrayView<double> wn, ArrayView<double> invMass, ArrayView<double> h)
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
            int p = (cx * g.Sy + cy) * g.Sz + cz;
            x += w * gx[p];
            y += w * gy[p];
            z += w * gz[p];
        }
        double s = invMass[n];
        h[3 * n] = s * x;
        h[3 * n + 1] = s * y;
        h[3 * n + 2] = s * z;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _forward.Dispose();
        _inverse.Dispose();
        foreach (var b in _real.Concat(_complex).Append(_spectra).Append(_w).Append(_wn).Append(_invMass)) b.Dispose();
    }
}
