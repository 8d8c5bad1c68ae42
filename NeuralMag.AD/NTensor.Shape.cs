namespace NeuralMag.AD;

/// <summary>One entry of an index expression: a single position (drops the axis) or a range (keeps it).</summary>
public readonly struct Ix
{
    private Ix(int? index, Range range, int step)
    {
        Position = index;
        Range = range;
        Step = step;
    }

    internal int? Position { get; }
    internal Range Range { get; }
    internal int Step { get; }

    /// <summary>The whole axis (Python's <c>:</c>).</summary>
    public static Ix All => new(null, Range.All, 1);

    /// <summary>start:stop:step along one axis (negative start/stop count from the end).</summary>
    public static Ix Slice(int? start = null, int? stop = null, int step = 1)
    {
        if (step < 1) throw new ArgumentException($"Slice step must be positive, got {step}.");
        var s = start is { } a ? (a < 0 ? System.Index.FromEnd(-a) : System.Index.FromStart(a)) : System.Index.Start;
        var e = stop is { } b ? (b < 0 ? System.Index.FromEnd(-b) : System.Index.FromStart(b)) : System.Index.End;
        return new Ix(null, new Range(s, e), step);
    }

    /// <summary>A single position (negative counts from the end); the axis is dropped.</summary>
    public static implicit operator Ix(int i) => new(i, default, 1);
    /// <summary>A range with step 1; the axis is kept.</summary>
    public static implicit operator Ix(Range r) => new(null, r, 1);
    /// <summary>A single position; ^k counts from the end (^0 is out of range).</summary>
    public static implicit operator Ix(Index i) => !i.IsFromEnd ? new Ix(i.Value, default, 1)
        : i.Value == 0 ? throw new IndexOutOfRangeException("Index ^0 points past the end of the axis; the last position is ^1.")
        : new Ix(-i.Value, default, 1);
}

// Shape manipulation, indexing and reductions.
public sealed partial class NTensor
{
    /// <summary>The same values in another shape (no copy); one entry may be -1.</summary>
    public NTensor Reshape(params int[] shape)
    {
        shape = (int[])shape.Clone();
        int infer = Array.IndexOf(shape, -1);
        if (infer >= 0)
        {
            int rest = 1;
            for (int i = 0; i < shape.Length; i++) if (i != infer) rest *= shape[i];
            if (rest == 0 || Size % rest != 0) throw new ArgumentException($"Cannot reshape {Shapes.Format(_shape)} into {Shapes.Format(shape)}.");
            shape[infer] = Size / rest;
        }
        if (Shapes.Product(shape) != Size)
            throw new ArgumentException($"Cannot reshape {Shapes.Format(_shape)} ({Size} elements) into {Shapes.Format(shape)}.");
        var from = _shape;
        return Record1(new NTensor(Storage, shape), this, g => g.Reshape(from));
    }

    /// <summary>Inserts an axis of length 1.</summary>
    public NTensor Unsqueeze(int axis)
    {
        int a = axis < 0 ? axis + Rank + 1 : axis;
        if (a < 0 || a > Rank) throw new ArgumentOutOfRangeException(nameof(axis), $"Unsqueeze axis {axis} is out of range for rank {Rank}.");
        var s = _shape.ToList();
        s.Insert(a, 1);
        return Reshape(s.ToArray());
    }

    /// <summary>Removes an axis of length 1.</summary>
    public NTensor Squeeze(int axis)
    {
        int a = Shapes.Axis(axis, Rank);
        if (_shape[a] != 1) throw new ArgumentException($"Squeeze: axis {axis} has length {_shape[a]}, not 1.");
        var s = _shape.ToList();
        s.RemoveAt(a);
        return Reshape(s.ToArray());
    }

