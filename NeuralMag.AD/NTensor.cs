using System.Globalization;
using System.Text;

namespace NeuralMag.AD;

/// <summary>
/// A dense n-dimensional array of float64 or float32 on a <see cref="Device"/>, row-major, with the last axis fastest
/// (fields are (x, y, z, component) as in upstream NeuralMag). Values are immutable: every operation returns a new
/// tensor, and operations on tensors watched by the active <see cref="Tape"/> are recorded for reverse-mode
/// differentiation. The only in-place update is <see cref="Assign"/>, allowed on leaves while nothing records.
/// </summary>
public sealed partial class NTensor
{
    private int[] _shape;

    internal Tape.Node? Node;

    /// <summary>Wraps existing storage (no copy). Low-level: used by kernels that produce their own storage.</summary>
    public NTensor(Storage storage, int[] shape)
    {
        if (Shapes.Product(shape) != storage.Length)
            throw new ArgumentException($"Storage of {storage.Length} elements does not fit shape {Shapes.Format(shape)}.");
        Storage = storage;
        _shape = (int[])shape.Clone();
    }

    /// <summary>The memory holding the values (row-major, contiguous). Low-level: kernels read it; nobody writes it.</summary>
    public Storage Storage { get; private set; }

    /// <summary>Extent per axis (read-only view; empty for a 0-d tensor).</summary>
    public IReadOnlyList<int> Shape => _shape;

    internal int[] ShapeArray => _shape;

    /// <summary>A copy of the shape.</summary>
    public int[] GetShape() => (int[])_shape.Clone();

    /// <summary>Number of axes (0 for a scalar).</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements.</summary>
    public int Size => Storage.Length;

    /// <summary>Floating-point type of the elements.</summary>
    public DType DType => Storage.DType;

    /// <summary>The device holding the values.</summary>
    public Device Device => Storage.Device;

    /// <summary>True when the active tape records operations on this tensor.</summary>
    public bool IsTracked => Node != null && Node.Tape == Tape.Current;

    internal static NTensor Alias(NTensor x) => new(x.Storage, x._shape);

    /// <summary>The same values, cut off from the tape.</summary>
    public NTensor Detach() => Node == null ? this : Alias(this);

    // ---------------------------------------------------------------- creation

    private static Device Dev(Device? d) => d ?? Config.Device;
    private static DType Dt(DType? t) => t ?? Config.DType;

    /// <summary>A tensor of <paramref name="shape"/> with every element <paramref name="value"/>; dtype and device default to <see cref="Config"/>'s.</summary>
    /// <exception cref="ArgumentException">An extent is negative.</exception>
    public static NTensor Full(int[] shape, double value, DType? dtype = null, Device? device = null)
    {
        foreach (var s in shape)
            if (s < 0) throw new ArgumentException($"Negative extent in shape {Shapes.Format(shape)}.");
        var d = Dev(device);
        return new NTensor(d.Backend.Full(Dt(dtype), Shapes.Product(shape), value), shape);
    }

    /// <summary>A zero tensor (dtype and device default to <see cref="Config"/>'s).</summary>
    public static NTensor Zeros(int[] shape, DType? dtype = null, Device? device = null) => Full(shape, 0, dtype, device);
    /// <summary>A tensor of ones (dtype and device default to <see cref="Config"/>'s).</summary>
    public static NTensor Ones(int[] shape, DType? dtype = null, Device? device = null) => Full(shape, 1, dtype, device);
    /// <summary>Zeros with the shape, dtype and device of <paramref name="x"/>.</summary>
    public static NTensor ZerosLike(NTensor x) => Full(x._shape, 0, x.DType, x.Device);
    /// <summary>Ones with the shape, dtype and device of <paramref name="x"/>.</summary>
    public static NTensor OnesLike(NTensor x) => Full(x._shape, 1, x.DType, x.Device);
    /// <summary>A constant with the shape, dtype and device of <paramref name="x"/>.</summary>
    public static NTensor FullLike(NTensor x, double value) => Full(x._shape, value, x.DType, x.Device);

    /// <summary>A 0-d tensor holding one number.</summary>
    public static NTensor Scalar(double value, DType? dtype = null, Device? device = null) => Full(Array.Empty<int>(), value, dtype, device);

    /// <summary>Copies row-major data into a tensor of the given shape (a 1-d tensor when no shape is given).</summary>
    public static NTensor FromArray(double[] data, int[]? shape = null, DType? dtype = null, Device? device = null)
    {
        shape ??= new[] { data.Length };
        if (Shapes.Product(shape) != data.Length)
            throw new ArgumentException($"{data.Length} values do not fill shape {Shapes.Format(shape)} ({Shapes.Product(shape)} elements).");
        return new NTensor(Dev(device).Backend.FromHost(data, Dt(dtype)), shape);
    }

    /// <summary>Copies row-major single-precision data into a tensor (float32 unless <paramref name="dtype"/> says otherwise; 1-d when no shape is given).</summary>
    public static NTensor FromArray(float[] data, int[]? shape = null, DType? dtype = null, Device? device = null)
    {
        shape ??= new[] { data.Length };
        if (Shapes.Product(shape) != data.Length)
            throw new ArgumentException($"{data.Length} values do not fill shape {Shapes.Format(shape)} ({Shapes.Product(shape)} elements).");
        return new NTensor(Dev(device).Backend.FromHost(data, dtype ?? DType.Float32), shape);
    }

