using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;
using NeuralMag.AD;

namespace NeuralMag.Kernels;

/// <summary>
/// Memory of one tensor on an ILGPU accelerator: a <see cref="MemoryBuffer1D{T, TStride}"/> of doubles or floats.
/// <para>
/// Release story: <see cref="Dispose"/> frees the buffer at once (on the calling thread). Tensors are immutable and
/// most are dropped without Dispose, so a finalizer hands the buffer to <see cref="IlgpuBackend"/>'s release queue
/// instead of freeing it on the finalizer thread (a CUDA context is bound to threads; freeing there is unsafe). The
/// backend drains that queue on its next allocation. The buffer's size is reported to the GC as memory pressure so
/// that collections, and with them releases, happen as device memory fills up.
/// </para>
/// </summary>
public sealed class IlgpuStorage : Storage
{
    private MemoryBuffer? _buffer;
    private readonly long _bytes;

    internal IlgpuStorage(IlgpuBackend backend, MemoryBuffer1D<double, Stride1D.Dense> buffer, int length)
        : this(backend, (MemoryBuffer)buffer, length, DType.Float64) => F64Buffer = buffer;

    internal IlgpuStorage(IlgpuBackend backend, MemoryBuffer1D<float, Stride1D.Dense> buffer, int length)
        : this(backend, (MemoryBuffer)buffer, length, DType.Float32) => F32Buffer = buffer;

    private IlgpuStorage(IlgpuBackend backend, MemoryBuffer buffer, int length, DType dtype)
    {
        Backend = backend;
        _buffer = buffer;
        Length = length;
        DType = dtype;
        _bytes = Math.Max(1L, buffer.LengthInBytes);
        GC.AddMemoryPressure(_bytes);
    }

    internal IlgpuBackend Backend { get; }

    /// <summary>The float64 buffer (null for float32). At least one element long, even for empty tensors.</summary>
    public MemoryBuffer1D<double, Stride1D.Dense>? F64Buffer { get; }

    /// <summary>The float32 buffer (null for float64). At least one element long, even for empty tensors.</summary>
    public MemoryBuffer1D<float, Stride1D.Dense>? F32Buffer { get; }

    internal ArrayView<double> F64 => _buffer != null ? F64Buffer!.View : throw Disposed();
    internal ArrayView<float> F32 => _buffer != null ? F32Buffer!.View : throw Disposed();

    /// <inheritdoc/>
    public override DType DType { get; }
    /// <inheritdoc/>
    public override int Length { get; }
    /// <inheritdoc/>
    public override AD.Device Device => Backend.Device;

    /// <summary>True once the device memory was released.</summary>
    public bool IsDisposed => _buffer == null;

    private ObjectDisposedException Disposed() => new(nameof(IlgpuStorage), "This tensor's device memory was released (Dispose was called).");

    internal void ThrowIfDisposed()
    {
        if (_buffer == null) throw Disposed();
    }

    /// <summary>Releases the device memory now (idempotent); later use of the tensor throws <see cref="ObjectDisposedException"/>.</summary>
    public override void Dispose()
    {
        var b = Interlocked.Exchange(ref _buffer, null);
        if (b == null) return;
        b.Dispose();
        GC.RemoveMemoryPressure(_bytes);
        GC.SuppressFinalize(this);
    }

    /// <summary>Queues the device memory for release on the backend's next allocation (see <see cref="IlgpuBackend.ReleasePending"/>).</summary>
    ~IlgpuStorage()
    {
        var b = Interlocked.Exchange(ref _buffer, null);
        if (b == null) return;
        Backend.PendingRelease.Enqueue(b);
        GC.RemoveMemoryPressure(_bytes);
    }
}
