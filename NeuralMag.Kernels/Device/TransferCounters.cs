using ILGPU;
using ILGPU.Runtime;

namespace NeuralMag.Kernels;

/// <summary>
/// Counts of the copies between host memory and one ILGPU accelerator, with their sizes in bytes: every
/// <see cref="IlgpuBackend.FromHost(ReadOnlySpan{double}, AD.DType)"/> and <see cref="IlgpuBackend.ToHost"/> of a tensor
/// and every upload of an operator's tables (demag spectra, element matrices, weights). A copy larger than
/// <see cref="FieldSizedBytes"/> counts also as field-sized, so a run can check that only scalars (a step's error
/// norm, a tensor's <c>Item()</c>) cross per step. Thread-safe; <see cref="Reset"/> starts a new measurement.
/// </summary>
public sealed class TransferCounters
{
    /// <summary>Copies larger than this many bytes count as field-sized (eight float64 values).</summary>
    public const long FieldSizedBytes = 64;

    private long _toDevice, _toDeviceBytes, _toDeviceLarge, _toHost, _toHostBytes, _toHostLarge;

    /// <summary>Host → device copies so far.</summary>
    public long ToDevice => Interlocked.Read(ref _toDevice);
    /// <summary>Bytes copied host → device so far.</summary>
    public long ToDeviceBytes => Interlocked.Read(ref _toDeviceBytes);
    /// <summary>Host → device copies larger than <see cref="FieldSizedBytes"/>.</summary>
    public long ToDeviceFieldSized => Interlocked.Read(ref _toDeviceLarge);
    /// <summary>Device → host copies so far.</summary>
    public long ToHost => Interlocked.Read(ref _toHost);
    /// <summary>Bytes copied device → host so far.</summary>
    public long ToHostBytes => Interlocked.Read(ref _toHostBytes);
    /// <summary>Device → host copies larger than <see cref="FieldSizedBytes"/>.</summary>
    public long ToHostFieldSized => Interlocked.Read(ref _toHostLarge);

    /// <summary>The current counts as one immutable value (e.g. to subtract two measurements).</summary>
    public TransferSnapshot Snapshot() => new(ToDevice, ToDeviceBytes, ToDeviceFieldSized, ToHost, ToHostBytes, ToHostFieldSized);

    /// <summary>Sets every count to zero.</summary>
    public void Reset()
    {
        Interlocked.Exchange(ref _toDevice, 0);
        Interlocked.Exchange(ref _toDeviceBytes, 0);
        Interlocked.Exchange(ref _toDeviceLarge, 0);
        Interlocked.Exchange(ref _toHost, 0);
        Interlocked.Exchange(ref _toHostBytes, 0);
        Interlocked.Exchange(ref _toHostLarge, 0);
    }

    internal void CountToDevice(long bytes)
    {
        Interlocked.Increment(ref _toDevice);
        Interlocked.Add(ref _toDeviceBytes, bytes);
        if (bytes > FieldSizedBytes) Interlocked.Increment(ref _toDeviceLarge);
    }

    internal void CountToHost(long bytes)
    {
        Interlocked.Increment(ref _toHost);
        Interlocked.Add(ref _toHostBytes, bytes);
        if (bytes > FieldSizedBytes) Interlocked.Increment(ref _toHostLarge);
    }
}

/// <summary>Host/device copy counts at one moment (see <see cref="TransferCounters"/>).</summary>
/// <param name="ToDevice">Host → device copies.</param>
/// <param name="ToDeviceBytes">Bytes copied host → device.</param>
/// <param name="ToDeviceFieldSized">Host → device copies larger than <see cref="TransferCounters.FieldSizedBytes"/>.</param>
/// <param name="ToHost">Device → host copies.</param>
/// <param name="ToHostBytes">Bytes copied device → host.</param>
/// <param name="ToHostFieldSized">Device → host copies larger than <see cref="TransferCounters.FieldSizedBytes"/>.</param>
public readonly record struct TransferSnapshot(long ToDevice, long ToDeviceBytes, long ToDeviceFieldSized, long ToHost, long ToHostBytes, long ToHostFieldSized)
{
    /// <summary>Copies in both directions.</summary>
    public long Count => ToDevice + ToHost;
    /// <summary>Bytes in both directions.</summary>
    public long Bytes => ToDeviceBytes + ToHostBytes;
    /// <summary>Field-sized copies in both directions.</summary>
    public long FieldSized => ToDeviceFieldSized + ToHostFieldSized;

    /// <summary>The copies between two snapshots (<paramref name="later"/> minus <paramref name="earlier"/>).</summary>
    public static TransferSnapshot operator -(TransferSnapshot later, TransferSnapshot earlier) => new(
        later.ToDevice - earlier.ToDevice, later.ToDeviceBytes - earlier.ToDeviceBytes, later.ToDeviceFieldSized - earlier.ToDeviceFieldSized,
        later.ToHost - earlier.ToHost, later.ToHostBytes - earlier.ToHostBytes, later.ToHostFieldSized - earlier.ToHostFieldSized);

    /// <summary>"to device: n copies (b bytes, f field-sized); to host: ...".</summary>
    public override string ToString() =>
        $"to device: {ToDevice} copies ({ToDeviceBytes} bytes, {ToDeviceFieldSized} field-sized); to host: {ToHost} copies ({ToHostBytes} bytes, {ToHostFieldSized} field-sized)";
}
