using System.Numerics;

namespace NeuralMag.AD;

// Per-element arithmetic of the primitive operations, written once for both precisions. The CPU backend's loops and
// the ILGPU kernels of NeuralMag.Kernels are generic over these structs (TOp : struct, IUnary<T> / IBinary<T>), so a
// kernel body is the same code on every device.

public interface IUnary<T> { T Apply(T x, T s); }
public interface IBinary<T> { T Apply(T a, T b); }

// SIMD forms of the same arithmetic for the CPU backend's contiguous loops (System.Numerics.Vector<T>); each is
// implemented next to its scalar form in the same struct, so the two cannot drift apart.
public interface IVecUnary<T> where T : struct { System.Numerics.Vector<T> Apply(System.Numerics.Vector<T> x, System.Numerics.Vector<T> s); }
public interface IVecBinary<T> where T : struct { System.Numerics.Vector<T> Apply(System.Numerics.Vector<T> a, System.Numerics.Vector<T> b); }

public static class ElementOps
{
    // max/min with the scalar forms' semantics (a > b ? a : b), NaN handling included.
    private static Vector<T> MaxV<T>(Vector<T> a, Vector<T> b) where T : struct => Vector.ConditionalSelect(Vector.GreaterThan<T>(a, b), a, b);
    private static Vector<T> MinV<T>(Vector<T> a, Vector<T> b) where T : struct => Vector.ConditionalSelect(Vector.LessThan<T>(a, b), a, b);

    public struct Neg : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float> { public Vector<double> Apply(Vector<double> x, Vector<double> s) => -x; public Vector<float> Apply(Vector<float> x, Vector<float> s) => -x; public double Apply(double x, double s) => -x; public float Apply(float x, float s) => -x; }
    public struct Abs : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float> { public Vector<double> Apply(Vector<double> x, Vector<double> s) => Vector.Abs(x); public Vector<float> Apply(Vector<float> x, Vector<float> s) => Vector.Abs(x); public double Apply(double x, double s) => Math.Abs(x); public float Apply(float x, float s) => Math.Abs(x); }
    public struct Sqrt : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float> { public Vector<double> Apply(Vector<double> x, Vector<double> s) => Vector.SquareRoot(x); public Vector<float> Apply(Vector<float> x, Vector<float> s) => Vector.SquareRoot(x); public double Apply(double x, double s) => Math.Sqrt(x); public float Apply(float x, float s) => MathF.Sqrt(x); }
    public struct Exp : IUnary<double>, IUnary<float> { public double Apply(double x, double s) => Math.Exp(x); public float Apply(float x, float s) => MathF.Exp(x); }
    public struct Log : IUnary<double>, IUnary<float> { public double Apply(double x, double s) => Math.Log(x); public float Apply(float x, float s) => MathF.Log(x); }
    public struct Sin : IUnary<double>, IUnary<float> { public double Apply(double x, double s) => Math.Sin(x); public float Apply(float x, float s) => MathF.Sin(x); }
    public struct Cos : IUnary<double>, IUnary<float> { public double Apply(double x, double s) => Math.Cos(x); public float Apply(float x, float s) => MathF.Cos(x); }
    public struct Tan : IUnary<double>, IUnary<float> { public double Apply(double x, double s) => Math.Tan(x); public float Apply(float x, float s) => MathF.Tan(x); }
    public struct Tanh : IUnary<double>, IUnary<float> { public double Apply(double x, double s) => Math.Tanh(x); public float Apply(float x, float s) => MathF.Tanh(x); }
    public struct Sign : IUnary<double>, IUnary<float> { public double Apply(double x, double s) => x > 0 ? 1 : x < 0 ? -1 : 0; public float Apply(float x, float s) => x > 0 ? 1 : x < 0 ? -1 : 0; }
    public struct Square : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float> { public Vector<double> Apply(Vector<double> x, Vector<double> s) => x * x; public Vector<float> Apply(Vector<float> x, Vector<float> s) => x * x; public double Apply(double x, double s) => x * x; public float Apply(float x, float s) => x * x; }
    public struct Reciprocal : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float> { public Vector<double> Apply(Vector<double> x, Vector<double> s) => Vector<double>.One / x; public Vector<float> Apply(Vector<float> x, Vector<float> s) => Vector<float>.One / x; public double Apply(double x, double s) => 1 / x; public float Apply(float x, float s) => 1 / x; }
    public struct PowScalar : IUnary<double>, IUnary<float>
    {
        public double Apply(double x, double s) => s == 2 ? x * x : s == 1 ? x : Math.Pow(x, s);
        public float Apply(float x, float s) => s == 2 ? x * x : s == 1 ? x : MathF.Pow(x, s);
    }
    public struct AddScalar : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float> { public Vector<double> Apply(Vector<double> x, Vector<double> s) => x + s; public Vector<float> Apply(Vector<float> x, Vector<float> s) => x + s; public double Apply(double x, double s) => x + s; public float Apply(float x, float s) => x + s; }
    public struct MulScalar : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float> { public Vector<double> Apply(Vector<double> x, Vector<double> s) => x * s; public Vector<float> Apply(Vector<float> x, Vector<float> s) => x * s; public double Apply(double x, double s) => x * s; public float Apply(float x, float s) => x * s; }
    public struct RSubScalar : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float> { public Vector<double> Apply(Vector<double> x, Vector<double> s) => s - x; public Vector<float> Apply(Vector<float> x, Vector<float> s) => s - x; public double Apply(double x, double s) => s - x; public float Apply(float x, float s) => s - x; }
    public struct RDivScalar : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float> { public Vector<double> Apply(Vector<double> x, Vector<double> s) => s / x; public Vector<float> Apply(Vector<float> x, Vector<float> s) => s / x; public double Apply(double x, double s) => s / x; public float Apply(float x, float s) => s / x; }
    public struct MaxScalar : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float> { public Vector<double> Apply(Vector<double> x, Vector<double> s) => MaxV(x, s); public Vector<float> Apply(Vector<float> x, Vector<float> s) => MaxV(x, s); public double Apply(double x, double s) => x > s ? x : s; public float Apply(float x, float s) => x > s ? x : s; }
    public struct MinScalar : IUnary<double>, IUnary<float>, IVecUnary<double>, IVecUnary<float> { public Vector<double> Apply(Vector<double> x, Vector<double> s) => MinV(x, s); public Vector<float> Apply(Vector<float> x, Vector<float> s) => MinV(x, s); public double Apply(double x, double s) => x < s ? x : s; public float Apply(float x, float s) => x < s ? x : s; }
    public struct GtScalar : IUnary<double>, IUnary<float> { public double Apply(double x, double s) => x > s ? 1 : 0; public float Apply(float x, float s) => x > s ? 1 : 0; }
    public struct LtScalar : IUnary<double>, IUnary<float> { public double Apply(double x, double s) => x < s ? 1 : 0; public float Apply(float x, float s) => x < s ? 1 : 0; }

