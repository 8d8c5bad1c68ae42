using System.Numerics;

namespace NeuralMag.Testing;

/// <summary>
/// Derivatives of scalar functions without the tape, the oracles of <see cref="NeuralMagAssert"/>'s gradient checks.
/// <list type="bullet">
/// <item><see cref="CentralDifference"/> works on any real function (e.g. an NTensor function read back with
/// <c>Item()</c>): D(h) = (f(x + h e_k) − f(x − h e_k)) / 2h, extrapolated as (4 D(h/2) − D(h)) / 3, error O(h^4)
/// plus round-off eps·|f|/h.</item>
/// <item><see cref="ComplexStep"/> needs the function written over <see cref="Complex"/> (NTensor holds real numbers
/// only, so an NTensor function cannot be evaluated at a complex point): f'(x) = Im f(x + i h e_k) / h + O(h^2), with
/// no subtractive cancellation, exact to round-off for h = 1e-20. Every operation must be complex-analytic
/// (no Abs, Max or comparisons on the perturbed values).</item>
/// </list>
/// </summary>
public static class NumericalDerivatives
{
    /// <summary>
    /// ∂f/∂x_k for each k in <paramref name="entries"/> by central differences with one Richardson extrapolation
    /// (steps h and h/2).
    /// </summary>
    /// <param name="f">A real function of the values (called with perturbed copies of <paramref name="x"/>).</param>
    /// <param name="x">The point.</param>
    /// <param name="entries">Indices into <paramref name="x"/> to differentiate by.</param>
    /// <param name="h">The larger step (absolute, positive).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="h"/> is not positive or an entry is out of range.</exception>
    public static double[] CentralDifference(Func<double[], double> f, double[] x, IReadOnlyList<int> entries, double h)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(entries);
        if (!(h > 0)) throw new ArgumentOutOfRangeException(nameof(h), h, "The step must be positive.");
        var r = new double[entries.Count];
        var p = (double[])x.Clone();
        for (int n = 0; n < entries.Count; n++)
        {
            int k = CheckEntry(entries[n], x.Length);
            double D(double step)
            {
                p[k] = x[k] + step;
                double plus = f(p);
                p[k] = x[k] - step;
                double minus = f(p);
                p[k] = x[k];
                return (plus - minus) / (2 * step);
            }
            double coarse = D(h), fine = D(h / 2);
            r[n] = (4 * fine - coarse) / 3;
        }
        return r;
    }

    /// <summary>∂f/∂x_k = Im f(x + i h e_k) / h for each k in <paramref name="entries"/> (complex-step derivative).</summary>
    /// <param name="f">The function written over complex numbers; its restriction to real arguments must be the function
    /// being checked.</param>
    /// <param name="x">The (real) point.</param>
    /// <param name="entries">Indices into <paramref name="x"/> to differentiate by.</param>
    /// <param name="h">The imaginary step (absolute, positive; 1e-20 times the scale of x is usual).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="h"/> is not positive or an entry is out of range.</exception>
    public static double[] ComplexStep(Func<Complex[], Complex> f, double[] x, IReadOnlyList<int> entries, double h)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(entries);
        if (!(h > 0)) throw new ArgumentOutOfRangeException(nameof(h), h, "The step must be positive.");
        var z = Array.ConvertAll(x, v => new Complex(v, 0));
        var r = new double[entries.Count];
        for (int n = 0; n < entries.Count; n++)
        {
            int k = CheckEntry(entries[n], x.Length);
            z[k] = new Complex(x[k], h);
            r[n] = f(z).Imaginary / h;
            z[k] = new Complex(x[k], 0);
        }
        return r;
    }

    private static int CheckEntry(int k, int length) =>
        k >= 0 && k < length ? k : throw new ArgumentOutOfRangeException("entries", k, $"Entry index must be in [0, {length}).");
}
