using System.Numerics;

namespace NeuralMag.AD;

// Per-element arithmetic of the primitive operations, written once for both precisions. The CPU backend's loops and
// the ILGPU kernels of NeuralMag.Kernels are generic over these structs (TOp : struct, IUnary<T> / IBinary<T>), so a
// kernel body is the same code on every device.

/// <summary>An elementwise operation of one operand and a scalar parameter.</summary>
/// <typeparam name="T">double or float.</typeparam>
public interface IUnary<T>
{
    /// <summary>The result for element <paramref name="x"/> and scalar <paramref name="s"/> (ignored by operations without one).</summary>
    T Apply(T x, T s);
}
/// <summary>An elementwise operation of two operands.</summary>
/// <typeparam name="T">double or float.</typeparam>
public interface IBinary<T>
{
    /// <summary>The result for elements <paramref name="a"/> and <paramref name="b"/>.</summary>
    T Apply(T a, T b);
}

// SIMD forms of the same arithmetic for the CPU backend's contiguous loops (System.Numerics.Vector<T>); each is
// implemented next to its scalar form in the same struct, so the two cannot drift apart.
/// <summary>SIMD form of <see cref="IUnary{T}"/>: the same arithmetic on <see cref="System.Numerics.Vector{T}"/> lanes.</summary>
/// <typeparam name="T">double or float.</typeparam>
public interface IVecUnary<T> where T : struct
{
    /// <summary>The result per lane for elements <paramref name="x"/> and the scalar broadcast in <paramref name="s"/>.</summary>
    System.Numerics.Vector<T> Apply(System.Numerics.Vector<T> x, System.Numerics.Vector<T> s);
}
/// <summary>SIMD form of <see cref="IBinary{T}"/>: the same arithmetic on <see cref="System.Numerics.Vector{T}"/> lanes.</summary>
/// <typeparam name="T">double or float.</typeparam>
public interface IVecBinary<T> where T : struct
{
    /// <summary>The result per lane for elements <paramref name="a"/> and <paramref name="b"/>.</summary>
    System.Numerics.Vector<T> Apply(System.Numerics.Vector<T> a, System.Numerics.Vector<T> b);
}

/// <summary>The per-element operations, one struct each, implementing the scalar and (where the CPU vectorizes) SIMD forms.</summary>
public static class ElementOps
{
    // max/min with the scalar forms' semantics (a > b ? a : b), NaN handling included.
    private static Vector<T> MaxV<T>(Vector<T> a, Vector<T> b) where T : struct => Vector.ConditionalSelect(Vector.GreaterThan<T>(a, b), a, b);
    private static Vector<T> MinV<T>(Vector<T> a, Vector<T> b) where T : struct => Vector.ConditionalSelect(Vector.LessThan<T>(a, b), a, b);

