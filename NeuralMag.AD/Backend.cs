namespace NeuralMag.AD;

/// <summary>Memory of one tensor on one device. Contiguous, row-major; shape is kept by <see cref="NTensor"/>.</summary>
public abstract class Storage : IDisposable
{
    public abstract DType DType { get; }
    public abstract int Length { get; }
    public abstract Device Device { get; }
    public virtual void Dispose() { }
}

/// <summary>Host memory: exactly one of <see cref="F64"/> and <see cref="F32"/> is set.</summary>
public sealed class CpuStorage : Storage
{
    public CpuStorage(double[] data) => F64 = data;
    public CpuStorage(float[] data) => F32 = data;

    public double[]? F64 { get; }
    public float[]? F32 { get; }

    public override DType DType => F64 != null ? DType.Float64 : DType.Float32;
    public override int Length => F64?.Length ?? F32!.Length;
    public override Device Device => Device.Cpu;
}

public enum UnaryOp
{
    Neg, Abs, Sqrt, Exp, Log, Sin, Cos, Tan, Tanh, Sign, Square, Reciprocal,
    /// <summary>x^s for the scalar s.</summary>
    PowScalar,
    /// <summary>x + s.</summary>
    AddScalar,
    /// <summary>x * s.</summary>
    MulScalar,
    /// <summary>s - x.</summary>
    RSubScalar,
    /// <summary>s / x.</summary>
    RDivScalar,
    /// <summary>max(x, s).</summary>
    MaxScalar,
    /// <summary>min(x, s).</summary>
    MinScalar,
    /// <summary>1 where x &gt; s else 0.</summary>
    GtScalar,
    /// <summary>1 where x &lt; s else 0.</summary>
    LtScalar,
}

public enum BinaryOp
{
    Add, Sub, Mul, Div, Pow, Max, Min,
    /// <summary>Comparisons give 1 or 0.</summary>
    Gt, Ge, Lt, Le, Eq,
}

public enum ReduceOp { Sum, Max, Min }

/// <summary>
/// How two (or three) operands map onto an output of shape <see cref="OutShape"/>: per operand, the element stride
/// along each output axis (0 where the operand is broadcast).
/// </summary>
public sealed class BroadcastPlan
{
    public BroadcastPlan(int[] outShape, int[][] strides)
    {
        OutShape = outShape;
        Strides = strides;
        Length = Shapes.Product(outShape);
    }

    public int[] OutShape { get; }
    public int[][] Strides { get; }
    public int Length { get; }
}

/// <summary>
/// The primitive operations a device provides. Every <see cref="NTensor"/> operation reduces to these; their
/// vector-Jacobian products are written once, in <see cref="NTensor"/>, in terms of other tensor operations.
/// All methods return new storage and never modify their inputs.
/// </summary>
public interface IBackend
{
    Storage Full(DType dtype, int length, double value);
    Storage FromHost(ReadOnlySpan<double> data, DType dtype);
    Storage FromHost(ReadOnlySpan<float> data, DType dtype);
    void ToHost(Storage source, Span<double> destination);
    Storage Cast(Storage x, DType dtype);

    Storage Unary(UnaryOp op, Storage x, double scalar);
    Storage Binary(BinaryOp op, Storage a, Storage b, BroadcastPlan plan);
    /// <summary>cond != 0 ? a : b, elementwise with broadcasting (plan has three stride sets).</summary>
    Storage Where(Storage cond, Storage a, Storage b, BroadcastPlan plan);

    /// <summary>Reduces the middle axis of x viewed as (outer, axis, inner).</summary>
    Storage Reduce(ReduceOp op, Storage x, int outer, int axis, int inner);

    /// <summary>Strided copy: out[i0..ik] = x[offset + sum_k i_k * strides[k]] over <paramref name="outShape"/>.</summary>
    Storage Gather(Storage x, int offset, int[] strides, int[] outShape);

    /// <summary>Inverse of <see cref="Gather"/>: a zero storage of <paramref name="targetLength"/> elements with src added at the strided positions.</summary>
    Storage ScatterAdd(Storage src, int[] srcShape, int targetLength, int offset, int[] strides);

    /// <summary>Dot product over the last axis (length <paramref name="inner"/>) of equally shaped operands.</summary>
    Storage DotLast(Storage a, Storage b, int outer, int inner);

    /// <summary>Cross product over a last axis of length 3, equally shaped operands with <paramref name="count"/> vectors.</summary>
    Storage CrossLast(Storage a, Storage b, int count);
}
