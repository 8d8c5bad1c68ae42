using System.Runtime.CompilerServices;

namespace NeuralMag.Kernels.FieldTerms;

/// <summary>Fixed storage for the partial derivatives of a <see cref="Dual"/>.</summary>
[InlineArray(Dual.Width)]
public struct Partials
{
    private double _element0;
}

/// <summary>
/// A forward-mode dual number: a value and its partial derivatives with respect to up to <see cref="Width"/> seeded
/// inputs. Energy densities are written with these, so one expression yields the density and its derivatives with
/// respect to m, grad m (12 inputs) or the material parameters.
/// </summary>
public struct Dual
{
    /// <summary>Number of partials carried: 3 components of m plus 9 of grad m.</summary>
    public const int Width = 12;

    /// <summary>The value.</summary>
    public double V;
    /// <summary>Partial derivatives with respect to the seeded inputs.</summary>
    public Partials D;

    /// <summary>A constant: the value with zero partials.</summary>
    public Dual(double value)
    {
        V = value;
        D = default;
    }

    /// <summary>The input number <paramref name="index"/> with value v (derivative 1 with respect to itself).</summary>
    public static Dual Seed(double v, int index)
    {
        Dual d = default;
        d.V = v;
        d.D[index] = 1;
        return d;
    }

    /// <summary>A constant (zero partials).</summary>
    public static implicit operator Dual(double v) => new(v);

    /// <summary>a + b with the sum rule.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Dual operator +(in Dual a, in Dual b)
    {
        Unsafe.SkipInit(out Dual r);
        r.V = a.V + b.V;
        for (int i = 0; i < Width; i++) r.D[i] = a.D[i] + b.D[i];
        return r;
    }

    /// <summary>a − b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Dual operator -(in Dual a, in Dual b)
    {
        Unsafe.SkipInit(out Dual r);
        r.V = a.V - b.V;
        for (int i = 0; i < Width; i++) r.D[i] = a.D[i] - b.D[i];
        return r;
    }

    /// <summary>−a.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Dual operator -(Dual a)
    {
        a.V = -a.V;
        for (int i = 0; i < Width; i++) a.D[i] = -a.D[i];
        return a;
    }

    /// <summary>a · b with the product rule.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Dual operator *(in Dual a, in Dual b)
    {
        Unsafe.SkipInit(out Dual r);
        r.V = a.V * b.V;
        for (int i = 0; i < Width; i++) r.D[i] = a.D[i] * b.V + a.V * b.D[i];
        return r;
    }

    /// <summary>a · s for a constant s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Dual operator *(in Dual a, double s)
    {
        Unsafe.SkipInit(out Dual r);
        r.V = a.V * s;
        for (int i = 0; i < Width; i++) r.D[i] = a.D[i] * s;
        return r;
    }

    /// <summary>s · a for a constant s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Dual operator *(double s, in Dual a) => a * s;

    /// <summary>a / s for a constant s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Dual operator /(in Dual a, double s) => a * (1.0 / s);

    /// <summary>a / b with the quotient rule.</summary>
    public static Dual operator /(in Dual a, in Dual b)
    {
        double inv = 1.0 / b.V;
        var r = new Dual(a.V * inv);
        for (int i = 0; i < Width; i++) r.D[i] = (a.D[i] - r.V * b.D[i]) * inv;
        return r;
    }

    /// <summary>The square, a · a.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly Dual Square() => this * this;

    /// <summary>"Dual(value)".</summary>
    public override string ToString() => $"Dual({V})";
}

/// <summary>A 3-vector of dual numbers (m, axes, fields at a quadrature point).</summary>
public struct Vec3
{
    /// <summary>Components.</summary>
    public Dual X, Y, Z;

    /// <summary>The vector (x, y, z).</summary>
    public Vec3(Dual x, Dual y, Dual z)
    {
        X = x;
        Y = y;
        Z = z;
    }

    /// <summary>Component 0 (X), 1 (Y) or 2 (Z; any other index).</summary>
    public Dual this[int i] => i == 0 ? X : i == 1 ? Y : Z;

    /// <summary>a · b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Dual Dot(in Vec3 a, in Vec3 b) => a.X * b.X + a.Y * b.Y + a.Z * b.Z;

    /// <summary>a × b.</summary>
    public static Vec3 Cross(in Vec3 a, in Vec3 b) =>
        new(a.Y * b.Z - a.Z * b.Y, a.Z * b.X - a.X * b.Z, a.X * b.Y - a.Y * b.X);

    /// <summary>a + b componentwise.</summary>
    public static Vec3 operator +(in Vec3 a, in Vec3 b) => new(a.X + b.X, a.Y + b.Y, a.Z + b.Z);
    /// <summary>a − b componentwise.</summary>
    public static Vec3 operator -(in Vec3 a, in Vec3 b) => new(a.X - b.X, a.Y - b.Y, a.Z - b.Z);
    /// <summary>a scaled by s.</summary>
    public static Vec3 operator *(in Vec3 a, Dual s) => new(a.X * s, a.Y * s, a.Z * s);
}
