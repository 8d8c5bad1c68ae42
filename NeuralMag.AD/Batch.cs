namespace NeuralMag.AD;

/// <summary>
/// The batch axis: B independent members on one mesh carry a leading axis of length B. A tensor of an operator is
/// either member-shaped (shared by every member, e.g. one Ms for all) or [B] + member shape (one value per member);
/// a per-member value may also have size-1 member axes that broadcast, e.g. [B, 1, 1, 1] for one scalar per member on
/// the cells or [B, 3] for one vector per member. Operators run member by member (member b is the contiguous block b
/// of a batched tensor), so member b of a batched result equals the result of member b alone.
/// </summary>
public static class Batch
{
    /// <summary>
    /// The members of <paramref name="t"/> read against <paramref name="memberShape"/>: 0 when t has the member shape
    /// itself or broadcasts to it without a leading batch axis (shared), B when t is [B] + a shape that broadcasts to
    /// the member shape. With <paramref name="members"/> &gt; 0 a batched t must have exactly that many members.
    /// </summary>
    /// <exception cref="ArgumentException">t fits neither form; the message names <paramref name="what"/>.</exception>
    public static int Members(NTensor t, int[] memberShape, string what, int members = 0)
    {
        ArgumentNullException.ThrowIfNull(t);
        ArgumentNullException.ThrowIfNull(memberShape);
        var shape = t.GetShape();
        if (shape.Length <= memberShape.Length && BroadcastsTo(shape, memberShape)) return 0;
        if (shape.Length == memberShape.Length + 1 && BroadcastsTo(shape.AsSpan(1), memberShape) && shape[0] >= 1)
        {
            if (members > 0 && shape[0] != members)
                throw new ArgumentException($"'{what}' has {shape[0]} members (shape {Shapes.Format(shape)}), the batch has {members}; give one value per member or a shared value of shape {Shapes.Format(memberShape)}.", what);
            return shape[0];
        }
        throw new ArgumentException($"'{what}' has shape {Shapes.Format(shape)}; expected the member shape {Shapes.Format(memberShape)} (shared)" +
                                    $" or [B] + that shape (one value per member){(members > 0 ? $", B = {members}" : "")}.", what);
    }

    /// <summary>
    /// <paramref name="t"/> as a full tensor: the member shape when shared (<paramref name="members"/> = 0), [B] + the
    /// member shape when batched. Size-1 axes are expanded (no copy when t already has the full shape).
    /// </summary>
    public static NTensor Full(NTensor t, int[] memberShape, int members)
    {
        ArgumentNullException.ThrowIfNull(t);
        var target = members == 0 ? memberShape : Prepend(members, memberShape);
        return Shapes.Equal(t.GetShape(), target) ? t : t.Expand(target);
    }

    /// <summary>[B] + shape.</summary>
    public static int[] Prepend(int members, int[] shape)
    {
        var s = new int[shape.Length + 1];
        s[0] = members;
        shape.CopyTo(s, 1);
        return s;
    }

    /// <summary>
    /// The shape of a per-member scalar that broadcasts against [B] + member shape of the given rank: [B, 1, …, 1]
    /// (e.g. a per-member step size or mask against a batch of nodal vector fields).
    /// </summary>
    public static int[] MemberScalarShape(int members, int memberRank)
    {
        var s = new int[memberRank + 1];
        Array.Fill(s, 1);
        s[0] = members;
        return s;
    }

    /// <summary>
    /// Runs an operator member by member and stacks the results along a new leading axis: member b gets, for each
    /// argument i, its block b expanded to <paramref name="memberShapes"/>[i] when the argument is batched, or the
    /// argument itself when it is shared (or when memberShapes[i] is null: never batched). <paramref name="member"/>(b,
    /// args) computes member b alone, so member b of the result equals the unbatched result. Differentiable through the
    /// tape like the member operator (the blocks and the join are recorded). Without a recording tape and with
    /// <paramref name="parallel"/>, members run concurrently (each member's operator must then be its own, e.g. one
    /// operator instance per member; the tape is per thread, so nothing records on the workers).
    /// </summary>
    /// <param name="members">B, at least 1.</param>
    /// <param name="args">The operator's arguments.</param>
    /// <param name="memberShapes">Per argument, its member shape, or null for an argument without a batch axis.</param>
    /// <param name="member">Computes one member from its arguments.</param>
    /// <param name="parallel">Run members concurrently when nothing records.</param>
    /// <param name="memo">
    /// Optional: the operator's memo of its members' last arguments and results. Off the tape, a member whose
    /// arguments equal its last ones bit for bit takes its last result instead of running again (see
    /// <see cref="MemberMemo"/>).
    /// </param>
    public static NTensor Map(int members, IReadOnlyList<NTensor> args, IReadOnlyList<int[]?> memberShapes, Func<int, NTensor[], NTensor> member, bool parallel = false, MemberMemo? memo = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(memberShapes);
        ArgumentNullException.ThrowIfNull(member);
        if (members < 1) throw new ArgumentOutOfRangeException(nameof(members), members, "A batch has at least one member.");
        if (memberShapes.Count != args.Count) throw new ArgumentException($"Batch.Map: {memberShapes.Count} member shapes for {args.Count} arguments; give one per argument (null: no batch axis).", nameof(memberShapes));
        var batched = new bool[args.Count];
        for (int i = 0; i < args.Count; i++)
            batched[i] = memberShapes[i] is { } ms && Members(args[i], ms, $"argument {i}", members) > 0;
        NTensor[] ArgsOf(int b)
        {
            var a = new NTensor[args.Count];
            for (int i = 0; i < a.Length; i++)
                a[i] = batched[i] ? Full(Squeeze0(args[i].Slice(0, b, b + 1)), memberShapes[i]!, 0) : args[i];
            return a;
        }
        var results = new NTensor[members];
        var arr = args as NTensor[] ?? args.ToArray();
        bool recording = Tape.IsRecording(arr);
        if (recording) memo = null;
        memo?.Prepare(members);
        NTensor Run(int b)
        {
            var a = ArgsOf(b);
            if (memo?.Lookup(b, a) is { } last) return last;
            var r = member(b, a);
            memo?.Store(b, a, r);
            return r;
        }
        if (parallel && members > 1 && !recording)
            Parallel.For(0, members, b => results[b] = Run(b));
        else
            for (int b = 0; b < members; b++) results[b] = Run(b);
        return NTensor.Stack(0, results);
    }

