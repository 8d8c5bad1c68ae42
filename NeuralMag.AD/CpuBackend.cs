using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NeuralMag.AD;

/// <summary>
/// The host device's primitives: plain C# loops over arrays, parallel over fixed chunks for large tensors (fixed
/// chunking keeps reductions bit-reproducible run to run). The per-element arithmetic lives in <see cref="ElementOps"/>.
/// </summary>
public sealed class CpuBackend : IBackend
{
    /// <summary>Below this many elements a loop runs on the calling thread.</summary>
    public const int ParallelThreshold = ParallelLoop.DefaultGrain;

    private static void For(int n, Action<int, int> body, int grain = ParallelThreshold) => ParallelLoop.For(n, body, grain);

    private static CpuStorage Cpu(Storage s) => s as CpuStorage
        ?? throw new InvalidOperationException($"The CPU backend was given a tensor on device '{s.Device}'. Move it to the CPU first (NTensor.To(Device.Cpu)).");

    /// <inheritdoc/>
    public Storage Full(DType dtype, int length, double value)
    {
        if (dtype == DType.Float64)
        {
            var a = GC.AllocateUninitializedArray<double>(length);
            a.AsSpan().Fill(value);
            return new CpuStorage(a);
        }
        var f = GC.AllocateUninitializedArray<float>(length);
        f.AsSpan().Fill((float)value);
        return new CpuStorage(f);
    }

    /// <inheritdoc/>
    public Storage FromHost(ReadOnlySpan<double> data, DType dtype)
    {
        if (dtype == DType.Float64) return new CpuStorage(data.ToArray());
        var f = new float[data.Length];
        for (int i = 0; i < f.Length; i++) f[i] = (float)data[i];
        return new CpuStorage(f);
    }

    /// <inheritdoc/>
    public Storage FromHost(ReadOnlySpan<float> data, DType dtype)
    {
        if (dtype == DType.Float32) return new CpuStorage(data.ToArray());
        var d = new double[data.Length];
        for (int i = 0; i < d.Length; i++) d[i] = data[i];
        return new CpuStorage(d);
    }

    /// <inheritdoc/>
    public void ToHost(Storage source, Span<double> destination)
    {
        var s = Cpu(source);
        if (s.F64 != null) s.F64.AsSpan().CopyTo(destination);
        else for (int i = 0; i < s.F32!.Length; i++) destination[i] = s.F32[i];
    }

    /// <inheritdoc/>
    public Storage Cast(Storage x, DType dtype)
    {
        var s = Cpu(x);
        if (s.DType == dtype) return s;
        return s.F64 != null ? FromHost(s.F64, dtype) : FromHost(s.F32!, dtype);
    }

    // ---------------------------------------------------------------- elementwise

    /// <inheritdoc/>
    public Storage Unary(UnaryOp op, Storage x, double scalar) => op switch
    {
        UnaryOp.Neg => UnaryVec<ElementOps.Neg>(x, scalar),
        UnaryOp.Abs => UnaryVec<ElementOps.Abs>(x, scalar),
        UnaryOp.Sqrt => UnaryVec<ElementOps.Sqrt>(x, scalar),
        UnaryOp.Exp => Unary<ElementOps.Exp>(x, scalar),
        UnaryOp.Log => Unary<ElementOps.Log>(x, scalar),
        UnaryOp.Sin => Unary<ElementOps.Sin>(x, scalar),
        UnaryOp.Cos => Unary<ElementOps.Cos>(x, scalar),
        UnaryOp.Tan => Unary<ElementOps.Tan>(x, scalar),
        UnaryOp.Tanh => Unary<ElementOps.Tanh>(x, scalar),
        UnaryOp.Sign => Unary<ElementOps.Sign>(x, scalar),
        UnaryOp.Square => UnaryVec<ElementOps.Square>(x, scalar),
        UnaryOp.Reciprocal => UnaryVec<ElementOps.Reciprocal>(x, scalar),
        UnaryOp.PowScalar => Unary<ElementOps.PowScalar>(x, scalar),
        UnaryOp.AddScalar => UnaryVec<ElementOps.AddScalar>(x, scalar),
        UnaryOp.MulScalar => UnaryVec<ElementOps.MulScalar>(x, scalar),
        UnaryOp.RSubScalar => UnaryVec<ElementOps.RSubScalar>(x, scalar),
        UnaryOp.RDivScalar => UnaryVec<ElementOps.RDivScalar>(x, scalar),
        UnaryOp.MaxScalar => UnaryVec<ElementOps.MaxScalar>(x, scalar),
        UnaryOp.MinScalar => UnaryVec<ElementOps.MinScalar>(x, scalar),
        UnaryOp.GtScalar => Unary<ElementOps.GtScalar>(x, scalar),
        UnaryOp.LtScalar => Unary<ElementOps.LtScalar>(x, scalar),
        _ => throw new NotSupportedException(op.ToString()),
    };

