using ILGPU;
using NeuralMag.AD;

namespace NeuralMag.Kernels;

/// <summary>
/// Index and shape data for strided kernels, passed by value (ILGPU copies kernel parameters to the device).
/// Holds up to <see cref="MaxRank"/> axes: the output shape and up to three operands' element strides.
/// </summary>
public struct StridePack
{
    /// <summary>Most axes a strided kernel handles.</summary>
    public const int MaxRank = 8;
    /// <summary>Number of axes used.</summary>
    public int Rank;
    /// <summary>Output extent per axis.</summary>
    public int S0, S1, S2, S3, S4, S5, S6, S7;      // output shape
    /// <summary>Element stride of operand 0 per output axis (0 where broadcast).</summary>
    public int A0, A1, A2, A3, A4, A5, A6, A7;      // strides of operand 0
    /// <summary>Element stride of operand 1 per output axis (0 where broadcast).</summary>
    public int B0, B1, B2, B3, B4, B5, B6, B7;      // strides of operand 1
    /// <summary>Element stride of operand 2 per output axis (0 where broadcast).</summary>
    public int C0, C1, C2, C3, C4, C5, C6, C7;      // strides of operand 2

    /// <summary>Packs the output <paramref name="shape"/> and up to three operands' <paramref name="strides"/>.</summary>
    /// <exception cref="NotSupportedException">The rank exceeds <see cref="MaxRank"/>.</exception>
    public static StridePack Create(int[] shape, params int[][] strides)
    {
        if (shape.Length > MaxRank)
            throw new NotSupportedException($"ILGPU kernels support tensors of rank <= {MaxRank}; got shape of rank {shape.Length}.");
        var p = new StridePack { Rank = shape.Length };
        for (int k = 0; k < shape.Length; k++)
        {
            p.Set(0, k, shape[k]);
            for (int o = 0; o < strides.Length; o++) p.Set(o + 1, k, strides[o][k]);
        }
        return p;
    }

    private void Set(int row, int k, int v)
    {
        switch (row * 8 + k)
        {
            case 0: S0 = v; break; case 1: S1 = v; break; case 2: S2 = v; break; case 3: S3 = v; break;
            case 4: S4 = v; break; case 5: S5 = v; break; case 6: S6 = v; break; case 7: S7 = v; break;
            case 8: A0 = v; break; case 9: A1 = v; break; case 10: A2 = v; break; case 11: A3 = v; break;
            case 12: A4 = v; break; case 13: A5 = v; break; case 14: A6 = v; break; case 15: A7 = v; break;
            case 16: B0 = v; break; case 17: B1 = v; break; case 18: B2 = v; break; case 19: B3 = v; break;
            case 20: B4 = v; break; case 21: B5 = v; break; case 22: B6 = v; break; case 23: B7 = v; break;
            case 24: C0 = v; break; case 25: C1 = v; break; case 26: C2 = v; break; case 27: C3 = v; break;
            case 28: C4 = v; break; case 29: C5 = v; break; case 30: C6 = v; break; default: C7 = v; break;
        }
    }

    /// <summary>Output extent along axis <paramref name="k"/>.</summary>
    public readonly int Shape(int k) => k switch { 0 => S0, 1 => S1, 2 => S2, 3 => S3, 4 => S4, 5 => S5, 6 => S6, _ => S7 };
    /// <summary>Stride of operand 0 along axis <paramref name="k"/>.</summary>
    public readonly int StrideA(int k) => k switch { 0 => A0, 1 => A1, 2 => A2, 3 => A3, 4 => A4, 5 => A5, 6 => A6, _ => A7 };
    /// <summary>Stride of operand 1 along axis <paramref name="k"/>.</summary>
    public readonly int StrideB(int k) => k switch { 0 => B0, 1 => B1, 2 => B2, 3 => B3, 4 => B4, 5 => B5, 6 => B6, _ => B7 };
    /// <summary>Stride of operand 2 along axis <paramref name="k"/>.</summary>
    public readonly int StrideC(int k) => k switch { 0 => C0, 1 => C1, 2 => C2, 3 => C3, 4 => C4, 5 => C5, 6 => C6, _ => C7 };