    /// <summary>Broadcasts to a larger shape (materialized copy), as torch's expand / numpy's broadcast_to.</summary>
    public NTensor Expand(params int[] shape)
    {
        var target = Shapes.Broadcast(_shape, shape);
        if (!Shapes.Equal(target, shape))
            throw new ArgumentException($"Cannot expand shape {Shapes.Format(_shape)} to {Shapes.Format(shape)}.");
        if (Shapes.Equal(shape, _shape)) return this;
        var y = new NTensor(Device.Backend.Gather(Storage, 0, Shapes.BroadcastStrides(_shape, shape), shape), shape);
        var from = _shape;
        return Record1(y, this, g => g.SumToShape(from));
    }

    /// <summary>Sums a broadcast result back to <paramref name="shape"/> (the adjoint of broadcasting).</summary>
    public NTensor SumToShape(int[] shape)
    {
        if (Shapes.Equal(shape, _shape)) return this;
        var x = this;
        int lead = Rank - shape.Length;
        if (lead < 0) throw new ArgumentException($"Cannot sum shape {Shapes.Format(_shape)} to the larger rank of {Shapes.Format(shape)}.");
        for (int i = 0; i < lead; i++) x = x.Sum(0);
        for (int i = 0; i < shape.Length; i++)
            if (shape[i] == 1 && x._shape[i] != 1) x = x.Sum(i, keepDims: true);
        if (!Shapes.Equal(shape, x._shape))
            throw new ArgumentException($"Cannot sum shape {Shapes.Format(_shape)} to {Shapes.Format(shape)}.");
        return x;
    }

    /// <summary>Reorders the axes: result axis i is input axis <paramref name="axes"/>[i].</summary>
    public NTensor Permute(params int[] axes)
    {
        if (axes.Length != Rank || axes.Distinct().Count() != Rank)
            throw new ArgumentException($"Permute needs each of the {Rank} axes once; got ({string.Join(", ", axes)}).");
        var st = Shapes.Strides(_shape);
        var shape = new int[Rank];
        var strides = new int[Rank];
        var inverse = new int[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int a = Shapes.Axis(axes[i], Rank);
            shape[i] = _shape[a];
            strides[i] = st[a];
            inverse[a] = i;
        }
        var y = new NTensor(Device.Backend.Gather(Storage, 0, strides, shape), shape);
        return Record1(y, this, g => g.Permute(inverse));
    }

    // ---------------------------------------------------------------- indexing

    /// <summary>
    /// NumPy-style basic indexing: an int selects one position and drops the axis (<c>h[10, 10, 12, 2]</c> is a 0-d
    /// tensor), a range keeps it (<c>m[.., 0..2]</c>); missing trailing axes are taken whole.
    /// </summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public NTensor this[params Ix[] index] => Index(index);

    private NTensor Index(Ix[] index)
    {
        if (index.Length > Rank)
            throw new ArgumentException($"Too many indices ({index.Length}) for a tensor of rank {Rank}, shape {Shapes.Format(_shape)}.");
        var st = Shapes.Strides(_shape);
        int offset = 0;
        var shape = new List<int>();
        var strides = new List<int>();
        for (int ax = 0; ax < Rank; ax++)
        {
            var ix = ax < index.Length ? index[ax] : Ix.All;
            int n = _shape[ax];
            if (ix.Position is { } i)
            {
                int p = i < 0 ? i + n : i;
                if (p < 0 || p >= n)
                    throw new IndexOutOfRangeException($"Index {i} is out of range for axis {ax} of length {n} (shape {Shapes.Format(_shape)}).");
                offset += p * st[ax];
            }
            else
            {
                int s = ix.Range.Start.GetOffset(n), e = ix.Range.End.GetOffset(n);
                s = Math.Clamp(s, 0, n);
                e = Math.Clamp(e, s, n);
                int len = (e - s + ix.Step - 1) / ix.Step;
                offset += s * st[ax];
                shape.Add(len);
                strides.Add(st[ax] * ix.Step);
            }
        }
        var outShape = shape.ToArray();
        var outStrides = strides.ToArray();
        var y = new NTensor(Device.Backend.Gather(Storage, offset, outStrides, outShape), outShape);
        int size = Size;
        var from = _shape;
        return Record1(y, this, g => new NTensor(g.Device.Backend.ScatterAdd(g.Storage, outShape, size, offset, outStrides), from));
    }

