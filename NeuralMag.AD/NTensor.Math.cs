namespace NeuralMag.AD;

// Elementwise arithmetic and its vector-Jacobian products. Each operation computes its value through the device
// backend and, only when the active tape watches an input, records a VJP written with other tensor operations.
public sealed partial class NTensor
{
    private static NTensor Record1(NTensor y, NTensor x, Func<NTensor, NTensor?> vjp) =>
        Tape.IsRecording(x) ? Tape.Record(y, new[] { x }, g => new[] { vjp(g) }) : y;

    private static NTensor Record2(NTensor y, NTensor a, NTensor b, Func<NTensor, NTensor?[]> vjp) =>
        Tape.IsRecording(a, b) ? Tape.Record(y, new[] { a, b }, vjp) : y;

    private NTensor UnaryRaw(UnaryOp op, double s = 0) => new(Device.Backend.Unary(op, Storage, s), _shape);

    private static NTensor BinaryRaw(BinaryOp op, NTensor a, NTensor b, string name)
    {
        CheckCompatible(a, b, name);
        var shape = Shapes.Broadcast(a._shape, b._shape);
        var plan = new BroadcastPlan(shape, new[] { Shapes.BroadcastStrides(a._shape, shape), Shapes.BroadcastStrides(b._shape, shape) });
        return new NTensor(a.Device.Backend.Binary(op, a.Storage, b.Storage, plan), shape);
    }

    // ---------------------------------------------------------------- tensor (op) tensor

    /// <summary>Elementwise a + b with broadcasting (NumPy rules); differentiable.</summary>
    public static NTensor operator +(NTensor a, NTensor b) => Record2(BinaryRaw(BinaryOp.Add, a, b, "Add"), a, b, g => new[] { g, g });
    /// <summary>Elementwise a − b with broadcasting (NumPy rules); differentiable.</summary>
    public static NTensor operator -(NTensor a, NTensor b) => Record2(BinaryRaw(BinaryOp.Sub, a, b, "Subtract"), a, b, g => new[] { g, -g });
    /// <summary>Elementwise a · b with broadcasting (NumPy rules); differentiable.</summary>
    public static NTensor operator *(NTensor a, NTensor b) => Record2(BinaryRaw(BinaryOp.Mul, a, b, "Multiply"), a, b, g => new[] { g * b, g * a });

    /// <summary>Elementwise a / b with broadcasting (NumPy rules); differentiable.</summary>
    public static NTensor operator /(NTensor a, NTensor b)
    {
        var y = BinaryRaw(BinaryOp.Div, a, b, "Divide");
        return Record2(y, a, b, g => new[] { g / b, -g * y / b });
    }

    /// <summary>a^b elementwise.</summary>
    public static NTensor Pow(NTensor a, NTensor b)
    {
        var y = BinaryRaw(BinaryOp.Pow, a, b, "Pow");
        bool exponentTracked = Tape.IsRecording(b);
        return Record2(y, a, b, g => new[] { g * b * Pow(a, b - 1.0), exponentTracked ? g * y * a.Log() : null });
    }

    /// <summary>Elementwise maximum; the gradient goes to a where a &gt;= b.</summary>
    public static NTensor Maximum(NTensor a, NTensor b)
    {
        var y = BinaryRaw(BinaryOp.Max, a, b, "Maximum");
        return Record2(y, a, b, g =>
        {
            var m = BinaryRaw(BinaryOp.Ge, a, b, "Maximum");
            return new[] { g * m, g * (1.0 - m) };
        });
    }

    /// <summary>Elementwise minimum; the gradient goes to a where a &lt;= b.</summary>
    public static NTensor Minimum(NTensor a, NTensor b)
    {
        var y = BinaryRaw(BinaryOp.Min, a, b, "Minimum");
        return Record2(y, a, b, g =>
        {
            var m = BinaryRaw(BinaryOp.Le, a, b, "Minimum");
            return new[] { g * m, g * (1.0 - m) };
        });
    }

    // Comparisons: 1 where true, 0 where false; not differentiable (no gradient flows through them).
    /// <summary>1 where this &gt; b, else 0 (broadcasting; no gradient).</summary>
    public NTensor Gt(NTensor b) => BinaryRaw(BinaryOp.Gt, this, b, "Gt");
    /// <summary>1 where this &gt;= b, else 0 (broadcasting; no gradient).</summary>
    public NTensor Ge(NTensor b) => BinaryRaw(BinaryOp.Ge, this, b, "Ge");
    /// <summary>1 where this &lt; b, else 0 (broadcasting; no gradient).</summary>
    public NTensor Lt(NTensor b) => BinaryRaw(BinaryOp.Lt, this, b, "Lt");
    /// <summary>1 where this &lt;= b, else 0 (broadcasting; no gradient).</summary>
    public NTensor Le(NTensor b) => BinaryRaw(BinaryOp.Le, this, b, "Le");
    /// <summary>1 where this == b, else 0 (broadcasting; no gradient).</summary>
    public NTensor Eq(NTensor b) => BinaryRaw(BinaryOp.Eq, this, b, "Eq");
    /// <summary>1 where this &gt; s, else 0 (no gradient).</summary>
    public NTensor Gt(double s) => UnaryRaw(UnaryOp.GtScalar, s);
    /// <summary>1 where this &lt; s, else 0 (no gradient).</summary>
    public NTensor Lt(double s) => UnaryRaw(UnaryOp.LtScalar, s);

