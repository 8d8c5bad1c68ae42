using ILGPU;
using ILGPU.Runtime;
using NeuralMag.AD;

namespace NeuralMag.Kernels;

/// <summary>Element access to a float64 field, implemented for host arrays and ILGPU views.</summary>
public interface IField
{
    /// <summary>Element <paramref name="i"/> (0 to <see cref="Length"/> − 1).</summary>
    double this[int i] { get; set; }
    /// <summary>Number of elements.</summary>
    int Length { get; }
}

/// <summary>A host array seen as an <see cref="IField"/> (the CPU path).</summary>
public readonly struct HostField : IField
{
    private readonly double[] _a;
    /// <summary>Wraps a host array (not copied).</summary>
    public HostField(double[] a) => _a = a;
    /// <inheritdoc/>
    public double this[int i] { get => _a[i]; set => _a[i] = value; }
    /// <inheritdoc/>
    public int Length => _a.Length;
}

/// <summary>An ILGPU view seen as an <see cref="IField"/> (the accelerator path).</summary>
public readonly struct DeviceField : IField
{
    private readonly ArrayView<double> _v;
    /// <summary>Wraps an ILGPU view (not copied).</summary>
    public DeviceField(ArrayView<double> v) => _v = v;
    /// <inheritdoc/>
    public double this[int i] { get => _v[i]; set => _v[i] = value; }
    /// <inheritdoc/>
    public int Length => (int)_v.Length;
}

/// <summary>
/// A per-index kernel written once: <see cref="Execute{TField}"/> computes output element(s) for index i from the
/// input field. Implement it on a struct holding only unmanaged parameters (sizes, coefficients); no managed
/// references, no allocation, no exceptions, so that ILGPU can compile it. <see cref="Launcher"/> runs it as a plain
/// C# parallel loop on the CPU device and as an ILGPU kernel on ILGPU devices.
/// </summary>
public interface IKernelBody
{
    /// <summary>Computes the output element(s) of index <paramref name="i"/> from <paramref name="input"/>.</summary>
    /// <typeparam name="TField"><see cref="HostField"/> on the CPU, <see cref="DeviceField"/> on ILGPU devices.</typeparam>
    /// <param name="i">Index of the work item (0 to the launch length − 1).</param>
    /// <param name="input">The field read.</param>
    /// <param name="output">The field written.</param>
    void Execute<TField>(int i, TField input, TField output) where TField : struct, IField;
}

/// <summary>Runs an <see cref="IKernelBody"/> over [0, count) on the device of its float64 input tensor.</summary>
public static class Launcher
{
    private static void Entry<TBody>(Index1D i, TBody body, ArrayView<double> input, ArrayView<double> output)
        where TBody : struct, IKernelBody
        => body.Execute(i, new DeviceField(input), new DeviceField(output));

    /// <summary>
    /// Applies <paramref name="body"/> for i in [0, count) to <paramref name="input"/> and returns a new tensor of
    /// <paramref name="outputShape"/> (initialized to zero) on the same device. float64 only.
    /// </summary>
    public static NTensor Run<TBody>(TBody body, int count, NTensor input, int[] outputShape) where TBody : struct, IKernelBody
    {
        if (input.DType != DType.Float64)
            throw new NotSupportedException($"Launcher.Run supports float64 tensors; got {input.DType.Name()}.");
        var device = input.Device;
        var output = device.Backend.Full(DType.Float64, Shapes.Product(outputShape), 0);
        if (device.IsCpu)
        {
            var x = new HostField(((CpuStorage)input.Storage).F64!);
            var y = new HostField(((CpuStorage)output).F64!);
            ParallelLoop.For(count, (lo, hi) =>
            {
                for (int i = lo; i < hi; i++) body.Execute(i, x, y);
            });
        }
        else if (device.Backend is IlgpuBackend g)
        {
            var xs = (IlgpuStorage)input.Storage;
            var ys = (IlgpuStorage)output;
            if (count > 0) g.Kernel<Action<Index1D, TBody, ArrayView<double>, ArrayView<double>>>(Entry)(count, body, xs.F64, ys.F64);
        }
        else throw new NotSupportedException($"Launcher.Run: device '{device}' is neither the CPU nor an ILGPU device.");
        return new NTensor(output, outputShape);
    }
}