    /// <summary>Copies a rectangular .NET array of doubles (double[,], double[,,,], ...) keeping its shape.</summary>
    public static NTensor From(Array array, DType? dtype = null, Device? device = null)
    {
        var shape = new int[array.Rank];
        for (int i = 0; i < shape.Length; i++) shape[i] = array.GetLength(i);
        var data = new double[array.Length];
        int k = 0;
        foreach (var v in array) data[k++] = Convert.ToDouble(v, CultureInfo.InvariantCulture);
        return FromArray(data, shape, dtype, device);
    }

    /// <summary>n evenly spaced values from start to stop inclusive.</summary>
    public static NTensor Linspace(double start, double stop, int n, DType? dtype = null, Device? device = null)
    {
        if (n < 1) throw new ArgumentException($"Linspace needs n >= 1, got {n}.");
        var d = new double[n];
        for (int i = 0; i < n; i++) d[i] = n == 1 ? start : start + (stop - start) * i / (n - 1);
        return FromArray(d, null, dtype, device);
    }

    /// <summary>start, start + step, ... below stop.</summary>
    public static NTensor Arange(double start, double stop, double step = 1, DType? dtype = null, Device? device = null)
    {
        if (step == 0) throw new ArgumentException("Arange step must not be zero.");
        int n = Math.Max(0, (int)Math.Ceiling((stop - start) / step));
        var d = new double[n];
        for (int i = 0; i < n; i++) d[i] = start + i * step;
        return FromArray(d, null, dtype, device);
    }

    /// <summary>Coordinate grids of 1-d tensors with "ij" indexing (upstream's meshgrid).</summary>
    public static NTensor[] Meshgrid(params NTensor[] axes)
    {
        var shape = new int[axes.Length];
        for (int i = 0; i < axes.Length; i++)
        {
            if (axes[i].Rank != 1) throw new ArgumentException($"Meshgrid takes 1-d tensors; argument {i} has shape {Shapes.Format(axes[i]._shape)}.");
            shape[i] = axes[i].Size;
        }
        var result = new NTensor[axes.Length];
        for (int i = 0; i < axes.Length; i++)
        {
            var view = Enumerable.Repeat(1, axes.Length).ToArray();
            view[i] = shape[i];
            result[i] = axes[i].Reshape(view).Expand(shape);
        }
        return result;
    }

    // ---------------------------------------------------------------- host access

    /// <summary>All values, row-major, as doubles on the host.</summary>
    public double[] ToArray()
    {
        var d = new double[Size];
        Device.Backend.ToHost(Storage, d);
        return d;
    }

    /// <summary>The single value of a one-element tensor.</summary>
    public double Item()
    {
        if (Size != 1) throw new InvalidOperationException($"Item() needs a one-element tensor; this one has shape {Shapes.Format(_shape)}.");
        if (Storage is CpuStorage c) return c.F64 != null ? c.F64[0] : c.F32![0];
        return ToArray()[0];
    }

    /// <summary>The value of a one-element tensor (<see cref="Item"/>).</summary>
    public static explicit operator double(NTensor t) => t.Item();

    /// <summary>Copies the tensor to another device (or returns it when already there).</summary>
    public NTensor To(Device device)
    {
        if (device == Device) return this;
        var y = new NTensor(device.Backend.FromHost(ToArray(), DType), _shape);
        return Tape.IsRecording(this) ? Tape.Record(y, new[] { this }, g => new NTensor?[] { g.To(Device) }) : y;
    }

    /// <summary>The values in another precision.</summary>
    public NTensor Cast(DType dtype)
    {
        if (dtype == DType) return this;
        var y = new NTensor(Device.Backend.Cast(Storage, dtype), _shape);
        var from = DType;
        return Tape.IsRecording(this) ? Tape.Record(y, new[] { this }, g => new NTensor?[] { g.Cast(from) }) : y;
    }

    /// <summary>
    /// Replaces the values of this tensor by those of <paramref name="source"/> (same shape and dtype). Only for leaves
    /// while no tape records, as upstream's <c>state.m.tensor = ...</c> in an optimization loop.
    /// </summary>
    public void Assign(NTensor source)
    {
        if (Tape.Current != null || Node != null)
            throw new InvalidOperationException("Assign is an in-place update: not allowed while a tape records or on a tensor that is part of a recording.");
        if (!Shapes.Equal(source._shape, _shape))
            throw new ArgumentException($"Assign: source shape {Shapes.Format(source._shape)} differs from target shape {Shapes.Format(_shape)}.");
        Storage = source.Cast(DType).To(Device).Storage;
    }

    /// <summary>Shape, dtype, device and the first values, e.g. "NTensor(2, 3) float64 [1, 2, ...]".</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("NTensor").Append(Shapes.Format(_shape)).Append(' ').Append(DType.Name());
        if (!Device.IsCpu) sb.Append(" on ").Append(Device.Name);
        var v = ToArray();
        sb.Append(" [");
        for (int i = 0; i < Math.Min(v.Length, 8); i++) sb.Append(i > 0 ? ", " : "").Append(v[i].ToString("G6", CultureInfo.InvariantCulture));
        if (v.Length > 8) sb.Append(", ...");
        return sb.Append(']').ToString();
    }

    // ---------------------------------------------------------------- checks

    internal static void CheckCompatible(NTensor a, NTensor b, string op)
    {
        if (a.DType != b.DType)
            throw new ArgumentException($"{op}: dtype mismatch, left is {a.DType.Name()} and right is {b.DType.Name()}. Convert one with .Cast(DType.{a.DType}).");
        if (a.Device != b.Device)
            throw new ArgumentException($"{op}: device mismatch, left is on '{a.Device}' and right on '{b.Device}'. Move one with .To(device).");
    }
}