    /// <summary>cond != 0 ? a : b elementwise, with broadcasting (upstream's <c>where</c>).</summary>
    public static NTensor Where(NTensor cond, NTensor a, NTensor b)
    {
        CheckCompatible(a, b, "Where");
        if (cond.Device != a.Device) throw new ArgumentException($"Where: the condition is on '{cond.Device}', the values on '{a.Device}'.");
        var shape = Shapes.Broadcast(Shapes.Broadcast(cond._shape, a._shape), b._shape);
        var plan = new BroadcastPlan(shape, new[]
        {
            Shapes.BroadcastStrides(cond._shape, shape), Shapes.BroadcastStrides(a._shape, shape), Shapes.BroadcastStrides(b._shape, shape),
        });
        var y = new NTensor(a.Device.Backend.Where(cond.Storage, a.Storage, b.Storage, plan), shape);
        return Record2(y, a, b, g =>
        {
            var zero = ZerosLike(g);
            return new[] { Where(cond, g, zero), Where(cond, zero, g) };
        });
    }

    /// <summary>cond != 0 ? a : b with a constant b.</summary>
    public static NTensor Where(NTensor cond, NTensor a, double b) => Where(cond, a, Scalar(b, a.DType, a.Device));
    /// <summary>cond != 0 ? a : b with a constant a.</summary>
    public static NTensor Where(NTensor cond, double a, NTensor b) => Where(cond, Scalar(a, b.DType, b.Device), b);

    // ---------------------------------------------------------------- tensor (op) scalar

    /// <summary>a + s elementwise.</summary>
    public static NTensor operator +(NTensor a, double s) => Record1(a.UnaryRaw(UnaryOp.AddScalar, s), a, g => g);
    /// <summary>s + a elementwise.</summary>
    public static NTensor operator +(double s, NTensor a) => a + s;
    /// <summary>a − s elementwise.</summary>
    public static NTensor operator -(NTensor a, double s) => a + -s;
    /// <summary>s − a elementwise.</summary>
    public static NTensor operator -(double s, NTensor a) => Record1(a.UnaryRaw(UnaryOp.RSubScalar, s), a, g => -g);
    /// <summary>a · s elementwise.</summary>
    public static NTensor operator *(NTensor a, double s) => Record1(a.UnaryRaw(UnaryOp.MulScalar, s), a, g => g * s);
    /// <summary>s · a elementwise.</summary>
    public static NTensor operator *(double s, NTensor a) => a * s;
    /// <summary>a / s elementwise (multiplies by 1/s).</summary>
    public static NTensor operator /(NTensor a, double s) => a * (1.0 / s);

    /// <summary>s / a elementwise.</summary>
    public static NTensor operator /(double s, NTensor a)
    {
        var y = a.UnaryRaw(UnaryOp.RDivScalar, s);
        return Record1(y, a, g => -g * y / a);
    }

    /// <summary>−a elementwise.</summary>
    public static NTensor operator -(NTensor a) => Record1(a.UnaryRaw(UnaryOp.Neg), a, g => -g);

    /// <summary>x^p for a constant exponent.</summary>
    public NTensor Pow(double p)
    {
        var x = this;
        return Record1(UnaryRaw(UnaryOp.PowScalar, p), x, g => p == 2 ? g * x * 2.0 : g * x.Pow(p - 1) * p);
    }

    /// <summary>a^p for a constant exponent (same as <c>a.Pow(p)</c>).</summary>
    public static NTensor Pow(NTensor a, double p) => a.Pow(p);

    /// <summary>x² elementwise.</summary>
    public NTensor Square()
    {
        var x = this;
        return Record1(UnaryRaw(UnaryOp.Square), x, g => g * x * 2.0);
    }

    /// <summary>√x elementwise (NaN for x &lt; 0).</summary>
    public NTensor Sqrt()
    {
        var y = UnaryRaw(UnaryOp.Sqrt);
        return Record1(y, this, g => g * 0.5 / y);
    }

    /// <summary>e^x elementwise.</summary>
    public NTensor Exp()
    {
        var y = UnaryRaw(UnaryOp.Exp);
        return Record1(y, this, g => g * y);
    }

    /// <summary>Natural logarithm elementwise (−∞ at 0, NaN for x &lt; 0).</summary>
    public NTensor Log()
    {
        var x = this;
        return Record1(UnaryRaw(UnaryOp.Log), x, g => g / x);
    }

    /// <summary>sin x elementwise (x in radians).</summary>
    public NTensor Sin()
    {
        var x = this;
        return Record1(UnaryRaw(UnaryOp.Sin), x, g => g * x.Cos());
    }