    private static Storage Unary<TOp>(Storage x, double s) where TOp : struct, IUnary<double>, IUnary<float>
    {
        var c = Cpu(x);
        if (c.F64 != null) return new CpuStorage(UnaryLoop<double, TOp>(c.F64, s));
        return new CpuStorage(UnaryLoop<float, TOp>(c.F32!, (float)s));
    }

    private static T[] UnaryLoop<T, TOp>(T[] x, T s) where TOp : struct, IUnary<T>
    {
        var o = GC.AllocateUninitializedArray<T>(x.Length);
        For(x.Length, (a, b) =>
        {
            var op = default(TOp);
            for (int i = a; i < b; i++) o[i] = op.Apply(x[i], s);
        });
        return o;
    }

    private static Storage UnaryVec<TOp>(Storage x, double s) where TOp : struct, IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float>
    {
        var c = Cpu(x);
        if (c.F64 != null) return new CpuStorage(UnaryVecLoop<double, TOp>(c.F64, s));
        return new CpuStorage(UnaryVecLoop<float, TOp>(c.F32!, (float)s));
    }

    /// <summary>Contiguous unary loop with SIMD over <see cref="Vector{T}"/> lanes and a scalar tail.</summary>
    private static T[] UnaryVecLoop<T, TOp>(T[] x, T s) where T : struct where TOp : struct, IUnary<T>, IVecUnary<T>
    {
        var o = GC.AllocateUninitializedArray<T>(x.Length);
        For(x.Length, (lo, hi) =>
        {
            var op = default(TOp);
            var vs = new Vector<T>(s);
            ref T rx = ref MemoryMarshal.GetArrayDataReference(x);
            ref T ro = ref MemoryMarshal.GetArrayDataReference(o);
            int w = Vector<T>.Count, i = lo;
            for (; i <= hi - w; i += w) op.Apply(Vector.LoadUnsafe(ref rx, (nuint)i), vs).StoreUnsafe(ref ro, (nuint)i);
            for (; i < hi; i++) o[i] = op.Apply(x[i], s);
        });
        return o;
    }

    private static Storage BinaryVec<TOp>(Storage a, Storage b, BroadcastPlan plan) where TOp : struct, IBinary<double>, IBinary<float>, IVecBinary<double>, IVecBinary<float>
    {
        var ca = Cpu(a);
        var cb = Cpu(b);
        if (ca.F64 != null) return new CpuStorage(BinaryVecLoop<double, TOp>(ca.F64, cb.F64!, plan));
        return new CpuStorage(BinaryVecLoop<float, TOp>(ca.F32!, cb.F32!, plan));
    }

    /// <summary>SIMD loop when both operands are contiguous with the output shape (or one is a scalar); else the strided loop.</summary>
    private static T[] BinaryVecLoop<T, TOp>(T[] a, T[] b, BroadcastPlan plan) where T : struct where TOp : struct, IBinary<T>, IVecBinary<T>
    {
        int[] sa = plan.Strides[0], sb = plan.Strides[1], shape = plan.OutShape;
        bool ca = IsContiguous(sa, shape), cb = IsContiguous(sb, shape), za = IsZero(sa), zb = IsZero(sb);
        if (!((ca || za) && (cb || zb))) return BinaryLoop<T, TOp>(a, b, plan);
        int n = plan.Length;
        var o = GC.AllocateUninitializedArray<T>(n);
        if (n == 0) return o;
        For(n, (lo, hi) =>
        {
            var op = default(TOp);
            ref T ra = ref MemoryMarshal.GetArrayDataReference(a);
            ref T rb = ref MemoryMarshal.GetArrayDataReference(b);
            ref T ro = ref MemoryMarshal.GetArrayDataReference(o);
            T a0 = a[0], b0 = b[0];
            Vector<T> va0 = new(a0), vb0 = new(b0);
            int w = Vector<T>.Count, i = lo;
            if (ca && cb)
            {
                for (; i <= hi - w; i += w) op.Apply(Vector.LoadUnsafe(ref ra, (nuint)i), Vector.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref ro, (nuint)i);
                for (; i < hi; i++) o[i] = op.Apply(a[i], b[i]);
            }
            else if (ca)
            {
                for (; i <= hi - w; i += w) op.Apply(Vector.LoadUnsafe(ref ra, (nuint)i), vb0).StoreUnsafe(ref ro, (nuint)i);
                for (; i < hi; i++) o[i] = op.Apply(a[i], b0);
            }
            else if (cb)
            {
                for (; i <= hi - w; i += w) op.Apply(va0, Vector.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref ro, (nuint)i);
                for (; i < hi; i++) o[i] = op.Apply(a0, b[i]);
            }
            else
            {
                T v = op.Apply(a0, b0);
                for (; i < hi; i++) o[i] = v;
            }
        });
        return o;
    }