    /// <summary>Values [start, stop) with a step along one axis.</summary>
    public NTensor Slice(int axis, int start, int stop, int step = 1)
    {
        int a = Shapes.Axis(axis, Rank);
        var idx = Enumerable.Repeat(Ix.All, a + 1).ToArray();
        idx[a] = Ix.Slice(start, stop, step);
        return Index(idx);
    }

    /// <summary>
    /// A copy with the indexed region replaced by <paramref name="value"/> (broadcast to the region), differentiable
    /// in both: the functional form of <c>x[idx] = value</c>.
    /// </summary>
    public NTensor IndexPut(Ix[] index, NTensor value)
    {
        var region = Index(index);
        var v = value.Cast(DType).Expand(region._shape);
        return this - Scatter(region, index) + Scatter(v, index);
    }

    /// <summary>Zeros of this tensor's shape with src placed at the region selected by index.</summary>
    private NTensor Scatter(NTensor src, Ix[] index)
    {
        // Build the region's embedding by taking the VJP of indexing: it is exactly a scatter.
        var st = Shapes.Strides(_shape);
        int offset = 0;
        var strides = new List<int>();
        for (int ax = 0; ax < Rank; ax++)
        {
            var ix = ax < index.Length ? index[ax] : Ix.All;
            int n = _shape[ax];
            if (ix.Position is { } i) offset += (i < 0 ? i + n : i) * st[ax];
            else
            {
                offset += Math.Clamp(ix.Range.Start.GetOffset(n), 0, n) * st[ax];
                strides.Add(st[ax] * ix.Step);
            }
        }
        var srcShape = src._shape;
        var outStrides = strides.ToArray();
        int size = Size;
        var from = _shape;
        var y = new NTensor(Device.Backend.ScatterAdd(src.Storage, srcShape, size, offset, outStrides), from);
        return Record1(y, src, g => new NTensor(g.Device.Backend.Gather(g.Storage, offset, outStrides, srcShape), srcShape));
    }

    /// <summary>Joins tensors along an existing axis.</summary>
    public static NTensor Concat(int axis, params NTensor[] parts)
    {
        if (parts.Length == 0) throw new ArgumentException("Concat needs at least one tensor.");
        var first = parts[0];
        int a = Shapes.Axis(axis, first.Rank);
        int total = 0;
        foreach (var p in parts)
        {
            CheckCompatible(first, p, "Concat");
            for (int k = 0; k < first.Rank; k++)
                if (p.Rank != first.Rank || (k != a && p._shape[k] != first._shape[k]))
                    throw new ArgumentException($"Concat along axis {axis}: shapes {Shapes.Format(first._shape)} and {Shapes.Format(p._shape)} differ off that axis.");
            total += p._shape[a];
        }
        var shape = (int[])first._shape.Clone();
        shape[a] = total;
        if (a == 0) return ConcatLeading(parts, shape);
        NTensor? result = null;
        var proto = Zeros(shape, first.DType, first.Device);
        int start = 0;
        foreach (var p in parts)
        {
            var idx = Enumerable.Repeat(Ix.All, a + 1).ToArray();
            idx[a] = start..(start + p._shape[a]);
            var placed = proto.Scatter(p, idx);
            result = result == null ? placed : result + placed;
            start += p._shape[a];
        }
        return result!;
    }

    /// <summary>The leading-axis join: the parts' storages one after another; the VJP hands each part its block of g.</summary>
    private static NTensor ConcatLeading(NTensor[] parts, int[] shape)
    {
        var y = new NTensor(parts[0].Device.Backend.Concat(parts.Select(p => p.Storage).ToArray()), shape);
        if (!Tape.IsRecording(parts)) return y;
        return Tape.Record(y, parts, g =>
        {
            var grads = new NTensor?[parts.Length];
            int start = 0;
            for (int i = 0; i < parts.Length; i++)
            {
                int n = parts[i]._shape[0];
                grads[i] = g.Slice(0, start, start + n);
                start += n;
            }
            return grads;
        });
    }