    /// <summary>Element offsets of output index i in operands 0, 1 and 2 (row-major decomposition of i).</summary>
    public readonly void Offsets(int i, out int a, out int b, out int c)
    {
        a = 0; b = 0; c = 0;
        for (int k = Rank - 1; k >= 0; k--)
        {
            int n = Shape(k);
            int ik = i % n;
            i /= n;
            a += ik * StrideA(k);
            b += ik * StrideB(k);
            c += ik * StrideC(k);
        }
    }
}

/// <summary>
/// The ILGPU kernels of <see cref="IlgpuBackend"/>. Elementwise kernels are generic over the per-element structs of
/// <see cref="ElementOps"/>, so their arithmetic is the same code the CPU backend runs.
/// </summary>
internal static class IlgpuKernels
{
    public static void Fill<T>(Index1D i, ArrayView<T> o, T v) where T : unmanaged => o[i] = v;

    public static void CastToF32(Index1D i, ArrayView<double> x, ArrayView<float> o) => o[i] = (float)x[i];
    public static void CastToF64(Index1D i, ArrayView<float> x, ArrayView<double> o) => o[i] = x[i];

    public static void Unary<T, TOp>(Index1D i, ArrayView<T> x, ArrayView<T> o, T s)
        where T : unmanaged where TOp : struct, IUnary<T>
        => o[i] = default(TOp).Apply(x[i], s);

    public static void BinaryContiguous<T, TOp>(Index1D i, ArrayView<T> a, ArrayView<T> b, ArrayView<T> o)
        where T : unmanaged where TOp : struct, IBinary<T>
        => o[i] = default(TOp).Apply(a[i], b[i]);

    public static void BinaryStrided<T, TOp>(Index1D i, ArrayView<T> a, ArrayView<T> b, ArrayView<T> o, StridePack p)
        where T : unmanaged where TOp : struct, IBinary<T>
    {
        p.Offsets(i, out int ia, out int ib, out _);
        o[i] = default(TOp).Apply(a[ia], b[ib]);
    }

    public static void WhereF64(Index1D i, ArrayView<double> c, ArrayView<double> a, ArrayView<double> b, ArrayView<double> o, StridePack p)
    {
        p.Offsets(i, out int ic, out int ia, out int ib);
        o[i] = c[ic] != 0 ? a[ia] : b[ib];
    }

    public static void WhereF32(Index1D i, ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, ArrayView<float> o, StridePack p)
    {
        p.Offsets(i, out int ic, out int ia, out int ib);
        o[i] = c[ic] != 0 ? a[ia] : b[ib];
    }

    // Reductions accumulate in double for both precisions, in the CPU backend's order, so results match it exactly.
    private static double Combine(int op, double a, double b) =>
        op == 0 ? a + b
        : op == 1 ? (a >= b || double.IsNaN(a) ? a : b)
        : (a <= b || double.IsNaN(a) ? a : b);

    /// <summary>One thread per (outer, inner) output: reduces x viewed as (outer, axis, inner) along the middle axis.</summary>
    public static void ReduceAxisF64(Index1D t, ArrayView<double> x, ArrayView<double> o, int op, int axis, int inner)
    {
        int oi = t / inner, ii = t % inner;
        int lo = oi * axis * inner + ii, hi = lo + axis * inner;
        if (axis == 0) { o[t] = op == 0 ? 0 : double.NaN; return; }
        double acc = x[lo];
        for (int k = lo + inner; k < hi; k += inner) acc = Combine(op, acc, x[k]);
        o[t] = acc;
    }

    public static void ReduceAxisF32(Index1D t, ArrayView<float> x, ArrayView<float> o, int op, int axis, int inner)
    {
        int oi = t / inner, ii = t % inner;
        int lo = oi * axis * inner + ii, hi = lo + axis * inner;
        if (axis == 0) { o[t] = op == 0 ? 0 : float.NaN; return; }
        double acc = x[lo];
        for (int k = lo + inner; k < hi; k += inner) acc = Combine(op, acc, x[k]);
        o[t] = (float)acc;
    }