    public struct Add : IBinary<double>, IBinary<float>, IVecBinary<double>, IVecBinary<float> { public Vector<double> Apply(Vector<double> a, Vector<double> b) => a + b; public Vector<float> Apply(Vector<float> a, Vector<float> b) => a + b; public double Apply(double a, double b) => a + b; public float Apply(float a, float b) => a + b; }
    public struct Sub : IBinary<double>, IBinary<float>, IVecBinary<double>, IVecBinary<float> { public Vector<double> Apply(Vector<double> a, Vector<double> b) => a - b; public Vector<float> Apply(Vector<float> a, Vector<float> b) => a - b; public double Apply(double a, double b) => a - b; public float Apply(float a, float b) => a - b; }
    public struct Mul : IBinary<double>, IBinary<float>, IVecBinary<double>, IVecBinary<float> { public Vector<double> Apply(Vector<double> a, Vector<double> b) => a * b; public Vector<float> Apply(Vector<float> a, Vector<float> b) => a * b; public double Apply(double a, double b) => a * b; public float Apply(float a, float b) => a * b; }
    public struct Div : IBinary<double>, IBinary<float>, IVecBinary<double>, IVecBinary<float> { public Vector<double> Apply(Vector<double> a, Vector<double> b) => a / b; public Vector<float> Apply(Vector<float> a, Vector<float> b) => a / b; public double Apply(double a, double b) => a / b; public float Apply(float a, float b) => a / b; }
    public struct Pow : IBinary<double>, IBinary<float> { public double Apply(double a, double b) => Math.Pow(a, b); public float Apply(float a, float b) => MathF.Pow(a, b); }
    public struct Max : IBinary<double>, IBinary<float>, IVecBinary<double>, IVecBinary<float> { public Vector<double> Apply(Vector<double> a, Vector<double> b) => MaxV(a, b); public Vector<float> Apply(Vector<float> a, Vector<float> b) => MaxV(a, b); public double Apply(double a, double b) => a > b ? a : b; public float Apply(float a, float b) => a > b ? a : b; }
    public struct Min : IBinary<double>, IBinary<float>, IVecBinary<double>, IVecBinary<float> { public Vector<double> Apply(Vector<double> a, Vector<double> b) => MinV(a, b); public Vector<float> Apply(Vector<float> a, Vector<float> b) => MinV(a, b); public double Apply(double a, double b) => a < b ? a : b; public float Apply(float a, float b) => a < b ? a : b; }
    public struct Gt : IBinary<double>, IBinary<float> { public double Apply(double a, double b) => a > b ? 1 : 0; public float Apply(float a, float b) => a > b ? 1 : 0; }
    public struct Ge : IBinary<double>, IBinary<float> { public double Apply(double a, double b) => a >= b ? 1 : 0; public float Apply(float a, float b) => a >= b ? 1 : 0; }
    public struct Lt : IBinary<double>, IBinary<float> { public double Apply(double a, double b) => a < b ? 1 : 0; public float Apply(float a, float b) => a < b ? 1 : 0; }
    public struct Le : IBinary<double>, IBinary<float> { public double Apply(double a, double b) => a <= b ? 1 : 0; public float Apply(float a, float b) => a <= b ? 1 : 0; }
    public struct Eq : IBinary<double>, IBinary<float> { public double Apply(double a, double b) => a == b ? 1 : 0; public float Apply(float a, float b) => a == b ? 1 : 0; }
}
