using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;
using NeuralMag.AD;
using E = NeuralMag.AD.ElementOps;

namespace NeuralMag.Kernels;

/// <summary>
/// The primitives of <see cref="IBackend"/> as ILGPU kernels on one accelerator (CUDA, OpenCL or ILGPU's CPU
/// accelerator). Every kernel is compiled on first use per (kernel, element type, op struct) and cached. Launches go to
/// the accelerator's default stream; results are complete when a host copy (<see cref="ToHost"/>) returns.
/// </summary>
public sealed class IlgpuBackend : IBackend
{
    private readonly ConcurrentDictionary<System.Reflection.MethodInfo, Delegate> _kernels = new();

    internal IlgpuBackend(Accelerator accelerator) => Accelerator = accelerator;

    /// <summary>The ILGPU accelerator the kernels run on.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>The device this backend serves (set once by <see cref="Devices"/> right after construction).</summary>
    public AD.Device Device { get; internal set; } = null!;

    /// <summary>
    /// The host/device copies of this accelerator: tensor uploads and downloads and the tables operators upload
    /// (see <see cref="TransferCounters"/>). Reset it to measure one piece of work.
    /// </summary>
    public TransferCounters Transfers { get; } = new();

    /// <summary>A new device buffer holding <paramref name="data"/> (one counted host → device copy).</summary>
    internal MemoryBuffer1D<T, Stride1D.Dense> Upload<T>(T[] data) where T : unmanaged
    {
        ReleasePending();
        var b = Accelerator.Allocate1D(data);
        Transfers.CountToDevice(b.LengthInBytes);
        return b;
    }