    /// <summary>Joins equally shaped tensors along a new axis.</summary>
    public static NTensor Stack(int axis, params NTensor[] parts)
    {
        if (parts.Length == 0) throw new ArgumentException("Stack needs at least one tensor.");
        int a = axis < 0 ? axis + parts[0].Rank + 1 : axis;
        return Concat(a, parts.Select(p => p.Unsqueeze(a)).ToArray());
    }

    // ---------------------------------------------------------------- reductions

    private NTensor ReduceRaw(ReduceOp op, int axis, bool keepDims)
    {
        int a = Shapes.Axis(axis, Rank);
        int outer = 1, inner = 1;
        for (int i = 0; i < a; i++) outer *= _shape[i];
        for (int i = a + 1; i < Rank; i++) inner *= _shape[i];
        var shape = _shape.ToList();
        if (keepDims) shape[a] = 1;
        else shape.RemoveAt(a);
        return new NTensor(Device.Backend.Reduce(op, Storage, outer, _shape[a], inner), shape.ToArray());
    }

    private NTensor ReduceAllRaw(ReduceOp op) =>
        new(Device.Backend.Reduce(op, Storage, 1, Size, 1), Array.Empty<int>());

    /// <summary>Sum of all values (a 0-d tensor).</summary>
    public NTensor Sum()
    {
        var from = _shape;
        return Record1(ReduceAllRaw(ReduceOp.Sum), this, g => g.Expand(from));
    }

    /// <summary>Sum along one axis.</summary>
    public NTensor Sum(int axis, bool keepDims = false)
    {
        int a = Shapes.Axis(axis, Rank);
        var from = _shape;
        var kept = (int[])_shape.Clone();
        kept[a] = 1;
        return Record1(ReduceRaw(ReduceOp.Sum, a, keepDims), this, g => g.Reshape(kept).Expand(from));
    }

    /// <summary>Mean of all elements (0-d); an empty tensor gives 0.</summary>
    public NTensor Mean() => Sum() / Math.Max(Size, 1);

    /// <summary>Mean along one axis.</summary>
    public NTensor Mean(int axis, bool keepDims = false) => Sum(axis, keepDims) / _shape[Shapes.Axis(axis, Rank)];

    /// <summary>Largest value; the gradient is shared among ties.</summary>
    public NTensor Max() => Extremum(ReduceOp.Max);

    /// <summary>Smallest value; the gradient is shared among ties.</summary>
    public NTensor Min() => Extremum(ReduceOp.Min);

    /// <summary>Largest value along one axis; the gradient is shared among ties.</summary>
    public NTensor Max(int axis, bool keepDims = false) => Extremum(ReduceOp.Max, axis, keepDims);

    /// <summary>Smallest value along one axis; the gradient is shared among ties.</summary>
    public NTensor Min(int axis, bool keepDims = false) => Extremum(ReduceOp.Min, axis, keepDims);

    private NTensor Extremum(ReduceOp op)
    {
        var x = this;
        var y = ReduceAllRaw(op);
        return Record1(y, x, g =>
        {
            var mask = BinaryRaw(BinaryOp.Eq, x, y, "Max");
            return g * mask / mask.ReduceAllRaw(ReduceOp.Sum);
        });
    }

    private NTensor Extremum(ReduceOp op, int axis, bool keepDims)
    {
        var x = this;
        int a = Shapes.Axis(axis, Rank);
        var y = ReduceRaw(op, a, keepDims);
        var kept = (int[])_shape.Clone();
        kept[a] = 1;
        return Record1(y, x, g =>
        {
            var mask = BinaryRaw(BinaryOp.Eq, x, y.Reshape(kept), "Max");
            return g.Reshape(kept) * mask / mask.ReduceRaw(ReduceOp.Sum, a, true);
        });
    }
}
