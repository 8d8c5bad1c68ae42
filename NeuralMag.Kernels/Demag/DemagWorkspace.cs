namespace NeuralMag.Kernels.Demag;

/// <summary>
/// Buffers of one demag convolution in the precision T: the zero-padded real input grid (only its cell block is ever
/// written, so the padding stays zero across calls), the real output grid of the inverse transforms, and the three
/// half spectra of M (then of h), interleaved complex values (re, im).
/// </summary>
internal sealed class DemagWorkspace<T> : IDisposable where T : unmanaged
{
    public DemagWorkspace(long realLength, long spectrumLength)
    {
        Real = new NativeBuffer<T>(realLength);
        Output = new NativeBuffer<T>(realLength);
        Spectra = new[] { new NativeBuffer<T>(2 * spectrumLength), new NativeBuffer<T>(2 * spectrumLength), new NativeBuffer<T>(2 * spectrumLength) };
    }

    public NativeBuffer<T> Real { get; }
    public NativeBuffer<T> Output { get; }
    public NativeBuffer<T>[] Spectra { get; }

    public void Dispose()
    {
        Real.Dispose();
        Output.Dispose();
        foreach (var s in Spectra) s.Dispose();
    }
}

/// <summary>
/// Buffers of a batched demag convolution of <see cref="Members"/> members in the precision T: 3·members zero-padded
/// real input grids (grid 3b + j holds component j of member b; only the cell blocks are ever written, so the
/// padding stays zero), as many real output grids, and as many half spectra, each array contiguous so that one
/// batched FFT plan transforms every grid.
/// </summary>
internal sealed class DemagBatchWorkspace<T> : IDisposable where T : unmanaged
{
    public DemagBatchWorkspace(long realLength, long spectrumLength, int members)
    {
        Members = members;
        Real = new NativeBuffer<T>(3L * members * realLength);
        Output = new NativeBuffer<T>(3L * members * realLength);
        Spectra = new NativeBuffer<T>(3L * members * 2 * spectrumLength);
    }

    public int Members { get; }
    public NativeBuffer<T> Real { get; }
    public NativeBuffer<T> Output { get; }
    public NativeBuffer<T> Spectra { get; }

    public void Dispose()
    {
        Real.Dispose();
        Output.Dispose();
        Spectra.Dispose();
    }
}
