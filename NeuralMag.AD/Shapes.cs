namespace NeuralMag.AD;

/// <summary>Shape arithmetic shared by the tensor and the backends.</summary>
public static class Shapes
{
    /// <summary>Number of elements of a shape (1 for the empty shape).</summary>
    /// <exception cref="ArgumentException">More than 2^31-1 elements.</exception>
    public static int Product(ReadOnlySpan<int> shape)
    {
        long p = 1;
        foreach (var s in shape) p *= s;
        if (p > int.MaxValue) throw new ArgumentException($"Tensor of shape {Format(shape)} has more than 2^31-1 elements.");
        return (int)p;
    }

    /// <summary>Python-style shape text: "(2, 3)", "(5,)", "()".</summary>
    public static string Format(ReadOnlySpan<int> shape) => "(" + string.Join(", ", shape.ToArray()) + (shape.Length == 1 ? ",)" : ")");

    /// <summary>Row-major contiguous strides.</summary>
    public static int[] Strides(ReadOnlySpan<int> shape)
    {
        var st = new int[shape.Length];
        int s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            st[i] = s;
            s *= shape[i];
        }
        return st;
    }

    /// <summary>NumPy broadcasting of two shapes.</summary>
    public static int[] Broadcast(int[] a, int[] b)
    {
        int r = Math.Max(a.Length, b.Length);
        var o = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - a.Length) >= 0 ? a[i - (r - a.Length)] : 1;
            int db = i - (r - b.Length) >= 0 ? b[i - (r - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"Shapes {Format(a)} and {Format(b)} cannot be broadcast together (axis {i}: {da} vs {db}).");
            o[i] = da == 1 ? db : da;
        }
        return o;
    }

    /// <summary>Strides of an operand of shape <paramref name="shape"/> read as <paramref name="outShape"/> (0 on broadcast axes).</summary>
    public static int[] BroadcastStrides(int[] shape, int[] outShape)
    {
        var st = Strides(shape);
        var o = new int[outShape.Length];
        int off = outShape.Length - shape.Length;
        for (int i = 0; i < shape.Length; i++)
            o[i + off] = shape[i] == 1 && outShape[i + off] != 1 ? 0 : st[i];
        return o;
    }

    /// <summary>True when both shapes have the same extents.</summary>
    public static bool Equal(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);

    /// <summary>Normalizes a possibly negative axis against a rank, naming the axis when out of range.</summary>
    public static int Axis(int axis, int rank)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ArgumentOutOfRangeException(nameof(axis), $"Axis {axis} is out of range for a tensor of rank {rank}.");
        return a;
    }
}
