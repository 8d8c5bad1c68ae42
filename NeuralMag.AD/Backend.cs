namespace NeuralMag.AD;

/// <summary>Memory of one tensor on one device. Contiguous, row-major; shape is kept by <see cref="NTensor"/>.</summary>
public abstract class Storage : IDisposable
{
    /// <summary>Element type of the memory.</summary>
    public abstract DType DType { get; }
    /// <summary>Number of elements.</summary>
    public abstract int Length { get; }
    /// <summary>The device owning the memory.</summary>
    public abstract Device Device { get; }
    /// <summary>Releases device memory (host memory is left to the garbage collector).</summary>
    public virtual void Dispose() { }
}

/// <summary>Host memory: exactly one of <see cref="F64"/> and <see cref="F32"/> is set.</summary>
public sealed class CpuStorage : Storage
{
    /// <summary>Wraps a float64 array (not copied).</summary>
    public CpuStorage(double[] data) => F64 = data;
    /// <summary>Wraps a float32 array (not copied).</summary>
    public CpuStorage(float[] data) => F32 = data;

    /// <summary>The values when the storage is float64, else null.</summary>
    public double[]? F64 { get; }
    /// <summary>The values when the storage is float32, else null.</summary>
    public float[]? F32 { get; }

    /// <inheritdoc/>
    public override DType DType => F64 != null ? DType.Float64 : DType.Float32;
    /// <inheritdoc/>
    public override int Length => F64?.Length ?? F32!.Length;
    /// <inheritdoc/>
    public override Device Device => Device.Cpu;
}

/// <summary>Elementwise primitive operations of one operand x and an optional scalar s.</summary>
public enum UnaryOp
{
    /// <summary>-x.</summary>
    Neg,
    /// <summary>|x|.</summary>
    Abs,
    /// <summary>√x.</summary>
    Sqrt,
    /// <summary>e^x.</summary>
    Exp,
    /// <summary>ln x.</summary>
    Log,
    /// <summary>sin x.</summary>
    Sin,
    /// <summary>cos x.</summary>
    Cos,
    /// <summary>tan x.</summary>
    Tan,
    /// <summary>tanh x.</summary>
    Tanh,
    /// <summary>-1, 0 or 1.</summary>
    Sign,
    /// <summary>x².</summary>
    Square,
    /// <summary>1/x.</summary>
    Reciprocal,
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

/// <summary>Elementwise primitive operations of two operands a and b; comparisons give 1 or 0.</summary>
public enum BinaryOp
{
    /// <summary>a + b.</summary>
    Add,
    /// <summary>a − b.</summary>
    Sub,
    /// <summary>a · b.</summary>
    Mul,
    /// <summary>a / b.</summary>
    Div,
    /// <summary>a^b.</summary>
    Pow,
    /// <summary>max(a, b) (a &gt; b ? a : b).</summary>
    Max,
    /// <summary>min(a, b) (a &lt; b ? a : b).</summary>
    Min,
    /// <summary>1 where a &gt; b.</summary>
    Gt,
    /// <summary>1 where a &gt;= b.</summary>
    Ge,
    /// <summary>1 where a &lt; b.</summary>
    Lt,
    /// <summary>1 where a &lt;= b.</summary>
    Le,
    /// <summary>1 where a == b.</summary>
    Eq,
}

/// <summary>Reductions along one axis.</summary>
public enum ReduceOp
{
    /// <summary>Sum of the values.</summary>
    Sum,
    /// <summary>Largest value.</summary>
    Max,
    /// <summary>Smallest value.</summary>
    Min,
}

/// <summary>
/// How two (or three) operands map onto an output of shape <see cref="OutShape"/>: per operand, the element stride
/// along each output axis (0 where the operand is broadcast).
/// </summary>
public sealed class BroadcastPlan
{
    /// <summary>A plan for an output of <paramref name="outShape"/>.</summary>
    /// <param name="outShape">Shape of the result.</param>
    /// <param name="strides">Per operand, one element stride per output axis (0 along broadcast axes).</param>
    public BroadcastPlan(int[] outShape, int[][] strides)
    {
        OutShape = outShape;
        Strides = strides;
        Length = Shapes.Product(outShape);
    }

    /// <summary>Shape of the result.</summary>
    public int[] OutShape { get; }
    /// <summary>Per operand, the element stride along each output axis (0 where broadcast).</summary>
    public int[][] Strides { get; }
    /// <summary>Number of output elements.</summary>
    public int Length { get; }
}

/// <summary>
/// The primitive operations a device provides. Every <see cref="NTensor"/> operation reduces to these; their
/// vector-Jacobian products are written once, in <see cref="NTensor"/>, in terms of other tensor operations.
/// All methods return new storage and never modify their inputs.
/// </summary>
public interface IBackend
{
    /// <summary>New storage of <paramref name="length"/> elements, all <paramref name="value"/>.</summary>
    Storage Full(DType dtype, int length, double value);
    /// <summary>New storage holding a copy of host data, converted to <paramref name="dtype"/>.</summary>
    Storage FromHost(ReadOnlySpan<double> data, DType dtype);
    /// <summary>New storage holding a copy of host data, converted to <paramref name="dtype"/>.</summary>
    Storage FromHost(ReadOnlySpan<float> data, DType dtype);
    /// <summary>Copies all elements of <paramref name="source"/> to the host as doubles.</summary>
    void ToHost(Storage source, Span<double> destination);
    /// <summary>A copy of <paramref name="x"/> converted to <paramref name="dtype"/>.</summary>
    Storage Cast(Storage x, DType dtype);

    /// <summary>op(x, scalar) elementwise (the scalar is ignored by operations without one).</summary>
    Storage Unary(UnaryOp op, Storage x, double scalar);
    /// <summary>op(a, b) elementwise, operands mapped onto the output by <paramref name="plan"/>.</summary>
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

    /// <summary>The storages one after another in one new storage (all of one dtype): the leading-axis join.</summary>
    Storage Concat(Storage[] parts);

    /// <summary>Σ_j c_j x_j over equally long storages, left to right, each product rounded before it is added.</summary>
    Storage LinearCombination(Storage[] terms, double[] coefficients);

    /// <summary>
    /// <see cref="LinearCombination(Storage[], double[])"/> with coefficients per member: the storages are
    /// <paramref name="members"/> equal contiguous blocks, and block b is Σ_j c[b·n + j] x_j (n = terms.Length), with
    /// the arithmetic of the single-member call on that block.
    /// </summary>
    Storage LinearCombination(Storage[] terms, double[] coefficients, int members);

    /// <summary>
    /// p (a × b) − q (a × (a × b)) per 3-vector of equally shaped a and b (<paramref name="count"/> vectors), the
    /// cross products rounded as in <see cref="CrossLast"/>; p and q each hold one value (length 1), one per vector
    /// (length count) or one per component (length 3·count).
    /// </summary>
    Storage CrossPair(Storage a, Storage b, Storage p, Storage q, int count);

    /// <summary>
    /// Per member (equal contiguous blocks b of the storages): Σ_i <see cref="StepError.Term"/>(e_i, y_i, y1_i, a_i,
    /// rtol) in float64, a_i = atol or <paramref name="atolVector"/>_i when given, each member summed in the fixed
    /// chunks of <see cref="StepError.Chunks"/> combined in order. Returns the members' sums on the host.
    /// </summary>
    double[] StepErrorSums(Storage error, Storage y, Storage y1, Storage? atolVector, double rtol, double atol, int members);
}