    private static NTensor Squeeze0(NTensor t) => t.Squeeze(0);

    /// <summary>
    /// The sum of each member's block of <paramref name="x"/> ([B, ...]), one tensor of shape [B] in x's dtype: one
    /// row reduction when a member's block is below the CPU backend's parallel grain (each row is then summed by the
    /// very loop that sums a member alone, so on the CPU every value equals <c>member.Sum()</c> bit for bit), member by
    /// member above it (where a lone sum splits into parallel chunks).
    /// </summary>
    public static NTensor MemberSums(NTensor x, int members)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (members < 1 || x.Rank == 0 || x.GetShape()[0] != members)
            throw new ArgumentException($"MemberSums: x has shape {Shapes.Format(x.GetShape())}; expected a leading axis of {members} members.", nameof(x));
        int n = x.Size / members;
        if (n < 2 * CpuBackend.ParallelThreshold) return x.Reshape(members, n).Sum(1);
        return NTensor.Stack(0, Enumerable.Range(0, members).Select(b => x.Slice(0, b, b + 1).Sum()).ToArray());
    }

    /// <summary>The mean of each member's block (<see cref="MemberSums"/> divided by the block's size, as <c>member.Mean()</c>).</summary>
    public static NTensor MemberMeans(NTensor x, int members) => MemberSums(x, members) / Math.Max(x.Size / members, 1);

    private static bool BroadcastsTo(ReadOnlySpan<int> shape, int[] target)
    {
        if (shape.Length > target.Length) return false;
        int off = target.Length - shape.Length;
        for (int i = 0; i < shape.Length; i++)
            if (shape[i] != 1 && shape[i] != target[off + i]) return false;
        return true;
    }
}

/// <summary>
/// An operator's memo over the members of a batch: member b's last arguments and result. A member whose arguments are
/// bit for bit those of its last evaluation (a converged member of a batched relaxation or minimization, a member that
/// reached the end of its interval while others go on) takes its last result again instead of being computed: the
/// operators are deterministic, so the result is the one a new evaluation would give. Holds only references to
/// immutable tensors (host tensors; arguments on a device are never matched). Used off the tape only. One memo belongs
/// to one operator; members are read and written from one thread each.
/// </summary>
public sealed class MemberMemo
{
    private NTensor[]?[] _args = Array.Empty<NTensor[]?>();
    private NTensor?[] _results = Array.Empty<NTensor?>();
    private long _reused;

    /// <summary>Members served from the memo since it was made.</summary>
    public long Reused => Interlocked.Read(ref _reused);

    /// <summary>Sizes the memo for a batch of <paramref name="members"/> (clears it when the size changes).</summary>
    internal void Prepare(int members)
    {
        if (_results.Length == members) return;
        _args = new NTensor[]?[members];
        _results = new NTensor?[members];
    }

    /// <summary>Member b's last result when <paramref name="args"/> equal its last arguments bit for bit; else null.</summary>
    internal NTensor? Lookup(int b, NTensor[] args)
    {
        if (_args[b] is not { } last || _results[b] is not { } result || last.Length != args.Length) return null;
        for (int i = 0; i < args.Length; i++)
            if (!SameBits(last[i], args[i])) return null;
        Interlocked.Increment(ref _reused);
        return result;
    }

    /// <summary>Keeps member b's arguments and result.</summary>
    internal void Store(int b, NTensor[] args, NTensor result)
    {
        _args[b] = args;
        _results[b] = result;
    }

    /// <summary>Count one member served from a memo kept elsewhere (an operator that memoizes raw arrays).</summary>
    public void CountReused() => Interlocked.Increment(ref _reused);

    /// <summary>Same shape, dtype and bits (host tensors; a tensor always equals itself).</summary>
    internal static bool SameBits(NTensor a, NTensor b)
    {
        if (ReferenceEquals(a.Storage, b.Storage) && Shapes.Equal(a.ShapeArray, b.ShapeArray)) return true;
        if (!Shapes.Equal(a.ShapeArray, b.ShapeArray)) return false;
        return (a.Storage, b.Storage) switch
        {
            (CpuStorage { F64: { } x }, CpuStorage { F64: { } y }) => BlockEquals(x, 0, y, 0, x.Length),
            (CpuStorage { F32: { } x }, CpuStorage { F32: { } y }) => BlockEquals(x, 0, y, 0, x.Length),
            _ => false,
        };
    }

    /// <summary>True when x[xOffset ..] and y[yOffset ..] hold the same bits over <paramref name="length"/> values.</summary>
    public static bool BlockEquals<T>(T[] x, int xOffset, T[] y, int yOffset, int length) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan(xOffset, length))
            .SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(y.AsSpan(yOffset, length)));
}
