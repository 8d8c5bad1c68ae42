using System.Numerics;

namespace NeuralMag.Kernels.Demag;

/// <summary>
/// Buffers of one demag convolution: the zero-padded real input grid (only its cell block is ever written, so the
/// padding stays zero across calls), the real output grid of the inverse transforms, and the three half spectra of M
/// (then of h).
/// </summary>
internal sealed class DemagWorkspace : IDisposable
{
    public DemagWorkspace(RealFft3D fft)
    {
        Real = new NativeBuffer<double>(fft.RealLength);
        Output = new NativeBuffer<double>(fft.RealLength);
        Spectra = new[] { new NativeBuffer<Complex>(fft.SpectrumLength), new NativeBuffer<Complex>(fft.SpectrumLength), new NativeBuffer<Complex>(fft.SpectrumLength) };
    }

    public NativeBuffer<double> Real { get; }
    public NativeBuffer<double> Output { get; }
    public NativeBuffer<Complex>[] Spectra { get; }

    public void Dispose()
    {
        Real.Dispose();
        Output.Dispose();
        foreach (var s in Spectra) s.Dispose();
    }
}
