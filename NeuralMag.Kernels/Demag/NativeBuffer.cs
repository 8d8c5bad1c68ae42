using System.Runtime.InteropServices;

namespace NeuralMag.Kernels.Demag;

/// <summary>
/// An unmanaged array of T aligned to 64 bytes (what FFTW's SIMD codelets want, and the same alignment for every
/// buffer, so a plan made on one buffer can execute on another). Zeroed on allocation; freed on Dispose or finalization.
/// </summary>
public sealed unsafe class NativeBuffer<T> : IDisposable where T : unmanaged
{
    private T* _ptr;

    /// <summary>Allocates <paramref name="length"/> zeroed elements (at least one byte), 64-byte aligned.</summary>
    public NativeBuffer(long length)
    {
        Length = length;
        nuint bytes = (nuint)Math.Max(1, length * sizeof(T));
        _ptr = (T*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(_ptr, bytes);
        GC.AddMemoryPressure((long)bytes);
    }

    /// <summary>Number of elements.</summary>
    public long Length { get; }
    /// <summary>Address of the first element; throws <see cref="ObjectDisposedException"/> after Dispose.</summary>
    public T* Pointer => _ptr != null ? _ptr : throw new ObjectDisposedException(nameof(NativeBuffer<T>));
    /// <summary>The elements as a span (at most 2^31-1).</summary>
    public Span<T> Span => new(Pointer, checked((int)Length));

    /// <summary>Sets every element to zero.</summary>
    public void Clear() => NativeMemory.Clear(Pointer, (nuint)(Length * sizeof(T)));

    /// <summary>Frees the memory (idempotent).</summary>
    public void Dispose()
    {
        if (_ptr == null) return;
        NativeMemory.AlignedFree(_ptr);
        _ptr = null;
        GC.RemoveMemoryPressure(Math.Max(1, Length * sizeof(T)));
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the memory if Dispose was not called.</summary>
    ~NativeBuffer() => Dispose();
}