    /// <inheritdoc/>
    public Storage Binary(BinaryOp op, Storage a, Storage b, BroadcastPlan plan) => op switch
    {
        BinaryOp.Add => BinaryVec<ElementOps.Add>(a, b, plan),
        BinaryOp.Sub => BinaryVec<ElementOps.Sub>(a, b, plan),
        BinaryOp.Mul => BinaryVec<ElementOps.Mul>(a, b, plan),
        BinaryOp.Div => BinaryVec<ElementOps.Div>(a, b, plan),
        BinaryOp.Pow => Binary<ElementOps.Pow>(a, b, plan),
        BinaryOp.Max => BinaryVec<ElementOps.Max>(a, b, plan),
        BinaryOp.Min => BinaryVec<ElementOps.Min>(a, b, plan),
        BinaryOp.Gt => Binary<ElementOps.Gt>(a, b, plan),
        BinaryOp.Ge => Binary<ElementOps.Ge>(a, b, plan),
        BinaryOp.Lt => Binary<ElementOps.Lt>(a, b, plan),
        BinaryOp.Le => Binary<ElementOps.Le>(a, b, plan),
        BinaryOp.Eq => Binary<ElementOps.Eq>(a, b, plan),
        _ => throw new NotSupportedException(op.ToString()),
    };

    private static Storage Binary<TOp>(Storage a, Storage b, BroadcastPlan plan) where TOp : struct, IBinary<double>, IBinary<float>
    {
        var ca = Cpu(a);
        var cb = Cpu(b);
        if (ca.F64 != null) return new CpuStorage(BinaryLoop<double, TOp>(ca.F64, cb.F64!, plan));
        return new CpuStorage(BinaryLoop<float, TOp>(ca.F32!, cb.F32!, plan));
    }

