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

    // ---------------------------------------------------------------- linear combinations

    /// <summary>
    /// Σ_j c_j t_j over equally shaped tensors, one fused pass (one result, no intermediates): the Runge–Kutta stage
    /// and update sums y + h Σ a_j k_j. Evaluated left to right with each product rounded before it is added, i.e. the
    /// same arithmetic as <c>t_0 * c_0 + t_1 * c_1 + …</c> (a coefficient of 1 multiplies exactly, so
    /// <c>LinearCombination([y, k], [1, c])</c> equals <c>y + k * c</c> bit for bit). Terms whose coefficient is 0
    /// are left out. Differentiable: the VJP of t_j is c_j g.
    /// </summary>
    /// <param name="terms">The tensors t_j, at least one, all of one shape, dtype and device.</param>
    /// <param name="coefficients">The finite scalars c_j, one per term.</param>
    public static NTensor LinearCombination(IReadOnlyList<NTensor> terms, IReadOnlyList<double> coefficients)
    {
        ArgumentNullException.ThrowIfNull(terms);
        ArgumentNullException.ThrowIfNull(coefficients);
        if (terms.Count == 0) throw new ArgumentException("LinearCombination needs at least one term.", nameof(terms));
        if (coefficients.Count != terms.Count)
            throw new ArgumentException($"LinearCombination: {coefficients.Count} coefficients for {terms.Count} terms; give one per term.", nameof(coefficients));
        var first = terms[0] ?? throw new ArgumentNullException(nameof(terms), "LinearCombination: term 0 is null.");
        var used = new List<int>(terms.Count);
        for (int j = 0; j < terms.Count; j++)
        {
            var t = terms[j] ?? throw new ArgumentNullException(nameof(terms), $"LinearCombination: term {j} is null.");
            double c = coefficients[j];
            if (!double.IsFinite(c)) throw new ArgumentOutOfRangeException(nameof(coefficients), c, $"LinearCombination: coefficient {j} must be finite.");
            CheckCompatible(first, t, "LinearCombination");
            if (!Shapes.Equal(first._shape, t._shape))
                throw new ArgumentException($"LinearCombination: term {j} has shape {Shapes.Format(t._shape)}, term 0 {Shapes.Format(first._shape)}; all terms must have one shape (no broadcasting).", nameof(terms));
            if (c != 0) used.Add(j);
        }
        if (used.Count == 0) return ZerosLike(first);
        var inputs = new NTensor[used.Count];
        var storages = new Storage[used.Count];
        var cs = new double[used.Count];
        for (int i = 0; i < used.Count; i++)
        {
            inputs[i] = terms[used[i]];
            storages[i] = inputs[i].Storage;
            cs[i] = coefficients[used[i]];
        }
        var y = new NTensor(first.Device.Backend.LinearCombination(storages, cs), first._shape);
        if (!Tape.IsRecording(inputs)) return y;
        return Tape.Record(y, inputs, g =>
        {
            var grads = new NTensor?[cs.Length];
            for (int i = 0; i < cs.Length; i++) grads[i] = cs[i] == 1 ? g : g * cs[i];
            return grads;
        });
    }

    /// <summary>
    /// Σ_j c_bj t_j with coefficients per member of a batch (<see cref="Batch"/>): the terms have shape [B, ...] and
    /// member b of the result is <see cref="LinearCombination(IReadOnlyList{NTensor}, IReadOnlyList{double})"/> of the
    /// members b with the coefficients c_b·, bit for bit (the Runge–Kutta sums of a batch whose members take their own
    /// step sizes). Differentiable: the VJP of t_j is c_bj g in member b.
    /// </summary>
    /// <param name="terms">The tensors t_j, at least one, all of one shape [B, ...], dtype and device.</param>
    /// <param name="coefficients">coefficients[b][j], finite, one row per member and one entry per term.</param>
    public static NTensor LinearCombination(IReadOnlyList<NTensor> terms, IReadOnlyList<IReadOnlyList<double>> coefficients)
    {
        ArgumentNullException.ThrowIfNull(terms);
        ArgumentNullException.ThrowIfNull(coefficients);
        if (terms.Count == 0) throw new ArgumentException("LinearCombination needs at least one term.", nameof(terms));
        var first = terms[0] ?? throw new ArgumentNullException(nameof(terms), "LinearCombination: term 0 is null.");
        if (first.Rank == 0 || first._shape[0] != coefficients.Count)
            throw new ArgumentException($"LinearCombination: {coefficients.Count} rows of member coefficients for terms of shape {Shapes.Format(first._shape)}; give one row per member (leading axis).", nameof(coefficients));
        int members = coefficients.Count;
        var cs = new double[members * terms.Count];
        for (int b = 0; b < members; b++)
        {
            var row = coefficients[b] ?? throw new ArgumentNullException(nameof(coefficients), $"LinearCombination: the coefficients of member {b} are null.");
            if (row.Count != terms.Count)
                throw new ArgumentException($"LinearCombination: member {b} has {row.Count} coefficients for {terms.Count} terms; give one per term.", nameof(coefficients));
            for (int j = 0; j < terms.Count; j++)
            {
                if (!double.IsFinite(row[j])) throw new ArgumentOutOfRangeException(nameof(coefficients), row[j], $"LinearCombination: coefficient {j} of member {b} must be finite.");
                cs[b * terms.Count + j] = row[j];
            }
        }
        var used = new List<int>(terms.Count);
        for (int j = 0; j < terms.Count; j++)
        {
            var t = terms[j] ?? throw new ArgumentNullException(nameof(terms), $"LinearCombination: term {j} is null.");
            CheckCompatible(first, t, "LinearCombination");
            if (!Shapes.Equal(first._shape, t._shape))
                throw new ArgumentException($"LinearCombination: term {j} has shape {Shapes.Format(t._shape)}, term 0 {Shapes.Format(first._shape)}; all terms must have one shape (no broadcasting).", nameof(terms));
            bool any = false;
            for (int b = 0; b < members; b++) any |= cs[b * terms.Count + j] != 0;
            if (any) used.Add(j); // a term whose coefficient is 0 in every member is left out, as in the one-member form
        }
        if (used.Count == 0) return ZerosLike(first);
        var inputs = new NTensor[used.Count];
        var storages = new Storage[used.Count];
        var usedCs = new double[members * used.Count];
        for (int i = 0; i < used.Count; i++)
        {
            inputs[i] = terms[used[i]];
            storages[i] = inputs[i].Storage;
            for (int b = 0; b < members; b++) usedCs[b * used.Count + i] = cs[b * terms.Count + used[i]];
        }
        cs = usedCs;
        var y = new NTensor(first.Device.Backend.LinearCombination(storages, cs, members), first._shape);
        if (!Tape.IsRecording(inputs)) return y;
        var scalarShape = Batch.MemberScalarShape(members, first.Rank - 1);
        return Tape.Record(y, inputs, g =>
        {
            var grads = new NTensor?[inputs.Length];
            for (int j = 0; j < inputs.Length; j++)
            {
                var column = new double[members];
                for (int b = 0; b < members; b++) column[b] = cs[b * inputs.Length + j];
                grads[j] = g * FromArray(column, scalarShape, g.DType, g.Device);
            }
            return grads;
        });
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

    /// <summary>
    /// p ⊙ (a × b) − q ⊙ (a × (a × b)) over a last axis of length 3, in one fused pass (the precession and damping
    /// torque of the Landau–Lifshitz equation is this with a = m, b = h, p = −γ', q = α γ'). The cross products are
    /// rounded as by <see cref="Cross"/>, so the result equals <c>p * Cross(a, b) - q * Cross(a, Cross(a, b))</c>
    /// bit for bit. b broadcasts to a's shape; p and q are scalars, one value per vector (shape (..., 1)) or
    /// anything else broadcastable to a's shape. Differentiable in all four.
    /// </summary>
    public static NTensor CrossPair(NTensor a, NTensor b, NTensor p, NTensor q)
    {
        CheckCompatible(a, b, "CrossPair");
        CheckCompatible(a, p, "CrossPair");
        CheckCompatible(a, q, "CrossPair");
        if (a.Rank == 0 || a._shape[^1] != 3)
            throw new ArgumentException($"CrossPair needs a last axis of length 3; a has shape {Shapes.Format(a._shape)}.", nameof(a));
        if (!Shapes.Equal(a._shape, b._shape))
        {
            if (!Shapes.Equal(Shapes.Broadcast(a._shape, b._shape), a._shape))
                throw new ArgumentException($"CrossPair: b of shape {Shapes.Format(b._shape)} does not broadcast to a's shape {Shapes.Format(a._shape)}.", nameof(b));
            b = b.Expand(a._shape);
        }
        int count = a.Size / 3;
        var pc = CoefficientLayout(p, a, "p");
        var qc = CoefficientLayout(q, a, "q");
        var y = new NTensor(a.Device.Backend.CrossPair(a.Storage, b.Storage, pc.Storage, qc.Storage, count), a._shape);
        var inputs = new[] { a, b, pc, qc };
        if (!Tape.IsRecording(inputs)) return y;
        return Tape.Record(y, inputs, g =>
        {
            // g·(a × v) = v·(g × a) and g·(a × (a × v)) = v·((g × a) × a).
            var axb = Cross(a, b);
            var gp = g * pc;
            var gq = g * qc;
            var gqxa = Cross(gq, a);
            var ga = Cross(b, gp) - Cross(axb, gq) - Cross(b, gqxa);
            var gb = Cross(gp, a) - Cross(gqxa, a);
            return new NTensor?[] { ga, gb, g * axb, -(g * Cross(a, axb)) };
        });
    }

    /// <summary>A coefficient of <see cref="CrossPair"/> as the backend takes it: one value, one per vector or one per component.</summary>
    private static NTensor CoefficientLayout(NTensor c, NTensor a, string name)
    {
        if (c.Size == 1) return c.Rank == 0 ? c : c.Reshape();
        var perVector = a._shape[..^1].Append(1).ToArray();
        if (Shapes.Equal(c._shape, perVector) || Shapes.Equal(c._shape, a._shape)) return c;
        if (!Shapes.Equal(Shapes.Broadcast(c._shape, a._shape), a._shape))
            throw new ArgumentException($"CrossPair: {name} of shape {Shapes.Format(c._shape)} does not broadcast to a's shape {Shapes.Format(a._shape)}.", name);
        return c.Expand(a._shape);
    }

    /// <summary>Euclidean norm over the last axis (|m| per node for a vector field).</summary>
    public NTensor Norm(int axis) => Square().Sum(axis).Sqrt();

    /// <summary>Euclidean norm of all values.</summary>
    public NTensor Norm() => Square().Sum().Sqrt();
}
