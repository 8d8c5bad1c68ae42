using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Member-by-member evaluation for the field terms on a batched state (<see cref="Batch"/>). On the tape it is
/// <see cref="Batch.Map"/>; off the tape with host tensors a member's block of a batched argument is copied out of the
/// host array in one block copy (member b of [B] + shape is the contiguous block b), instead of a strided slice, and
/// the members run concurrently when asked. The members' results are joined by <see cref="NTensor.Stack"/> either way.
/// </summary>
internal static class MemberBlocks
{
    /// <summary>
    /// <paramref name="member"/>(b, args of member b) for b = 0..B-1, stacked: a batched argument (per
    /// <paramref name="memberShapes"/>) is given as member b's block expanded to its member shape, a shared one as it is.
    /// </summary>
    public static NTensor Map(int members, NTensor[] args, int[]?[] memberShapes, Func<int, NTensor[], NTensor> member, bool parallel)
    {
        if (Tape.IsRecording(args) || !args.All(a => a.Storage is CpuStorage))
            return Batch.Map(members, args, memberShapes, member, parallel);
        var batched = new bool[args.Length];
        for (int i = 0; i < args.Length; i++)
            batched[i] = memberShapes[i] is { } ms && Batch.Members(args[i], ms, $"argument {i}", members) > 0;
        NTensor[] ArgsOf(int b)
        {
            var x = new NTensor[args.Length];
            for (int i = 0; i < x.Length; i++) x[i] = batched[i] ? Batch.Full(Block(args[i], b), memberShapes[i]!, 0) : args[i];
            return x;
        }
        var results = new NTensor[members];
        if (parallel && members > 1) Parallel.For(0, members, b => results[b] = member(b, ArgsOf(b)));
        else for (int b = 0; b < members; b++) results[b] = member(b, ArgsOf(b));
        return NTensor.Stack(0, results);
    }

    /// <summary>Block b of a host tensor [B] + shape along its leading axis, copied (shape without the leading axis).</summary>
    private static NTensor Block(NTensor t, int b)
    {
        var shape = t.GetShape()[1..];
        int size = Shapes.Product(shape);
        return t.Storage switch
        {
            CpuStorage { F64: { } d } => new NTensor(new CpuStorage(d.AsSpan(b * size, size).ToArray()), shape),
            CpuStorage { F32: { } f } => new NTensor(new CpuStorage(f.AsSpan(b * size, size).ToArray()), shape),
            _ => t.Slice(0, b, b + 1).Squeeze(0),
        };
    }

    /// <summary>
    /// <paramref name="t"/> repeated along a new leading axis of length <paramref name="members"/> (B block copies of a
    /// host tensor off the tape; <see cref="NTensor.Expand"/> otherwise).
    /// </summary>
    public static NTensor Repeat(NTensor t, int members)
    {
        var shape = Batch.Prepend(members, t.GetShape());
        if (Tape.IsRecording(t)) return t.Expand(shape);
        switch (t.Storage)
        {
            case CpuStorage { F64: { } d }:
                var r64 = new double[members * d.Length];
                for (int b = 0; b < members; b++) d.CopyTo(r64, b * d.Length);
                return new NTensor(new CpuStorage(r64), shape);
            case CpuStorage { F32: { } f }:
                var r32 = new float[members * f.Length];
                for (int b = 0; b < members; b++) f.CopyTo(r32, b * f.Length);
                return new NTensor(new CpuStorage(r32), shape);
            default:
                return t.Expand(shape);
        }
    }
}