    /// <summary>Copies <paramref name="data"/> into the start of <paramref name="target"/> (one counted host → device copy).</summary>
    internal void Upload<T>(ArrayView<T> target, T[] data) where T : unmanaged
    {
        if (data.Length == 0) return;
        target.SubView(0, data.Length).CopyFromCPU(data);
        Transfers.CountToDevice((long)data.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
    }

    /// <summary>Buffers of storages collected without Dispose; freed on the next allocation (see <see cref="IlgpuStorage"/>).</summary>
    internal ConcurrentQueue<MemoryBuffer> PendingRelease { get; } = new();

    /// <summary>Frees the buffers of storages the GC has finalized. Called before every allocation.</summary>
    public void ReleasePending()
    {
        while (PendingRelease.TryDequeue(out var b)) b.Dispose();
    }

    // ---------------------------------------------------------------- kernel cache

    /// <summary>
    /// The compiled stream kernel of a static method of signature <c>Action&lt;Index1D, ...&gt;</c> on this accelerator,
    /// compiled on first use and cached per method (one entry per generic instantiation).
    /// </summary>
    /// <typeparam name="TDelegate">The kernel's delegate type, <c>Action&lt;Index1D, T1, ..., Tn&gt;</c>.</typeparam>
    /// <param name="method">The kernel method.</param>
    public TDelegate Kernel<TDelegate>(TDelegate method) where TDelegate : Delegate
    {
        var mi = method.Method;
        return (TDelegate)_kernels.GetOrAdd(mi, m => LoadKernel(m, typeof(TDelegate)));
    }

    /// <summary>The kernel methods (generic instantiations included) this backend has compiled so far.</summary>
    internal IReadOnlyCollection<System.Reflection.MethodInfo> CompiledKernels => (IReadOnlyCollection<System.Reflection.MethodInfo>)_kernels.Keys;

    private Delegate LoadKernel(System.Reflection.MethodInfo m, Type delegateType)
    {
        // Action<Index1D, T1, ..., Tn> → Accelerator.LoadAutoGroupedStreamKernel<Index1D, T1, ..., Tn>(Action<...>)
        var args = delegateType.GetGenericArguments();
        var loader = typeof(KernelLoaders).GetMethods()
            .Single(x => x.Name == nameof(KernelLoaders.LoadAutoGroupedStreamKernel) && x.GetGenericArguments().Length == args.Length && x.GetParameters().Length == 2)
            .MakeGenericMethod(args);
        var action = Delegate.CreateDelegate(delegateType, m);
        return (Delegate)loader.Invoke(null, new object[] { Accelerator, action })!;
    }

    // ---------------------------------------------------------------- memory

    private IlgpuStorage Alloc(DType dtype, int length)
    {
        ReleasePending();
        long n = Math.Max(1, length);
        return dtype == DType.Float64
            ? new IlgpuStorage(this, Accelerator.Allocate1D<double>(n), length)
            : new IlgpuStorage(this, Accelerator.Allocate1D<float>(n), length);
    }

    private IlgpuStorage Dev(Storage s)
    {
        if (s is IlgpuStorage g && ReferenceEquals(g.Backend, this))
        {
            g.ThrowIfDisposed();
            return g;
        }
        throw new InvalidOperationException(
            $"The {Device?.Name ?? "ILGPU"} backend was given a tensor on device '{s.Device}'. Move it first (NTensor.To(device)).");
    }

    /// <inheritdoc/>
    public Storage Full(DType dtype, int length, double value)
    {
        var o = Alloc(dtype, length);
        if (length == 0) return o;
        if (dtype == DType.Float64) Kernel<Action<Index1D, ArrayView<double>, double>>(IlgpuKernels.Fill)(length, o.F64, value);
        else Kernel<Action<Index1D, ArrayView<float>, float>>(IlgpuKernels.Fill)(length, o.F32, (float)value);
        return o;
    }

    /// <inheritdoc/>
    public Storage FromHost(ReadOnlySpan<double> data, DType dtype)
    {
        var o = Alloc(dtype, data.Length);
        if (data.Length == 0) return o;
        if (dtype == DType.Float64) Upload(o.F64Buffer!.View, data.ToArray());
        else
        {
            var f = new float[data.Length];
            for (int i = 0; i < f.Length; i++) f[i] = (float)data[i];
            Upload(o.F32Buffer!.View, f);
        }
        return o;
    }

    /// <inheritdoc/>
    public Storage FromHost(ReadOnlySpan<float> data, DType dtype)
    {
        var o = Alloc(dtype, data.Length);
        if (data.Length == 0) return o;
        if (dtype == DType.Float32) Upload(o.F32Buffer!.View, data.ToArray());
        else
        {
            var d = new double[data.Length];
            for (int i = 0; i < d.Length; i++) d[i] = data[i];
            Upload(o.F64Buffer!.View, d);
        }
        return o;
    }

    /// <inheritdoc/>
    public void ToHost(Storage source, Span<double> destination)
    {
        var s = Dev(source);
        int n = s.Length;
        if (n == 0) return;
        Accelerator.Synchronize();
        if (s.DType == DType.Float64)
        {
            var a = new double[n];
            s.F64.SubView(0, n).CopyToCPU(a);
            Transfers.CountToHost(8L * n);
            a.AsSpan().CopyTo(destination);
        }
        else
        {
            var a = new float[n];
            s.F32.SubView(0, n).CopyToCPU(a);
            Transfers.CountToHost(4L * n);
            for (int i = 0; i < n; i++) destination[i] = a[i];
        }
    }

    /// <inheritdoc/>
    public Storage Cast(Storage x, DType dtype)
    {
        var s = Dev(x);
        if (s.DType == dtype) return s;
        var o = Alloc(dtype, s.Length);
        if (s.Length == 0) return o;
        if (dtype == DType.Float32) Kernel<Action<Index1D, ArrayView<double>, ArrayView<float>>>(IlgpuKernels.CastToF32)(s.Length, s.F64, o.F32);
        else Kernel<Action<Index1D, ArrayView<float>, ArrayView<double>>>(IlgpuKernels.CastToF64)(s.Length, s.F32, o.F64);
        return o;
    }

    // ---------------------------------------------------------------- elementwise

    /// <inheritdoc/>
    public Storage Unary(UnaryOp op, Storage x, double scalar) => op switch
    {
        UnaryOp.Neg => Unary<E.Neg>(x, scalar),
        UnaryOp.Abs => Unary<E.Abs>(x, scalar),
        UnaryOp.Sqrt => Unary<E.Sqrt>(x, scalar),
        UnaryOp.Exp => Unary<E.Exp>(x, scalar),
        UnaryOp.Log => Unary<E.Log>(x, scalar),
        UnaryOp.Sin => Unary<E.Sin>(x, scalar),
        UnaryOp.Cos => Unary<E.Cos>(x, scalar),
        UnaryOp.Tan => Unary<E.Tan>(x, scalar),
        UnaryOp.Tanh => Unary<E.Tanh>(x, scalar),
        UnaryOp.Sign => Unary<E.Sign>(x, scalar),
        UnaryOp.Square => Unary<E.Square>(x, scalar),
        UnaryOp.Reciprocal => Unary<E.Reciprocal>(x, scalar),
        UnaryOp.PowScalar => Unary<E.PowScalar>(x, scalar),
        UnaryOp.AddScalar => Unary<E.AddScalar>(x, scalar),
        UnaryOp.MulScalar => Unary<E.MulScalar>(x, scalar),
        UnaryOp.RSubScalar => Unary<E.RSubScalar>(x, scalar),
        UnaryOp.RDivScalar => Unary<E.RDivScalar>(x, scalar),
        UnaryOp.MaxScalar => Unary<E.MaxScalar>(x, scalar),
        UnaryOp.MinScalar => Unary<E.MinScalar>(x, scalar),
        UnaryOp.GtScalar => Unary<E.GtScalar>(x, scalar),
        UnaryOp.LtScalar => Unary<E.LtScalar>(x, scalar),
        _ => throw new NotSupportedException($"Unary op {op} has no ILGPU kernel."),
    };

    private Storage Unary<TOp>(Storage x, double s) where TOp : struct, IUnary<double>, IUnary<float>
    {
        var d = Dev(x);
        var o = Alloc(d.DType, d.Length);
        if (d.Length == 0) return o;
        if (d.DType == DType.Float64)
            Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>, double>>(IlgpuKernels.Unary<double, TOp>)(d.Length, d.F64, o.F64, s);
        else
            Kernel<Action<Index1D, ArrayView<float>, ArrayView<float>, float>>(IlgpuKernels.Unary<float, TOp>)(d.Length, d.F32, o.F32, (float)s);
        return o;
    }

    /// <inheritdoc/>
    public Storage Binary(BinaryOp op, Storage a, Storage b, BroadcastPlan plan) => op switch
    {
        BinaryOp.Add => Binary<E.Add>(a, b, plan),
        BinaryOp.Sub => Binary<E.Sub>(a, b, plan),
        BinaryOp.Mul => Binary<E.Mul>(a, b, plan),
        BinaryOp.Div => Binary<E.Div>(a, b, plan),
        BinaryOp.Pow => Binary<E.Pow>(a, b, plan),
        BinaryOp.Max => Binary<E.Max>(a, b, plan),
        BinaryOp.Min => Binary<E.Min>(a, b, plan),
        BinaryOp.Gt => Binary<E.Gt>(a, b, plan),
        BinaryOp.Ge => Binary<E.Ge>(a, b, plan),
        BinaryOp.Lt => Binary<E.Lt>(a, b, plan),
        BinaryOp.Le => Binary<E.Le>(a, b, plan),
        BinaryOp.Eq => Binary<E.Eq>(a, b, plan),
        _ => throw new NotSupportedException($"Binary op {op} has no ILGPU kernel."),
    };

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

    private Storage Binary<TOp>(Storage a, Storage b, BroadcastPlan plan) where TOp : struct, IBinary<double>, IBinary<float>
    {
        var da = Dev(a);
        var db = Dev(b);
        var o = Alloc(da.DType, plan.Length);
        if (plan.Length == 0) return o;
        bool contiguous = IsContiguous(plan.Strides[0], plan.OutShape) && IsContiguous(plan.Strides[1], plan.OutShape);
        if (da.DType == DType.Float64)
        {
            if (contiguous)
                Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>>>(IlgpuKernels.BinaryContiguous<double, TOp>)(plan.Length, da.F64, db.F64, o.F64);
            else
                Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, StridePack>>(IlgpuKernels.BinaryStrided<double, TOp>)(
                    plan.Length, da.F64, db.F64, o.F64, StridePack.Create(plan.OutShape, plan.Strides[0], plan.Strides[1]));
        }
        else
        {
            if (contiguous)
                Kernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>>(IlgpuKernels.BinaryContiguous<float, TOp>)(plan.Length, da.F32, db.F32, o.F32);
            else
                Kernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, StridePack>>(IlgpuKernels.BinaryStrided<float, TOp>)(
                    plan.Length, da.F32, db.F32, o.F32, StridePack.Create(plan.OutShape, plan.Strides[0], plan.Strides[1]));
        }
        return o;
    }

    /// <inheritdoc/>
    public Storage Where(Storage cond, Storage a, Storage b, BroadcastPlan plan)
    {
        var da = Dev(a);
        var db = Dev(b);
        var dcOwn = Dev(cond);
        var dc = dcOwn.DType == da.DType ? dcOwn : (IlgpuStorage)Cast(dcOwn, da.DType);
        var o = Alloc(da.DType, plan.Length);
        if (plan.Length > 0)
        {
            var p = StridePack.Create(plan.OutShape, plan.Strides[0], plan.Strides[1], plan.Strides[2]);
            if (da.DType == DType.Float64)
                Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, StridePack>>(IlgpuKernels.WhereF64)(
                    plan.Length, dc.F64, da.F64, db.F64, o.F64, p);
            else
                Kernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, StridePack>>(IlgpuKernels.WhereF32)(
                    plan.Length, dc.F32, da.F32, db.F32, o.F32, p);
        }
        if (!ReferenceEquals(dc, dcOwn))
        {
            Accelerator.Synchronize();
            dc.Dispose();
        }
        return o;
    }

    // ---------------------------------------------------------------- reductions

    /// <inheritdoc/>
    public Storage Reduce(ReduceOp op, Storage x, int outer, int axis, int inner)
    {
        var d = Dev(x);
        int code = (int)op;
        var o = Alloc(d.DType, outer * inner);
        if (outer * inner == 0) return o;
        if (outer == 1 && inner == 1)
        {
            // Same fixed chunks as CpuBackend, so the summation order (and result) is the same.
            int n = d.Length;
            int chunks = Math.Max(1, Math.Min(64, n / CpuBackend.ParallelThreshold));
            using var partial = Accelerator.Allocate1D<double>(chunks);
            if (d.DType == DType.Float64)
            {
                Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>, int, int, int>>(IlgpuKernels.ReduceChunksF64)(chunks, d.F64, partial.View, code, n, chunks);
                Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>, int, int>>(IlgpuKernels.CombineChunksF64)(1, partial.View, o.F64, code, chunks);
            }
            else
            {
                Kernel<Action<Index1D, ArrayView<float>, ArrayView<double>, int, int, int>>(IlgpuKernels.ReduceChunksF32)(chunks, d.F32, partial.View, code, n, chunks);
                Kernel<Action<Index1D, ArrayView<double>, ArrayView<float>, int, int>>(IlgpuKernels.CombineChunksF32)(1, partial.View, o.F32, code, chunks);
            }
            Accelerator.Synchronize();
            return o;
        }
        if (d.DType == DType.Float64)
            Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>, int, int, int>>(IlgpuKernels.ReduceAxisF64)(outer * inner, d.F64, o.F64, code, axis, inner);
        else
            Kernel<Action<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>>(IlgpuKernels.ReduceAxisF32)(outer * inner, d.F32, o.F32, code, axis, inner);
        return o;
    }

    /// <inheritdoc/>
    public double[] StepErrorSums(Storage error, Storage y, Storage y1, Storage? atolVector, double rtol, double atol, int members)
    {
        var (e, a, b) = (Dev(error), Dev(y), Dev(y1));
        var v = atolVector is null ? null : Dev(atolVector);
        int n = e.Length / members, chunks = StepError.Chunks(n);
        using var partial = Accelerator.Allocate1D<double>(members * chunks);
        using var sums = Accelerator.Allocate1D<double>(members);
        if (e.DType == DType.Float64)
            Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, double, double, int, int, ArrayView<double>>>(IlgpuKernels.StepErrorChunks<double, WidenF64>)(
                members * chunks, e.F64, a.F64, b.F64, (v ?? e).F64, v is null ? 0 : 1, atol, rtol, n, chunks, partial.View);
        else
            Kernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, double, double, int, int, ArrayView<double>>>(IlgpuKernels.StepErrorChunks<float, WidenF32>)(
                members * chunks, e.F32, a.F32, b.F32, (v ?? e).F32, v is null ? 0 : 1, atol, rtol, n, chunks, partial.View);
        Kernel<Action<Index1D, ArrayView<double>, int, ArrayView<double>>>(IlgpuKernels.StepErrorCombine)(members, partial.View, chunks, sums.View);
        Accelerator.Synchronize();
        var host = new double[members];
        sums.View.CopyToCPU(host);
        Transfers.CountToHost(8L * members);
        return host;
    }

    // ---------------------------------------------------------------- data movement

    /// <inheritdoc/>
    public Storage Gather(Storage x, int offset, int[] strides, int[] outShape)
    {
        var d = Dev(x);
        int n = Shapes.Product(outShape);
        var o = Alloc(d.DType, n);
        if (n == 0) return o;
        var p = StridePack.Create(outShape, strides);
        if (d.DType == DType.Float64)
            Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>, int, StridePack>>(IlgpuKernels.Gather)(n, d.F64, o.F64, offset, p);
        else
            Kernel<Action<Index1D, ArrayView<float>, ArrayView<float>, int, StridePack>>(IlgpuKernels.Gather)(n, d.F32, o.F32, offset, p);
        return o;
    }

    /// <inheritdoc/>
    public Storage ScatterAdd(Storage src, int[] srcShape, int targetLength, int offset, int[] strides)
    {
        var d = Dev(src);
        var o = (IlgpuStorage)Full(d.DType, targetLength, 0);
        int n = d.Length;
        if (n == 0) return o;
        var p = StridePack.Create(srcShape, strides);
        bool overlapping = Array.Exists(strides, s => s == 0);
        if (d.DType == DType.Float64)
        {
            if (overlapping)
                Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>, int, StridePack, int>>(IlgpuKernels.ScatterSerial<double, E.Add>)(1, d.F64, o.F64, offset, p, n);
            else
                Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>, int, StridePack>>(IlgpuKernels.ScatterDisjoint<double, E.Add>)(n, d.F64, o.F64, offset, p);
        }
        else
        {
            if (overlapping)
                Kernel<Action<Index1D, ArrayView<float>, ArrayView<float>, int, StridePack, int>>(IlgpuKernels.ScatterSerial<float, E.Add>)(1, d.F32, o.F32, offset, p, n);
            else
                Kernel<Action<Index1D, ArrayView<float>, ArrayView<float>, int, StridePack>>(IlgpuKernels.ScatterDisjoint<float, E.Add>)(n, d.F32, o.F32, offset, p);
        }
        return o;
    }

    /// <inheritdoc/>
    public Storage DotLast(Storage a, Storage b, int outer, int inner)
    {
        var da = Dev(a);
        var db = Dev(b);
        var o = Alloc(da.DType, outer);
        if (outer == 0) return o;
        if (da.DType == DType.Float64)
            Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, int>>(IlgpuKernels.DotLast<double, E.Add, E.Mul>)(outer, da.F64, db.F64, o.F64, inner);
        else
            Kernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>>(IlgpuKernels.DotLast<float, E.Add, E.Mul>)(outer, da.F32, db.F32, o.F32, inner);
        return o;
    }

    /// <inheritdoc/>
    public Storage CrossLast(Storage a, Storage b, int count)
    {
        var da = Dev(a);
        var db = Dev(b);
        var o = Alloc(da.DType, 3 * count);
        if (count == 0) return o;
        if (da.DType == DType.Float64)
            Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>>>(IlgpuKernels.CrossLast<double, E.Sub, E.Mul>)(count, da.F64, db.F64, o.F64);
        else
            Kernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>>(IlgpuKernels.CrossLast<float, E.Sub, E.Mul>)(count, da.F32, db.F32, o.F32);
        return o;
    }

    /// <inheritdoc/>
    public Storage Concat(Storage[] parts)
    {
        long total = 0;
        foreach (var part in parts) total += part.Length;
        if (total > int.MaxValue) throw new ArgumentException($"Concat: {total} elements exceed 2^31-1.", nameof(parts));
        var o = Alloc(Dev(parts[0]).DType, (int)total);
        int at = 0;
        foreach (var part in parts)
        {
            var d = Dev(part);
            if (d.Length > 0)
            {
                if (o.DType == DType.Float64) d.F64.SubView(0, d.Length).CopyTo(o.F64.SubView(at, d.Length));
                else d.F32.SubView(0, d.Length).CopyTo(o.F32.SubView(at, d.Length));
            }
            at += d.Length;
        }
        return o;
    }

    /// <inheritdoc/>
    public Storage LinearCombination(Storage[] terms, double[] coefficients)
    {
        var o = Dev(Unary(UnaryOp.MulScalar, terms[0], coefficients[0]));
        int n = o.Length;
        if (n == 0) return o;
        for (int j = 1; j < terms.Length; j++)
        {
            var x = Dev(terms[j]);
            if (o.DType == DType.Float64)
                Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>, double>>(IlgpuKernels.AddScaledInPlace<double, E.Add, E.Mul>)(n, x.F64, o.F64, coefficients[j]);
            else
                Kernel<Action<Index1D, ArrayView<float>, ArrayView<float>, float>>(IlgpuKernels.AddScaledInPlace<float, E.Add, E.Mul>)(n, x.F32, o.F32, (float)coefficients[j]);
        }
        return o;
    }

    /// <inheritdoc/>
    public Storage LinearCombination(Storage[] terms, double[] coefficients, int members)
    {
        var first = Dev(terms[0]);
        var o = Alloc(first.DType, first.Length);
        int n = first.Length / members;
        if (n == 0) return o;
        // One launch per member and term on the member's block, the single-member arithmetic (o = x_0 c_0, o += x_j c_j).
        for (int b = 0; b < members; b++)
            for (int j = 0; j < terms.Length; j++)
            {
                var x = Dev(terms[j]);
                double c = coefficients[b * terms.Length + j];
                if (o.DType == DType.Float64)
                {
                    var xv = x.F64.SubView(b * n, n);
                    var ov = o.F64.SubView(b * n, n);
                    if (j == 0) Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>, double>>(IlgpuKernels.Unary<double, E.MulScalar>)(n, xv, ov, c);
                    else Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>, double>>(IlgpuKernels.AddScaledInPlace<double, E.Add, E.Mul>)(n, xv, ov, c);
                }
                else
                {
                    var xv = x.F32.SubView(b * n, n);
                    var ov = o.F32.SubView(b * n, n);
                    if (j == 0) Kernel<Action<Index1D, ArrayView<float>, ArrayView<float>, float>>(IlgpuKernels.Unary<float, E.MulScalar>)(n, xv, ov, (float)c);
                    else Kernel<Action<Index1D, ArrayView<float>, ArrayView<float>, float>>(IlgpuKernels.AddScaledInPlace<float, E.Add, E.Mul>)(n, xv, ov, (float)c);
                }
            }
        return o;
    }

    /// <inheritdoc/>
    public Storage CrossPair(Storage a, Storage b, Storage p, Storage q, int count)
    {
        var da = Dev(a);
        var db = Dev(b);
        var dp = Dev(p);
        var dq = Dev(q);
        var o = Alloc(da.DType, 3 * count);
        if (count == 0) return o;
        var (ps, pc) = CpuBackend.CoefficientStrides(dp.Length, count);
        var (qs, qc) = CpuBackend.CoefficientStrides(dq.Length, count);
        if (da.DType == DType.Float64)
            Kernel<Action<Index1D, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, ArrayView<double>, int, int, int, int>>(IlgpuKernels.CrossPair<double, E.Sub, E.Mul>)(count, da.F64, db.F64, dp.F64, dq.F64, o.F64, ps, pc, qs, qc);
        else
            Kernel<Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>>(IlgpuKernels.CrossPair<float, E.Sub, E.Mul>)(count, da.F32, db.F32, dp.F32, dq.F32, o.F32, ps, pc, qs, qc);
        return o;
    }
}