    /// <summary>Full reduction, stage 1: one partial per fixed chunk [n*c/chunks, n*(c+1)/chunks) (the CPU backend's chunks).</summary>
    public static void ReduceChunksF64(Index1D c, ArrayView<double> x, ArrayView<double> partial, int op, int n, int chunks)
    {
        int lo = (int)((long)n * c / chunks), hi = (int)((long)n * (c + 1) / chunks);
        double acc = lo < hi ? x[lo] : (op == 0 ? 0 : double.NaN);
        for (int k = lo + 1; k < hi; k++) acc = Combine(op, acc, x[k]);
        partial[c] = acc;
    }

    public static void ReduceChunksF32(Index1D c, ArrayView<float> x, ArrayView<double> partial, int op, int n, int chunks)
    {
        int lo = (int)((long)n * c / chunks), hi = (int)((long)n * (c + 1) / chunks);
        double acc = lo < hi ? x[lo] : (op == 0 ? 0 : double.NaN);
        for (int k = lo + 1; k < hi; k++) acc = Combine(op, acc, x[k]);
        partial[c] = acc;
    }

    /// <summary>The step error, stage 1 (thread = member · chunks + chunk): Σ StepError.Term over the chunk, in float64.</summary>
    public static void StepErrorChunks<T, TWiden>(Index1D index, ArrayView<T> e, ArrayView<T> y, ArrayView<T> y1, ArrayView<T> atolVector,
        int perEntry, double atol, double rtol, int n, int chunks, ArrayView<double> partial) where T : unmanaged where TWiden : struct, IWiden<T>
    {
        var w = default(TWiden);
        int b = index / chunks, c = index % chunks;
        int lo = b * n + (int)((long)n * c / chunks), hi = b * n + (int)((long)n * (c + 1) / chunks);
        double acc = 0;
        for (int i = lo; i < hi; i++) acc += StepError.Term(w.Of(e[i]), w.Of(y[i]), w.Of(y1[i]), perEntry != 0 ? w.Of(atolVector[i]) : atol, rtol);
        partial[index] = acc;
    }

    /// <summary>The step error, stage 2 (thread = member): the member's chunk sums combined in order.</summary>
    public static void StepErrorCombine(Index1D b, ArrayView<double> partial, int chunks, ArrayView<double> sums)
    {
        double acc = partial[b * chunks];
        for (int c = 1; c < chunks; c++) acc += partial[b * chunks + c];
        sums[b] = acc;
    }

    /// <summary>Full reduction, stage 2 (one thread): combines the partials in order.</summary>
    public static void CombineChunksF64(Index1D t, ArrayView<double> partial, ArrayView<double> o, int op, int chunks)
    {
        double acc = partial[0];
        for (int k = 1; k < chunks; k++) acc = Combine(op, acc, partial[k]);
        o[0] = acc;
    }

    public static void CombineChunksF32(Index1D t, ArrayView<double> partial, ArrayView<float> o, int op, int chunks)
    {
        double acc = partial[0];
        for (int k = 1; k < chunks; k++) acc = Combine(op, acc, partial[k]);
        o[0] = (float)acc;
    }

    /// <summary>out[i] = x[offset + Σ_k i_k strides_k] (strides in operand slot A of the pack).</summary>
    public static void Gather<T>(Index1D i, ArrayView<T> x, ArrayView<T> o, int offset, StridePack p) where T : unmanaged
    {
        p.Offsets(i, out int ix, out _, out _);
        o[i] = x[offset + ix];
    }

    /// <summary>Scatter for non-overlapping strides: each target element receives at most one source element.</summary>
    public static void ScatterDisjoint<T, TAdd>(Index1D i, ArrayView<T> src, ArrayView<T> o, int offset, StridePack p)
        where T : unmanaged where TAdd : struct, IBinary<T>
    {
        p.Offsets(i, out int ix, out _, out _);
        o[offset + ix] = default(TAdd).Apply(o[offset + ix], src[i]);
    }

