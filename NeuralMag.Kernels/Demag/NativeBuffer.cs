using System.Runtime.InteropServices;

namespace NeuralMag.Kernels.Demag;

/// <summary>
/// An unmanaged array of T aligned to 64 bytes (what FFTW's SIMD codelets want, and the same alignment for every
/// buffer, so a plan made on one buffer can execute on another). Zeroed on allocation; freed on Dispose or finalization.
/// </summary>
public sealed unsafe class NativeBuffer<T> : IDisposable where T : unmanaged
{
    private T* _ptr;

    public NativeBuffer(long length)
    {
        Length = length;
        nuint bytes = (nuint)Math.Max(1, length * sizeof(T));
        _ptr = (T*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(_ptr, bytes);
        GC.AddMemoryPressure((long)bytes);
    }

    public long Length { get; }
    public T* Pointer => _ptr != null ? _ptr : throw new ObjectDisposedException(nameof(NativeBuffer<T>));
    public Span<T> Span => new(Pointer, checked((int)Length));

    public void Clear() => NativeMemory.Clear(Pointer, (nuint)(Length * sizeof(T)));

    public void Dispose()
    {
        if (_ptr == null) return;
        NativeMemory.AlignedFree(_ptr);
        _ptr = null;
        GC.RemoveMemoryPressure(Math.Max(1, Length * sizeof(T)));
        GC.SuppressFinalize(this);
    }

    ~NativeBuffer() => Dispose();
}
