using ILGPU;
using ILGPU.Runtime;

namespace NeuralMag.Kernels;

/// <summary>
/// The tables of a prepared device operator (element matrices, spectra, weights), kept as float64 host arrays and put
/// on an ILGPU device in the precision its kernel runs in: float64 as given, float32 rounded once from the float64
/// values, each precision uploaded on first use and kept, with scratch buffers of fixed lengths beside them.
/// <see cref="Dispose"/> frees both precisions.
/// </summary>
internal sealed class PrecisionTables : IDisposable
{
    private readonly IlgpuBackend _backend;
    private readonly double[][] _host;
    private readonly long[] _scratch;
    private MemoryBuffer1D<double, Stride1D.Dense>[]? _double;
    private MemoryBuffer1D<float, Stride1D.Dense>[]? _single;
    private bool _disposed;

    /// <param name="backend">The device's backend.</param>
    /// <param name="host">The float64 tables, in the order <see cref="Get{T}"/> returns them (copied).</param>
    /// <param name="scratch">Lengths of uninitialized scratch buffers per precision, returned after the tables.</param>
    public PrecisionTables(IlgpuBackend backend, double[][] host, params long[] scratch)
    {
        _backend = backend ?? throw new ArgumentNullException(nameof(backend));
        ArgumentNullException.ThrowIfNull(host);
        _host = host.Select((t, i) => (double[])(t ?? throw new ArgumentNullException(nameof(host), $"Table {i} is null.")).Clone()).ToArray();
        _scratch = (long[])scratch.Clone();
    }

    /// <summary>The tables then the scratch buffers in precision T (double or float) on the device.</summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public MemoryBuffer1D<T, Stride1D.Dense>[] Get<T>() where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (typeof(T) == typeof(double)) return (MemoryBuffer1D<T, Stride1D.Dense>[])(object)(_double ??= Make(v => v));
        if (typeof(T) == typeof(float)) return (MemoryBuffer1D<T, Stride1D.Dense>[])(object)(_single ??= Make(v => (float)v));
        throw new NotSupportedException($"PrecisionTables holds double or float tables, not {typeof(T).Name}.");
    }

    private MemoryBuffer1D<T, Stride1D.Dense>[] Make<T>(Func<double, T> round) where T : unmanaged =>
        _host.Select(t => _backend.Upload(Array.ConvertAll(t, v => round(v))))
            .Concat(_scratch.Select(n => _backend.Accelerator.Allocate1D<T>(n)))
            .ToArray();

    /// <summary>Elements of one precision: the tables' and the scratch buffers'.</summary>
    public long Elements => _host.Sum(t => (long)t.Length) + _scratch.Sum();

    /// <summary>Device bytes held now (the precisions uploaded so far).</summary>
    public long Bytes => (_double == null ? 0 : 8L * Elements) + (_single == null ? 0 : 4L * Elements);

    /// <summary>Frees the device buffers of both precisions.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var b in _double ?? Array.Empty<MemoryBuffer1D<double, Stride1D.Dense>>()) b.Dispose();
        foreach (var b in _single ?? Array.Empty<MemoryBuffer1D<float, Stride1D.Dense>>()) b.Dispose();
        _double = null;
        _single = null;
    }
}