    /// <summary>Scatter-add with overlapping targets (a zero stride): one thread, in the CPU backend's order.</summary>
    public static void ScatterSerial<T, TAdd>(Index1D t, ArrayView<T> src, ArrayView<T> o, int offset, StridePack p, int n)
        where T : unmanaged where TAdd : struct, IBinary<T>
    {
        for (int i = 0; i < n; i++)
        {
            p.Offsets(i, out int ix, out _, out _);
            o[offset + ix] = default(TAdd).Apply(o[offset + ix], src[i]);
        }
    }

    /// <summary>o[i] = Σ_j a[i, j] b[i, j] accumulated in T, j ascending (as on the CPU).</summary>
    public static void DotLast<T, TAdd, TMul>(Index1D i, ArrayView<T> a, ArrayView<T> b, ArrayView<T> o, int inner)
        where T : unmanaged where TAdd : struct, IBinary<T> where TMul : struct, IBinary<T>
    {
        T s = default;
        for (int j = 0; j < inner; j++) s = default(TAdd).Apply(s, default(TMul).Apply(a[i * inner + j], b[i * inner + j]));
        o[i] = s;
    }

    /// <summary>o = a × b for the i-th 3-vector.</summary>
    public static void CrossLast<T, TSub, TMul>(Index1D i, ArrayView<T> x, ArrayView<T> y, ArrayView<T> o)
        where T : unmanaged where TSub : struct, IBinary<T> where TMul : struct, IBinary<T>
    {
        int k = 3 * i;
        T x0 = x[k], x1 = x[k + 1], x2 = x[k + 2], y0 = y[k], y1 = y[k + 1], y2 = y[k + 2];
        var m = default(TMul);
        var d = default(TSub);
        o[k] = d.Apply(m.Apply(x1, y2), m.Apply(x2, y1));
        o[k + 1] = d.Apply(m.Apply(x2, y0), m.Apply(x0, y2));
        o[k + 2] = d.Apply(m.Apply(x0, y1), m.Apply(x1, y0));
    }

    /// <summary>o[i] = o[i] + x[i] c, the product rounded before the sum: one term of a linear combination.</summary>
    public static void AddScaledInPlace<T, TAdd, TMul>(Index1D i, ArrayView<T> x, ArrayView<T> o, T c)
        where T : unmanaged where TAdd : struct, IBinary<T> where TMul : struct, IBinary<T>
        => o[i] = default(TAdd).Apply(o[i], default(TMul).Apply(x[i], c));

    /// <summary>
    /// o = p (a × b) − q (a × (a × b)) for the i-th 3-vector, the cross products as in <see cref="CrossLast{T, TSub, TMul}"/>;
    /// component c of vector i takes p[i ps + c pc] and q[i qs + c qc].
    /// </summary>
    public static void CrossPair<T, TSub, TMul>(Index1D i, ArrayView<T> x, ArrayView<T> y, ArrayView<T> p, ArrayView<T> q, ArrayView<T> o, int ps, int pc, int qs, int qc)
        where T : unmanaged where TSub : struct, IBinary<T> where TMul : struct, IBinary<T>
    {
        int k = 3 * i;
        var m = default(TMul);
        var d = default(TSub);
        T x0 = x[k], x1 = x[k + 1], x2 = x[k + 2], y0 = y[k], y1 = y[k + 1], y2 = y[k + 2];
        T a0 = d.Apply(m.Apply(x1, y2), m.Apply(x2, y1));
        T a1 = d.Apply(m.Apply(x2, y0), m.Apply(x0, y2));
        T a2 = d.Apply(m.Apply(x0, y1), m.Apply(x1, y0));
        T b0 = d.Apply(m.Apply(x1, a2), m.Apply(x2, a1));
        T b1 = d.Apply(m.Apply(x2, a0), m.Apply(x0, a2));
        T b2 = d.Apply(m.Apply(x0, a1), m.Apply(x1, a0));
        int ip = i * ps, iq = i * qs;
        o[k] = d.Apply(m.Apply(p[ip], a0), m.Apply(q[iq], b0));
        o[k + 1] = d.Apply(m.Apply(p[ip + pc], a1), m.Apply(q[iq + qc], b1));
        o[k + 2] = d.Apply(m.Apply(p[ip + 2 * pc], a2), m.Apply(q[iq + 2 * qc], b2));
    }
}
