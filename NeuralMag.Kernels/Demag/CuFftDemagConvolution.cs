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
/// Off by default: <see cref="Enabled"/> is true only when NM_CUFFT=1, otherwise the Stockham path of
/// <see cref="DeviceDemagConvolution"/> runs on CUDA too; DeviceDemagTests compares both with the CPU where CUDA is present.
/// </para>
/// </summary>
public sealed class CuFftDemagConvolution : IDisposable
{
    /// <summary>True when <see cref="Config.CuFft"/> is set (NM_CUFFT=1): the demag field then uses cuFFT on CUDA devices.</summary>
    public static bool Enabled => Config.CuFft;

    private readonly IlgpuBackend _backend;
    private readonly DeviceDemagConvolution.GridConstants _grid;
    private readonly int _nodes, _cells, _points, _half;
    private readonly CuFFT _cufft;
    private readonly CuFFTPlan _forward, _inverse;
    private readonly MemoryBuffer1D<double, Stride1D.Dense> _spectra, _w, _wn, _invMass;
    private readonly MemoryBuffer1D<double, Stride1D.Dense>[] _real, _complex;
    private bool _disposed;

    /// <summary>Whether this device and kernel can use cuFFT (a CUDA accelerator, the Newell kernel of more than one
    /// cell; true PBC runs on our Stockham kernel, <see cref="DeviceDemagConvolution"/>).</summary>
    public static bool Supports(AD.Device device, DemagKernel kernel) =>
        device.Backend is IlgpuBackend { Accelerator: CudaAccelerator } && kernel.Fft != null && !kernel.IsTruePeriodic;

    /// <summary>Uploads the kernel spectra and weights and plans the cuFFT transforms of the padded grid.</summary>
    /// <param name="kernel">The demag kernel of the grid's cells.</param>
    /// <param name="g">The node/cell grid.</param>
    /// <param name="cellWeight">Per cell, Ms rho (the factor of the cell mean of m).</param>
    /// <param name="gatherWeight">Per cell, the weight of its field at its corners ((V/2^d) rho Ms).</param>
    /// <param name="invNodeMass">Per node, 1 / Σ of the adjacent cells' mass weights.</param>
    /// <param name="device">A CUDA device.</param>
    /// <exception cref="NotSupportedException">The device is not a CUDA device.</exception>
    public CuFftDemagConvolution(DemagKernel kernel, GridGeometry g, double[] cellWeight, double[] gatherWeight, double[] invNodeMass, AD.Device device)
    {
        _backend = device.Backend as IlgpuBackend ?? throw new NotSupportedException($"cuFFT needs a CUDA device; got '{device}'.");
        if (_backend.Accelerator is not CudaAccelerator cuda) throw new NotSupportedException($"cuFFT needs a CUDA device; got '{device}'.");
        if (kernel.Fft == null) throw new NotSupportedException("A single cell has no convolution to transform.");
        var s = kernel.FftShape;
        _grid = DeviceDemagConvolution.Constants(kernel, g, stride: 1);
        _nodes = g.NumNodes;
        _cells = g.NumCells;
        _points = s[0] * s[1] * s[2];
        _half = _grid.HalfLength;
        var acc = _backend.Accelerator;
        _spectra = _backend.Upload(Enumerable.Range(0, 6).SelectMany(kernel.HalfSpectrum).ToArray());
        _w = _backend.Upload(DeviceDemagConvolution.CellMeanWeights(cellWeight, g.Corners));
        _wn = _backend.Upload(gatherWeight);
        _invMass = _backend.Upload(invNodeMass);
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

    /// <summary>The nodal demag field h (A/m, nodes x 3) of the nodal magnetization <paramref name="m"/> (unit vectors, nodes x 3), on the device.</summary>
    public NTensor Apply(NTensor m)
    {
        if (_disposed) throw new ObjectDisposedException(nameof(CuFftDemagConvolution));
        if (m.Device != _backend.Device) throw new ArgumentException($"m is on '{m.Device}', the demag operator on '{_backend.Device}'.");
        if (m.Size != 3 * _nodes) throw new ArgumentException($"m has {m.Size} values, expected {3 * _nodes} (nodes x 3).");
        var m64 = m.DType == DType.Float64 ? m : m.Cast(DType.Float64);
        var zero = _backend.Kernel<Action<Index1D, ArrayView<double>>>(DeviceDemagConvolution.Zero);
        foreach (var r in _real) zero(_points, r.View);
        _backend.Kernel<Action<Index1D, DeviceDemagConvolution.GridConstants, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>>>(DeviceDemagConvolution.ScatterCellMean)(
            _cells, _grid, ((IlgpuStorage)m64.Storage).F64, _w.View, _real[0].View, _real[1].View, _real[2].View);
        for (int j = 0; j < 3; j++) CuFFTException.ThrowIfFailed(_forward.ExecD2Z(_real[j].View, _complex[j].View.BaseView.Cast<Complex>()));
        _backend.Kernel<Action<Index1D, int, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>>>(Multiply)(
            _half, _half, _complex[0].View, _complex[1].View, _complex[2].View, _spectra.View);
        for (int i = 0; i < 3; i++) CuFFTException.ThrowIfFailed(_inverse.ExecZ2D(_complex[i].View.BaseView.Cast<Complex>(), _real[i].View));
        var output = _backend.Full(DType.Float64, m.Size, 0);
        _backend.Kernel<Action<Index1D, DeviceDemagConvolution.GridConstants, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>>>(DeviceDemagConvolution.GatherToNodes)(
            _nodes, _grid, _real[0].View, _real[1].View, _real[2].View, _wn.View, _invMass.View, ((IlgpuStorage)output).F64);
        var h = new NTensor(output, m.GetShape());
        return m.DType == DType.Float64 ? h : h.Cast(m.DType);
    }

    /// <summary>ĥ = N̂ M̂ at half-spectrum index k (interleaved complex), with the six real kernel spectra of length n.</summary>
    private static void Multiply(Index1D k, int n, ArrayView<double> gx, ArrayView<double> gy, ArrayView<double> gz, ArrayView<double> spectra) =>
        DeviceDemagConvolution.MultiplyPoint(k, k, n, gx, gy, gz, spectra);

    /// <summary>Frees the plans and device buffers.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _forward.Dispose();
        _inverse.Dispose();
        foreach (var b in _real.Concat(_complex).Append(_spectra).Append(_w).Append(_wn).Append(_invMass)) b.Dispose();
    }
}