    /// <summary>cos x elementwise (x in radians).</summary>
    public NTensor Cos()
    {
        var x = this;
        return Record1(UnaryRaw(UnaryOp.Cos), x, g => -g * x.Sin());
    }

    /// <summary>tan x elementwise (x in radians).</summary>
    public NTensor Tan()
    {
        var y = UnaryRaw(UnaryOp.Tan);
        return Record1(y, this, g => g * (y.Square() + 1.0));
    }

    /// <summary>tanh x elementwise.</summary>
    public NTensor Tanh()
    {
        var y = UnaryRaw(UnaryOp.Tanh);
        return Record1(y, this, g => g * (1.0 - y.Square()));
    }

    /// <summary>|x| elementwise; the gradient is sign(x) (0 at 0).</summary>
    public NTensor Abs()
    {
        var x = this;
        return Record1(UnaryRaw(UnaryOp.Abs), x, g => g * x.UnaryRaw(UnaryOp.Sign));
    }

    /// <summary>-1, 0 or 1; zero gradient.</summary>
    public NTensor Sign() => UnaryRaw(UnaryOp.Sign);

    /// <summary>1/x elementwise.</summary>
    public NTensor Reciprocal()
    {
        var y = UnaryRaw(UnaryOp.Reciprocal);
        return Record1(y, this, g => -g * y.Square());
    }

    /// <summary>Clamps every value into [min, max]; the gradient flows where min &lt;= x &lt;= max (as torch.clamp).</summary>
    public NTensor Clamp(double min, double max)
    {
        if (min > max) throw new ArgumentException($"Clamp: min {min} is larger than max {max}.");
        var x = this;
        var y = UnaryRaw(UnaryOp.MaxScalar, min).UnaryRaw(UnaryOp.MinScalar, max);
        return Record1(y, x, g => g * (1.0 - x.UnaryRaw(UnaryOp.LtScalar, min) - x.UnaryRaw(UnaryOp.GtScalar, max)));
    }

    /// <summary>Alias of <see cref="Clamp"/> (numpy's name).</summary>
    public NTensor Clip(double min, double max) => Clamp(min, max);

    /// <summary>max(x, s) elementwise; the gradient flows where x &gt;= s.</summary>
    public NTensor Maximum(double s)
    {
        var x = this;
        return Record1(UnaryRaw(UnaryOp.MaxScalar, s), x, g => g * (1.0 - x.UnaryRaw(UnaryOp.LtScalar, s)));
    }

    /// <summary>min(x, s) elementwise; the gradient flows where x &lt;= s.</summary>
    public NTensor Minimum(double s)
    {
        var x = this;
        return Record1(UnaryRaw(UnaryOp.MinScalar, s), x, g => g * (1.0 - x.UnaryRaw(UnaryOp.GtScalar, s)));
    }

    // ---------------------------------------------------------------- vector algebra over the last axis

    /// <summary>Dot product over the last axis (a·b for fields of shape (..., 3)), with broadcasting.</summary>
    public static NTensor Dot(NTensor a, NTensor b)
    {
        CheckCompatible(a, b, "Dot");
        if (a.Rank == 0 || b.Rank == 0 || a._shape[^1] != b._shape[^1])
            throw new ArgumentException($"Dot: last axes differ, shapes {Shapes.Format(a._shape)} and {Shapes.Format(b._shape)}.");
        if (!Shapes.Equal(a._shape, b._shape)) return (a * b).Sum(-1);
        int inner = a._shape[^1];
        var y = new NTensor(a.Device.Backend.DotLast(a.Storage, b.Storage, a.Size / Math.Max(inner, 1), inner), a._shape[..^1]);
        return Record2(y, a, b, g =>
        {
            var ge = g.Unsqueeze(-1);
            return new[] { ge * b, ge * a };
        });
    }

    /// <summary>Cross product over a last axis of length 3, with broadcasting.</summary>
    public static NTensor Cross(NTensor a, NTensor b)
    {
        CheckCompatible(a, b, "Cross");
        if (a.Rank == 0 || b.Rank == 0 || a._shape[^1] != 3 || b._shape[^1] != 3)
            throw new ArgumentException($"Cross needs a last axis of length 3; shapes are {Shapes.Format(a._shape)} and {Shapes.Format(b._shape)}.");
        if (!Shapes.Equal(a._shape, b._shape))
        {
            var shape = Shapes.Broadcast(a._shape, b._shape);
            return Cross(a.Expand(shape), b.Expand(shape));
        }
        var y = new NTensor(a.Device.Backend.CrossLast(a.Storage, b.Storage, a.Size / 3), a._shape);
        return Record2(y, a, b, g => new[] { Cross(b, g), Cross(g, a) });
    }

    /// <summary>Euclidean norm over the last axis (|m| per node for a vector field).</summary>
    public NTensor Norm(int axis) => Square().Sum(axis).Sqrt();

    /// <summary>Euclidean norm of all values.</summary>
    public NTensor Norm() => Square().Sum().Sqrt();
}