    /// <summary>-x.</summary>
    public struct Neg : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float>
    {
        /// <inheritdoc/>
        public Vector<double> Apply(Vector<double> x, Vector<double> s) => -x;
        /// <inheritdoc/>
        public Vector<float> Apply(Vector<float> x, Vector<float> s) => -x;
        /// <inheritdoc/>
        public double Apply(double x, double s) => -x;
        /// <inheritdoc/>
        public float Apply(float x, float s) => -x;
    }
    /// <summary>|x|.</summary>
    public struct Abs : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float>
    {
        /// <inheritdoc/>
        public Vector<double> Apply(Vector<double> x, Vector<double> s) => Vector.Abs(x);
        /// <inheritdoc/>
        public Vector<float> Apply(Vector<float> x, Vector<float> s) => Vector.Abs(x);
        /// <inheritdoc/>
        public double Apply(double x, double s) => Math.Abs(x);
        /// <inheritdoc/>
        public float Apply(float x, float s) => Math.Abs(x);
    }
    /// <summary>√x.</summary>
    public struct Sqrt : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float>
    {
        /// <inheritdoc/>
        public Vector<double> Apply(Vector<double> x, Vector<double> s) => Vector.SquareRoot(x);
        /// <inheritdoc/>
        public Vector<float> Apply(Vector<float> x, Vector<float> s) => Vector.SquareRoot(x);
        /// <inheritdoc/>
        public double Apply(double x, double s) => Math.Sqrt(x);
        /// <inheritdoc/>
        public float Apply(float x, float s) => MathF.Sqrt(x);
    }
    /// <summary>e^x.</summary>
    public struct Exp : IUnary<double>, IUnary<float>
    {
        /// <inheritdoc/>
        public double Apply(double x, double s) => Math.Exp(x);
        /// <inheritdoc/>
        public float Apply(float x, float s) => MathF.Exp(x);
    }
    /// <summary>ln x.</summary>
    public struct Log : IUnary<double>, IUnary<float>
    {
        /// <inheritdoc/>
        public double Apply(double x, double s) => Math.Log(x);
        /// <inheritdoc/>
        public float Apply(float x, float s) => MathF.Log(x);
    }
    /// <summary>sin x.</summary>
    public struct Sin : IUnary<double>, IUnary<float>
    {
        /// <inheritdoc/>
        public double Apply(double x, double s) => Math.Sin(x);
        /// <inheritdoc/>
        public float Apply(float x, float s) => MathF.Sin(x);
    }
    /// <summary>cos x.</summary>
    public struct Cos : IUnary<double>, IUnary<float>
    {
        /// <inheritdoc/>
        public double Apply(double x, double s) => Math.Cos(x);
        /// <inheritdoc/>
        public float Apply(float x, float s) => MathF.Cos(x);
    }
    /// <summary>tan x.</summary>
    public struct Tan : IUnary<double>, IUnary<float>
    {
        /// <inheritdoc/>
        public double Apply(double x, double s) => Math.Tan(x);
        /// <inheritdoc/>
        public float Apply(float x, float s) => MathF.Tan(x);
    }
    /// <summary>tanh x.</summary>
    public struct Tanh : IUnary<double>, IUnary<float>
    {
        /// <inheritdoc/>
        public double Apply(double x, double s) => Math.Tanh(x);
        /// <inheritdoc/>
        public float Apply(float x, float s) => MathF.Tanh(x);
    }
    /// <summary>-1, 0 or 1 by the sign of x (0 for 0 and NaN).</summary>
    public struct Sign : IUnary<double>, IUnary<float>
    {
        /// <inheritdoc/>
        public double Apply(double x, double s) => x > 0 ? 1 : x < 0 ? -1 : 0;
        /// <inheritdoc/>
        public float Apply(float x, float s) => x > 0 ? 1 : x < 0 ? -1 : 0;
    }
    /// <summary>x².</summary>
    public struct Square : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float>
    {
        /// <inheritdoc/>
        public Vector<double> Apply(Vector<double> x, Vector<double> s) => x * x;
        /// <inheritdoc/>
        public Vector<float> Apply(Vector<float> x, Vector<float> s) => x * x;
        /// <inheritdoc/>
        public double Apply(double x, double s) => x * x;
        /// <inheritdoc/>
        public float Apply(float x, float s) => x * x;
    }
    /// <summary>1/x.</summary>
    public struct Reciprocal : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float>
    {
        /// <inheritdoc/>
        public Vector<double> Apply(Vector<double> x, Vector<double> s) => Vector<double>.One / x;
        /// <inheritdoc/>
        public Vector<float> Apply(Vector<float> x, Vector<float> s) => Vector<float>.One / x;
        /// <inheritdoc/>
        public double Apply(double x, double s) => 1 / x;
        /// <inheritdoc/>
        public float Apply(float x, float s) => 1 / x;
    }
    /// <summary>x^s (exact products for s = 1 and 2).</summary>
    public struct PowScalar : IUnary<double>, IUnary<float>
    {
        /// <inheritdoc/>
        public double Apply(double x, double s) => s == 2 ? x * x : s == 1 ? x : Math.Pow(x, s);
        /// <inheritdoc/>
        public float Apply(float x, float s) => s == 2 ? x * x : s == 1 ? x : MathF.Pow(x, s);
    }
    /// <summary>x + s.</summary>
    public struct AddScalar : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float>
    {
        /// <inheritdoc/>
        public Vector<double> Apply(Vector<double> x, Vector<double> s) => x + s;
        /// <inheritdoc/>
        public Vector<float> Apply(Vector<float> x, Vector<float> s) => x + s;
        /// <inheritdoc/>
        public double Apply(double x, double s) => x + s;
        /// <inheritdoc/>
        public float Apply(float x, float s) => x + s;
    }
    /// <summary>x · s.</summary>
    public struct MulScalar : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float>
    {
        /// <inheritdoc/>
        public Vector<double> Apply(Vector<double> x, Vector<double> s) => x * s;
        /// <inheritdoc/>
        public Vector<float> Apply(Vector<float> x, Vector<float> s) => x * s;
        /// <inheritdoc/>
        public double Apply(double x, double s) => x * s;
        /// <inheritdoc/>
        public float Apply(float x, float s) => x * s;
    }
    /// <summary>s − x.</summary>
    public struct RSubScalar : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float>
    {
        /// <inheritdoc/>
        public Vector<double> Apply(Vector<double> x, Vector<double> s) => s - x;
        /// <inheritdoc/>
        public Vector<float> Apply(Vector<float> x, Vector<float> s) => s - x;
        /// <inheritdoc/>
        public double Apply(double x, double s) => s - x;
        /// <inheritdoc/>
        public float Apply(float x, float s) => s - x;
    }
    /// <summary>s / x.</summary>
    public struct RDivScalar : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float>
    {
        /// <inheritdoc/>
        public Vector<double> Apply(Vector<double> x, Vector<double> s) => s / x;
        /// <inheritdoc/>
        public Vector<float> Apply(Vector<float> x, Vector<float> s) => s / x;
        /// <inheritdoc/>
        public double Apply(double x, double s) => s / x;
        /// <inheritdoc/>
        public float Apply(float x, float s) => s / x;
    }
    /// <summary>max(x, s) as x &gt; s ? x : s.</summary>
    public struct MaxScalar : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float>
    {
        /// <inheritdoc/>
        public Vector<double> Apply(Vector<double> x, Vector<double> s) => MaxV(x, s);
        /// <inheritdoc/>
        public Vector<float> Apply(Vector<float> x, Vector<float> s) => MaxV(x, s);
        /// <inheritdoc/>
        public double Apply(double x, double s) => x > s ? x : s;
        /// <inheritdoc/>
        public float Apply(float x, float s) => x > s ? x : s;
    }
    /// <summary>min(x, s) as x &lt; s ? x : s.</summary>
    public struct MinScalar : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float>
    {
        /// <inheritdoc/>
        public Vector<double> Apply(Vector<double> x, Vector<double> s) => MinV(x, s);
        /// <inheritdoc/>
        public Vector<float> Apply(Vector<float> x, Vector<float> s) => MinV(x, s);
        /// <inheritdoc/>
        public double Apply(double x, double s) => x < s ? x : s;
        /// <inheritdoc/>
        public float Apply(float x, float s) => x < s ? x : s;
    }
    /// <summary>1 where x &gt; s, else 0.</summary>
    public struct GtScalar : IUnary<double>, IUnary<float>
    {
        /// <inheritdoc/>
        public double Apply(double x, double s) => x > s ? 1 : 0;
        /// <inheritdoc/>
        public float Apply(float x, float s) => x > s ? 1 : 0;
    }
    /// <summary>1 where x &lt; s, else 0.</summary>
    public struct LtScalar : IUnary<double>, IUnary<float>
    {
        /// <inheritdoc/>
        public double Apply(double x, double s) => x < s ? 1 : 0;
        /// <inheritdoc/>
        public float Apply(float x, float s) => x < s ? 1 : 0;
    }