    private static bool IsContiguous(int[] strides, int[] shape)
    {
        int s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] != 1 && strides[i] != s) return false;
            s *= shape[i];
        }
        return true;
    }

    private static bool IsZero(int[] strides) => Array.TrueForAll(strides, s => s == 0);

    private static T[] BinaryLoop<T, TOp>(T[] a, T[] b, BroadcastPlan plan) where TOp : struct, IBinary<T>
    {
        int n = plan.Length;
        var o = GC.AllocateUninitializedArray<T>(n);
        int[] sa = plan.Strides[0], sb = plan.Strides[1], shape = plan.OutShape;
        bool ca = IsContiguous(sa, shape), cb = IsContiguous(sb, shape);
        if (ca && cb)
        {
            For(n, (lo, hi) =>
            {
                var op = default(TOp);
                for (int i = lo; i < hi; i++) o[i] = op.Apply(a[i], b[i]);
            });
        }
        else if (ca && IsZero(sb))
        {
            T s = b[0];
            For(n, (lo, hi) =>
            {
                var op = default(TOp);
                for (int i = lo; i < hi; i++) o[i] = op.Apply(a[i], s);
            });
        }
        else if (cb && IsZero(sa))
        {
            T s = a[0];
            For(n, (lo, hi) =>
            {
                var op = default(TOp);
                for (int i = lo; i < hi; i++) o[i] = op.Apply(s, b[i]);
            });
        }
        else
        {
            StridedRows(shape, (row, off) =>
            {
                var op = default(TOp);
                int inner = shape.Length == 0 ? 1 : shape[^1];
                int ia = Offset(row, shape, sa), ib = Offset(row, shape, sb);
                int da = shape.Length == 0 ? 0 : sa[^1], db = shape.Length == 0 ? 0 : sb[^1];
                for (int j = 0; j < inner; j++) o[off + j] = op.Apply(a[ia + j * da], b[ib + j * db]);
            });
        }
        return o;
    }

    /// <summary>Runs body(rowIndex, outputOffset) for each row (all axes but the last) of a shape.</summary>
    private static void StridedRows(int[] shape, Action<int, int> body)
    {
        int inner = shape.Length == 0 ? 1 : shape[^1];
        int rows = inner == 0 ? 0 : Shapes.Product(shape) / inner;
        For(rows, (lo, hi) =>
        {
            for (int r = lo; r < hi; r++) body(r, r * inner);
        }, Math.Max(1, ParallelThreshold / Math.Max(inner, 1)));
    }

    /// <summary>Offset of the first element of row r (row-major over all axes but the last) for the given strides.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Offset(int row, int[] shape, int[] strides)
    {
        int off = 0;
        for (int k = shape.Length - 2; k >= 0; k--)
        {
            int ik = row % shape[k];
            row /= shape[k];
            off += ik * strides[k];
        }
        return off;
    }

    /// <inheritdoc/>
    public Storage Where(Storage cond, Storage a, Storage b, BroadcastPlan plan)
    {
        var cc = Cpu(cond);
        var ca = Cpu(a);
        var cb = Cpu(b);
        if (ca.F64 != null) return new CpuStorage(WhereLoop(AsF64(cc), ca.F64, cb.F64!, plan));
        return new CpuStorage(WhereLoop(AsF32(cc), ca.F32!, cb.F32!, plan));
    }

    private static double[] AsF64(CpuStorage s) => s.F64 ?? Array.ConvertAll(s.F32!, v => (double)v);
    private static float[] AsF32(CpuStorage s) => s.F32 ?? Array.ConvertAll(s.F64!, v => (float)v);

    private static T[] WhereLoop<T>(T[] c, T[] a, T[] b, BroadcastPlan plan) where T : struct, IEquatable<T>
    {
        var o = GC.AllocateUninitializedArray<T>(plan.Length);
        int[] shape = plan.OutShape, sc = plan.Strides[0], sa = plan.Strides[1], sb = plan.Strides[2];
        StridedRows(shape, (row, off) =>
        {
            int inner = shape.Length == 0 ? 1 : shape[^1];
            int ic = Offset(row, shape, sc), ia = Offset(row, shape, sa), ib = Offset(row, shape, sb);
            int dc = shape.Length == 0 ? 0 : sc[^1], da = shape.Length == 0 ? 0 : sa[^1], db = shape.Length == 0 ? 0 : sb[^1];
            for (int j = 0; j < inner; j++)
                o[off + j] = !c[ic + j * dc].Equals(default) ? a[ia + j * da] : b[ib + j * db];
        });
        return o;
    }

    // ---------------------------------------------------------------- reductions

    /// <inheritdoc/>
    public Storage Reduce(ReduceOp op, Storage x, int outer, int axis, int inner)
    {
        var c = Cpu(x);
        if (c.F64 != null) return new CpuStorage(ReduceLoop(op, c.F64, outer, axis, inner));
        return new CpuStorage(ReduceLoop(op, c.F32!, outer, axis, inner));
    }

    // Reductions accumulate in float64 for both precisions (float32 sums of 10^6 terms would lose ~3 digits).
    private static T[] ReduceLoop<T>(ReduceOp op, T[] x, int outer, int axis, int inner) where T : struct, INumberBase<T>
    {
        var o = new T[outer * inner];
        if (inner == 1 && outer == 1)
        {
            // Full reduction: fixed chunks combined in order, so the result does not depend on thread timing.
            int n = x.Length;
            int chunks = Math.Max(1, Math.Min(64, n / ParallelThreshold));
            var partial = new double[chunks];
            if (chunks == 1) partial[0] = ReduceContiguous(op, x, 0, n);
            else Parallel.For(0, chunks, ch =>
            {
                long lo = (long)n * ch / chunks, hi = (long)n * (ch + 1) / chunks;
                partial[ch] = ReduceContiguous(op, x, (int)lo, (int)hi);
            });
            double acc = partial[0];
            for (int ch = 1; ch < chunks; ch++) acc = Combine(op, acc, partial[ch]);
            o[0] = T.CreateTruncating(n == 0 ? (op == ReduceOp.Sum ? 0 : double.NaN) : acc);
            return o;
        }
        if (inner == 1)
        {
            For(outer, (lo, hi) =>
            {
                for (int t = lo; t < hi; t++) o[t] = T.CreateTruncating(axis == 0 ? (op == ReduceOp.Sum ? 0 : double.NaN) : ReduceContiguous(op, x, t * axis, (t + 1) * axis));
            }, Math.Max(1, ParallelThreshold / Math.Max(axis, 1)));
            return o;
        }
        // Axis with inner stride: accumulate whole rows of length inner (contiguous, cache friendly) per outer index.
        For(outer, (lo, hi) =>
        {
            var acc = new double[inner];
            for (int oi = lo; oi < hi; oi++)
            {
                int b0 = oi * axis * inner;
                if (axis == 0) Array.Fill(acc, op == ReduceOp.Sum ? 0 : double.NaN);
                else for (int j = 0; j < inner; j++) acc[j] = double.CreateTruncating(x[b0 + j]);
                for (int k = 1; k < axis; k++)
                {
                    int b = b0 + k * inner;
                    switch (op)
                    {
                        case ReduceOp.Sum: for (int j = 0; j < inner; j++) acc[j] += double.CreateTruncating(x[b + j]); break;
                        default: for (int j = 0; j < inner; j++) acc[j] = Combine(op, acc[j], double.CreateTruncating(x[b + j])); break;
                    }
                }
                for (int j = 0; j < inner; j++) o[oi * inner + j] = T.CreateTruncating(acc[j]);
            }
        }, Math.Max(1, ParallelThreshold / Math.Max(axis * inner, 1)));
        return o;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Combine(ReduceOp op, double a, double b) => op switch
    {
        ReduceOp.Sum => a + b,
        ReduceOp.Max => a >= b || double.IsNaN(a) ? a : b,
        _ => a <= b || double.IsNaN(a) ? a : b,
    };

    /// <summary>Reduction of x[lo..hi) (non-empty); the float64 sum uses SIMD lanes.</summary>
    private static double ReduceContiguous<T>(ReduceOp op, T[] x, int lo, int hi) where T : struct, INumberBase<T>
    {
        if (lo >= hi) return op == ReduceOp.Sum ? 0 : double.NaN;
        if (op == ReduceOp.Sum)
        {
            if (typeof(T) == typeof(double))
            {
                var xs = ((double[])(object)x).AsSpan(lo, hi - lo);
                var v = Vector<double>.Zero;
                int w = Vector<double>.Count, i = 0;
                for (; i <= xs.Length - w; i += w) v += new Vector<double>(xs.Slice(i, w));
                double s = Vector.Sum(v);
                for (; i < xs.Length; i++) s += xs[i];
                return s;
            }
            double acc = 0;
            for (int i = lo; i < hi; i++) acc += double.CreateTruncating(x[i]);
            return acc;
        }
        double m = double.CreateTruncating(x[lo]);
        for (int i = lo + 1; i < hi; i++) m = Combine(op, m, double.CreateTruncating(x[i]));
        return m;
    }

    // ---------------------------------------------------------------- data movement

    /// <inheritdoc/>
    public Storage Gather(Storage x, int offset, int[] strides, int[] outShape)
    {
        var c = Cpu(x);
        if (c.F64 != null) return new CpuStorage(GatherLoop(c.F64, offset, strides, outShape));
        return new CpuStorage(GatherLoop(c.F32!, offset, strides, outShape));
    }

    private static T[] GatherLoop<T>(T[] x, int offset, int[] strides, int[] shape)
    {
        var o = GC.AllocateUninitializedArray<T>(Shapes.Product(shape));
        if (o.Length == 0) return o;
        if (strides.AsSpan().SequenceEqual(Shapes.Strides(shape)))
        {
            // A contiguous block (e.g. one member of a batch along the leading axis): one copy.
            Array.Copy(x, offset, o, 0, o.Length);
            return o;
        }
        if (shape.Length > 1 && strides[0] == 0 && strides.AsSpan(1).SequenceEqual(Shapes.Strides(shape.AsSpan(1))))
        {
            // A contiguous block repeated along the leading axis (a shared value expanded to a batch): one copy per repeat.
            int block = o.Length / shape[0];
            for (int r = 0; r < shape[0]; r++) Array.Copy(x, offset, o, r * block, block);
            return o;
        }
        StridedRows(shape, (row, off) =>
        {
            int inner = shape.Length == 0 ? 1 : shape[^1];
            int ix = offset + Offset(row, shape, strides);
            int d = shape.Length == 0 ? 0 : strides[^1];
            if (d == 1) Array.Copy(x, ix, o, off, inner);
            else for (int j = 0; j < inner; j++) o[off + j] = x[ix + j * d];
        });
        return o;
    }

    /// <inheritdoc/>
    public Storage ScatterAdd(Storage src, int[] srcShape, int targetLength, int offset, int[] strides)
    {
        var c = Cpu(src);
        if (c.F64 != null) return new CpuStorage(ScatterLoop(c.F64, srcShape, targetLength, offset, strides));
        return new CpuStorage(ScatterLoop(c.F32!, srcShape, targetLength, offset, strides));
    }

    private static T[] ScatterLoop<T>(T[] src, int[] shape, int targetLength, int offset, int[] strides) where T : System.Numerics.INumber<T>
    {
        var o = new T[targetLength];
        int inner = shape.Length == 0 ? 1 : shape[^1];
        int rows = inner == 0 ? 0 : src.Length / inner;
        int d = shape.Length == 0 ? 0 : strides[^1];
        // Rows never overlap unless a stride is zero; then run serially so that additions do not race.
        bool serial = Array.Exists(strides, s => s == 0);
        Action<int, int> body = (lo, hi) =>
        {
            for (int r = lo; r < hi; r++)
            {
                int ix = offset + Offset(r, shape, strides);
                for (int j = 0; j < inner; j++) o[ix + j * d] += src[r * inner + j];
            }
        };
        if (serial) body(0, rows);
        else For(rows, body, Math.Max(1, ParallelThreshold / Math.Max(inner, 1)));
        return o;
    }

    /// <inheritdoc/>
    public Storage DotLast(Storage a, Storage b, int outer, int inner)
    {
        var ca = Cpu(a);
        var cb = Cpu(b);
        if (ca.F64 != null)
        {
            double[] x = ca.F64, y = cb.F64!;
            var o = GC.AllocateUninitializedArray<double>(outer);
            For(outer, (lo, hi) =>
            {
                for (int i = lo; i < hi; i++)
                {
                    double s = 0;
                    for (int j = 0; j < inner; j++) s += x[i * inner + j] * y[i * inner + j];
                    o[i] = s;
                }
            });
            return new CpuStorage(o);
        }
        else
        {
            float[] x = ca.F32!, y = cb.F32!;
            var o = GC.AllocateUninitializedArray<float>(outer);
            For(outer, (lo, hi) =>
            {
                for (int i = lo; i < hi; i++)
                {
                    float s = 0;
                    for (int j = 0; j < inner; j++) s += x[i * inner + j] * y[i * inner + j];
                    o[i] = s;
                }
            });
            return new CpuStorage(o);
        }
    }

    /// <inheritdoc/>
    public Storage CrossLast(Storage a, Storage b, int count)
    {
        var ca = Cpu(a);
        var cb = Cpu(b);
        if (ca.F64 != null) return new CpuStorage(CrossLoop(ca.F64, cb.F64!, count));
        return new CpuStorage(CrossLoop(ca.F32!, cb.F32!, count));
    }

    private static T[] CrossLoop<T>(T[] x, T[] y, int count) where T : System.Numerics.INumber<T>
    {
        var o = GC.AllocateUninitializedArray<T>(3 * count);
        For(count, (lo, hi) =>
        {
            for (int i = lo; i < hi; i++)
            {
                int k = 3 * i;
                T x0 = x[k], x1 = x[k + 1], x2 = x[k + 2], y0 = y[k], y1 = y[k + 1], y2 = y[k + 2];
                o[k] = x1 * y2 - x2 * y1;
                o[k + 1] = x2 * y0 - x0 * y2;
                o[k + 2] = x0 * y1 - x1 * y0;
            }
        });
        return o;
    }

    /// <inheritdoc/>
    public Storage LinearCombination(Storage[] terms, double[] coefficients)
    {
        var first = Cpu(terms[0]);
        if (first.F64 != null)
        {
            var xs = new double[terms.Length][];
            for (int j = 0; j < terms.Length; j++) xs[j] = Cpu(terms[j]).F64!;
            return new CpuStorage(LinearCombinationLoop(xs, coefficients));
        }
        var fs = new float[terms.Length][];
        var fc = new float[terms.Length];
        for (int j = 0; j < terms.Length; j++)
        {
            fs[j] = Cpu(terms[j]).F32!;
            fc[j] = (float)coefficients[j];
        }
        return new CpuStorage(LinearCombinationLoop(fs, fc, 1));
    }

    /// <inheritdoc/>
    public Storage Concat(Storage[] parts)
    {
        long total = 0;
        foreach (var part in parts) total += part.Length;
        if (total > int.MaxValue) throw new ArgumentException($"Concat: {total} elements exceed 2^31-1.", nameof(parts));
        if (Cpu(parts[0]).F64 != null)
        {
            var o = GC.AllocateUninitializedArray<double>((int)total);
            int at = 0;
            foreach (var part in parts) { Cpu(part).F64!.CopyTo(o, at); at += part.Length; }
            return new CpuStorage(o);
        }
        var f = GC.AllocateUninitializedArray<float>((int)total);
        int pos = 0;
        foreach (var part in parts) { Cpu(part).F32!.CopyTo(f, pos); pos += part.Length; }
        return new CpuStorage(f);
    }

    /// <inheritdoc/>
    public Storage LinearCombination(Storage[] terms, double[] coefficients, int members)
    {
        var first = Cpu(terms[0]);
        if (first.F64 != null)
        {
            var xs = new double[terms.Length][];
            for (int j = 0; j < terms.Length; j++) xs[j] = Cpu(terms[j]).F64!;
            return new CpuStorage(LinearCombinationLoop(xs, coefficients, members));
        }
        var fs = new float[terms.Length][];
        for (int j = 0; j < terms.Length; j++) fs[j] = Cpu(terms[j]).F32!;
        return new CpuStorage(LinearCombinationLoop(fs, coefficients, members));
    }

    /// <summary>Elements processed per term before the next term, so the partial sums stay in cache.</summary>
    private const int CombinationBlock = 2048;

    private static T[] LinearCombinationLoop<T>(T[][] x, double[] coefficients, int members = 1) where T : struct, System.Numerics.INumber<T>
    {
        var c = new T[coefficients.Length];
        for (int j = 0; j < c.Length; j++) c[j] = T.CreateTruncating(coefficients[j]);
        return LinearCombinationLoop(x, c, members);
    }

    /// <summary>
    /// o = x_0 c_0, then o += x_j c_j for j = 1, 2, … (SIMD lanes, products rounded before the add), block by block;
    /// with several members, element i of member block b = i / (n / members) uses the coefficients c[b·terms + j].
    /// </summary>
    private static T[] LinearCombinationLoop<T>(T[][] x, T[] c, int members) where T : struct, System.Numerics.INumber<T>
    {
        int n = x[0].Length;
        int memberLength = n / members;
        var o = GC.AllocateUninitializedArray<T>(n);
        For(n, (lo, hi) =>
        {
            int w = Vector<T>.Count;
            ref T ro = ref MemoryMarshal.GetArrayDataReference(o);
            for (int b0 = lo, b1; b0 < hi; b0 = b1)
            {
                b1 = Math.Min(hi, b0 + CombinationBlock);
                int member = memberLength == 0 ? 0 : b0 / memberLength;
                if (members > 1 && (member + 1) * memberLength < b1) b1 = (member + 1) * memberLength; // a block stays in one member
                int cOffset = member * x.Length;
                for (int j = 0; j < x.Length; j++)
                {
                    ref T rx = ref MemoryMarshal.GetArrayDataReference(x[j]);
                    var vc = new Vector<T>(c[cOffset + j]);
                    T cj = c[cOffset + j];
                    int i = b0;
                    if (j == 0)
                    {
                        for (; i <= b1 - w; i += w) (Vector.LoadUnsafe(ref rx, (nuint)i) * vc).StoreUnsafe(ref ro, (nuint)i);
                        for (; i < b1; i++) o[i] = x[0][i] * cj;
                    }
                    else
                    {
                        for (; i <= b1 - w; i += w) (Vector.LoadUnsafe(ref ro, (nuint)i) + Vector.LoadUnsafe(ref rx, (nuint)i) * vc).StoreUnsafe(ref ro, (nuint)i);
                        for (; i < b1; i++) o[i] += x[j][i] * cj;
                    }
                }
            }
        });
        return o;
    }

    /// <inheritdoc/>
    public Storage CrossPair(Storage a, Storage b, Storage p, Storage q, int count)
    {
        var ca = Cpu(a);
        var cb = Cpu(b);
        var cp = Cpu(p);
        var cq = Cpu(q);
        if (ca.F64 != null) return new CpuStorage(CrossPairLoop(ca.F64, cb.F64!, cp.F64!, cq.F64!, count));
        return new CpuStorage(CrossPairLoop(ca.F32!, cb.F32!, cp.F32!, cq.F32!, count));
    }

    /// <summary>(element stride per vector, per component) of a coefficient of length 1, count or 3·count.</summary>
    internal static (int PerVector, int PerComponent) CoefficientStrides(int length, int count) =>
        length == 1 ? (0, 0) : length == count ? (1, 0) : (3, 1);

    private static T[] CrossPairLoop<T>(T[] x, T[] y, T[] p, T[] q, int count) where T : System.Numerics.INumber<T>
    {
        var o = GC.AllocateUninitializedArray<T>(3 * count);
        var (ps, pc) = CoefficientStrides(p.Length, count);
        var (qs, qc) = CoefficientStrides(q.Length, count);
        For(count, (lo, hi) =>
        {
            for (int i = lo; i < hi; i++)
            {
                int k = 3 * i;
                T x0 = x[k], x1 = x[k + 1], x2 = x[k + 2], y0 = y[k], y1 = y[k + 1], y2 = y[k + 2];
                T a0 = x1 * y2 - x2 * y1, a1 = x2 * y0 - x0 * y2, a2 = x0 * y1 - x1 * y0;
                T b0 = x1 * a2 - x2 * a1, b1 = x2 * a0 - x0 * a2, b2 = x0 * a1 - x1 * a0;
                o[k] = p[i * ps] * a0 - q[i * qs] * b0;
                o[k + 1] = p[i * ps + pc] * a1 - q[i * qs + qc] * b1;
                o[k + 2] = p[i * ps + 2 * pc] * a2 - q[i * qs + 2 * qc] * b2;
            }
        }, ParallelThreshold / 3);
        return o;
    }

    /// <inheritdoc/>
    public double[] StepErrorSums(Storage error, Storage y, Storage y1, Storage? atolVector, double rtol, double atol, int members)
    {
        var (e, a, b, v) = (Cpu(error), Cpu(y), Cpu(y1), atolVector is null ? null : Cpu(atolVector));
        return e.F64 != null
            ? StepErrorLoop<double, WidenF64>(e.F64, a.F64!, b.F64!, v?.F64, rtol, atol, members)
            : StepErrorLoop<float, WidenF32>(e.F32!, a.F32!, b.F32!, v?.F32, rtol, atol, members);
    }

    private static double[] StepErrorLoop<T, TWiden>(T[] e, T[] y, T[] y1, T[]? atolVector, double rtol, double atol, int members) where TWiden : struct, IWiden<T>
    {
        var w = default(TWiden);
        int n = e.Length / members, chunks = StepError.Chunks(n);
        var partial = new double[members * chunks];
        void Chunk(int index)
        {
            int b = index / chunks, c = index % chunks;
            int lo = b * n + (int)((long)n * c / chunks), hi = b * n + (int)((long)n * (c + 1) / chunks);
            double acc = 0;
            for (int i = lo; i < hi; i++)
                acc += StepError.Term(w.Of(e[i]), w.Of(y[i]), w.Of(y1[i]), atolVector is null ? atol : w.Of(atolVector[i]), rtol);
            partial[index] = acc;
        }
        if (partial.Length == 1 || (long)n * members <= ParallelThreshold) for (int i = 0; i < partial.Length; i++) Chunk(i);
        else Parallel.For(0, partial.Length, Chunk);
        var sums = new double[members];
        for (int b = 0; b < members; b++)
        {
            double acc = partial[b * chunks];
            for (int c = 1; c < chunks; c++) acc += partial[b * chunks + c];
            sums[b] = acc;
        }
        return sums;
    }
}