    /// <summary>a + b.</summary>
    public struct Add : IBinary<double>, IBinary<float>, IVecBinary<double>, IVecBinary<float>
    {
        /// <inheritdoc/>
        public Vector<double> Apply(Vector<double> a, Vector<double> b) => a + b;
        /// <inheritdoc/>
        public Vector<float> Apply(Vector<float> a, Vector<float> b) => a + b;
        /// <inheritdoc/>
        public double Apply(double a, double b) => a + b;
        /// <inheritdoc/>
        public float Apply(float a, float b) => a + b;
    }
    /// <summary>a − b.</summary>
    public struct Sub : IBinary<double>, IBinary<float>, IVecBinary<double>, IVecBinary<float>
    {
        /// <inheritdoc/>
        public Vector<double> Apply(Vector<double> a, Vector<double> b) => a - b;
        /// <inheritdoc/>
        public Vector<float> Apply(Vector<float> a, Vector<float> b) => a - b;
        /// <inheritdoc/>
        public double Apply(double a, double b) => a - b;
        /// <inheritdoc/>
        public float Apply(float a, float b) => a - b;
    }
    /// <summary>a · b.</summary>
    public struct Mul : IBinary<double>, IBinary<float>, IVecBinary<double>, IVecBinary<float>
    {
        /// <inheritdoc/>
        public Vector<double> Apply(Vector<double> a, Vector<double> b) => a * b;
        /// <inheritdoc/>
        public Vector<float> Apply(Vector<float> a, Vector<float> b) => a * b;
        /// <inheritdoc/>
        public double Apply(double a, double b) => a * b;
        /// <inheritdoc/>
        public float Apply(float a, float b) => a * b;
    }
    /// <summary>a / b.</summary>
    public struct Div : IBinary<double>, IBinary<float>, IVecBinary<double>, IVecBinary<float>
    {
        /// <inheritdoc/>
        public Vector<double> Apply(Vector<double> a, Vector<double> b) => a / b;
        /// <inheritdoc/>
        public Vector<float> Apply(Vector<float> a, Vector<float> b) => a / b;
        /// <inheritdoc/>
        public double Apply(double a, double b) => a / b;
        /// <inheritdoc/>
        public float Apply(float a, float b) => a / b;
    }
    /// <summary>a^b.</summary>
    public struct Pow : IBinary<double>, IBinary<float>
    {
        /// <inheritdoc/>
        public double Apply(double a, double b) => Math.Pow(a, b);
        /// <inheritdoc/>
        public float Apply(float a, float b) => MathF.Pow(a, b);
    }
    /// <summary>max(a, b) as a &gt; b ? a : b.</summary>
    public struct Max : IBinary<double>, IBinary<float>, IVecBinary<double>, IVecBinary<float>
    {
        /// <inheritdoc/>
        public Vector<double> Apply(Vector<double> a, Vector<double> b) => MaxV(a, b);
        /// <inheritdoc/>
        public Vector<float> Apply(Vector<float> a, Vector<float> b) => MaxV(a, b);
        /// <inheritdoc/>
        public double Apply(double a, double b) => a > b ? a : b;
        /// <inheritdoc/>
        public float Apply(float a, float b) => a > b ? a : b;
    }
    /// <summary>min(a, b) as a &lt; b ? a : b.</summary>
    public struct Min : IBinary<double>, IBinary<float>, IVecBinary<double>, IVecBinary<float>
    {
        /// <inheritdoc/>
        public Vector<double> Apply(Vector<double> a, Vector<double> b) => MinV(a, b);
        /// <inheritdoc/>
        public Vector<float> Apply(Vector<float> a, Vector<float> b) => MinV(a, b);
        /// <inheritdoc/>
        public double Apply(double a, double b) => a < b ? a : b;
        /// <inheritdoc/>
        public float Apply(float a, float b) => a < b ? a : b;
    }
    /// <summary>1 where a &gt; b, else 0.</summary>
    public struct Gt : IBinary<double>, IBinary<float>
    {
        /// <inheritdoc/>
        public double Apply(double a, double b) => a > b ? 1 : 0;
        /// <inheritdoc/>
        public float Apply(float a, float b) => a > b ? 1 : 0;
    }
    /// <summary>1 where a &gt;= b, else 0.</summary>
    public struct Ge : IBinary<double>, IBinary<float>
    {
        /// <inheritdoc/>
        public double Apply(double a, double b) => a >= b ? 1 : 0;
        /// <inheritdoc/>
        public float Apply(float a, float b) => a >= b ? 1 : 0;
    }
    /// <summary>1 where a &lt; b, else 0.</summary>
    public struct Lt : IBinary<double>, IBinary<float>
    {
        /// <inheritdoc/>
        public double Apply(double a, double b) => a < b ? 1 : 0;
        /// <inheritdoc/>
        public float Apply(float a, float b) => a < b ? 1 : 0;
    }
    /// <summary>1 where a &lt;= b, else 0.</summary>
    public struct Le : IBinary<double>, IBinary<float>
    {
        /// <inheritdoc/>
        public double Apply(double a, double b) => a <= b ? 1 : 0;
        /// <inheritdoc/>
        public float Apply(float a, float b) => a <= b ? 1 : 0;
    }
    /// <summary>1 where a == b, else 0.</summary>
    public struct Eq : IBinary<double>, IBinary<float>
    {
        /// <inheritdoc/>
        public double Apply(double a, double b) => a == b ? 1 : 0;
        /// <inheritdoc/>
        public float Apply(float a, float b) => a == b ? 1 : 0;
    }
}
