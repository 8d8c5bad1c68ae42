using System.Globalization;
using System.Numerics;
using System.Text;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using NeuralMag.AD;

namespace NeuralMag.Testing;

/// <summary>
/// MSTest assertions for code built on NeuralMag: gradients of objectives and resolved functions against numerical
/// derivatives, field terms against reference-case folders, and the consistency of a term's field with its energy.
/// A failed check throws <see cref="AssertFailedException"/> (through <see cref="Assert.Fail(string)"/>) whose
/// message lists the worst entries and the tolerance; wrong arguments throw <see cref="ArgumentException"/>.
/// </summary>
/// <remarks>
/// Two oracles check the tape's gradient. Central differences with Richardson extrapolation
/// (<c>GradientMatchesFiniteDifferences</c>) evaluate the NTensor function itself and apply to any function; their
/// error is about 1e-10 relative in float64, hence the default tolerance 1e-6. The complex step
/// (<c>GradientMatchesComplexStep</c>) is exact to round-off but cannot run through NTensor, which holds real numbers
/// only: it takes a second implementation of the same function written over <see cref="Complex"/> (as our own F#
/// oracle does), checks that its real part equals the NTensor function at the point, and then compares the tape's
/// gradient with Im f(x + i h e_k) / h (default tolerance 1e-10). Run the checks in float64.
/// </remarks>
public static partial class NeuralMagAssert
{
    // ---------------------------------------------------------------- central differences

    /// <summary>Asserts that the tape's gradient of the scalar <paramref name="f"/> at <paramref name="at"/> matches central differences (Richardson-extrapolated).</summary>
    /// <param name="f">A scalar-valued function built from NTensor operations.</param>
    /// <param name="at">The point.</param>
    /// <param name="options">Tolerance, step and sampling; null for the defaults.</param>
    /// <exception cref="AssertFailedException">Some checked entry differs by more than the tolerance.</exception>
    public static void GradientMatchesFiniteDifferences(Func<NTensor, NTensor> f, NTensor at, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(at);
        GradientMatchesFiniteDifferences(a => f(a[0]), new[] { at }, options);
    }

    /// <summary>Asserts that the tape's gradients of the scalar <paramref name="f"/> with respect to both arguments match central differences.</summary>
    /// <param name="f">A scalar-valued function of two tensors.</param>
    /// <param name="at0">The first argument.</param>
    /// <param name="at1">The second argument.</param>
    /// <param name="options">Tolerance, step and sampling; null for the defaults.</param>
    /// <exception cref="AssertFailedException">Some checked entry differs by more than the tolerance.</exception>
    public static void GradientMatchesFiniteDifferences(Func<NTensor, NTensor, NTensor> f, NTensor at0, NTensor at1, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        GradientMatchesFiniteDifferences(a => f(a[0], a[1]), new[] { at0, at1 }, options);
    }

    /// <summary>Asserts that the tape's gradients of the scalar <paramref name="f"/> with respect to every argument match central differences.</summary>
    /// <param name="f">A scalar-valued function of the tensors in <paramref name="at"/>.</param>
    /// <param name="at">The point: one tensor per argument.</param>
    /// <param name="options">Tolerance, step and sampling; null for the defaults.</param>
    /// <exception cref="AssertFailedException">Some checked entry differs by more than the tolerance.</exception>
    public static void GradientMatchesFiniteDifferences(Func<NTensor[], NTensor> f, NTensor[] at, GradientCheckOptions? options = null) =>
        FiniteDifferenceCheck("f", f, at, null, options);

    /// <summary>
    /// Asserts that the tape's gradients of a resolved function (e.g. <c>state.Resolve("E_exchange", ["material__A"])</c>)
    /// with respect to every parameter match central differences.
    /// </summary>
    /// <param name="f">A scalar-valued function; its parameter names label the failure message.</param>
    /// <param name="at">One tensor per parameter of <paramref name="f"/>, in order.</param>
    /// <param name="options">Tolerance, step and sampling; null for the defaults.</param>
    /// <exception cref="AssertFailedException">Some checked entry differs by more than the tolerance.</exception>
    public static void GradientMatchesFiniteDifferences(NamedFunction f, NTensor[] at, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        FiniteDifferenceCheck(f.ToString(), a => f.Invoke(a), at, f.Parameters, options);
    }

    /// <summary>
    /// Asserts that the tape's gradients of a resolved function match central differences at the state's current
    /// values of its parameters (<c>state.Tensor(name)</c> for each parameter name).
    /// </summary>
    /// <param name="f">A scalar-valued resolved function, e.g. <c>state.Resolve("E_uaniso", ["material__Ku"])</c>.</param>
    /// <param name="state">The state supplying the point.</param>
    /// <param name="options">Tolerance, step and sampling; null for the defaults.</param>
    /// <exception cref="AssertFailedException">Some checked entry differs by more than the tolerance.</exception>
    public static void GradientMatchesFiniteDifferences(NamedFunction f, State state, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(state);
        GradientMatchesFiniteDifferences(f, f.Parameters.Select(state.Tensor).ToArray(), options);
    }

    // ---------------------------------------------------------------- complex step

    /// <summary>
    /// Asserts that the tape's gradient of <paramref name="f"/> matches the complex-step derivative of
    /// <paramref name="complexF"/>, the same function written over complex numbers.
    /// </summary>
    /// <param name="f">A scalar-valued function built from NTensor operations.</param>
    /// <param name="complexF">The same function of the row-major values, written with <see cref="Complex"/> arithmetic
    /// (complex-analytic operations only).</param>
    /// <param name="at">The point.</param>
    /// <param name="options">Tolerance, step and sampling; null for the defaults.</param>
    /// <exception cref="AssertFailedException">Re complexF(x) differs from f(x), or some checked entry differs by more
    /// than the tolerance.</exception>
    public static void GradientMatchesComplexStep(Func<NTensor, NTensor> f, Func<Complex[], Complex> complexF, NTensor at, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(complexF);
        ArgumentNullException.ThrowIfNull(at);
        ComplexStepCheck("f", a => f(a[0]), z => complexF(z[0]), new[] { at }, null, options);
    }

    /// <summary>
    /// Asserts that the tape's gradients of <paramref name="f"/> with respect to every argument match the complex-step
    /// derivatives of <paramref name="complexF"/>, the same function written over complex numbers.
    /// </summary>
    /// <param name="f">A scalar-valued function of the tensors in <paramref name="at"/>.</param>
    /// <param name="complexF">The same function of the arguments' row-major values (one array per argument).</param>
    /// <param name="at">The point: one tensor per argument.</param>
    /// <param name="options">Tolerance, step and sampling; null for the defaults.</param>
    /// <exception cref="AssertFailedException">Re complexF(x) differs from f(x), or some checked entry differs by more
    /// than the tolerance.</exception>
    public static void GradientMatchesComplexStep(Func<NTensor[], NTensor> f, Func<Complex[][], Complex> complexF, NTensor[] at, GradientCheckOptions? options = null) =>
        ComplexStepCheck("f", f, complexF, at, null, options);

    /// <summary>
    /// Asserts that the tape's gradients of a resolved function match the complex-step derivatives of
    /// <paramref name="complexF"/>, the same function written over complex numbers.
    /// </summary>
    /// <param name="f">A scalar-valued resolved function; its parameter names label the failure message.</param>
    /// <param name="complexF">The same function of the parameters' row-major values (one array per parameter).</param>
    /// <param name="at">One tensor per parameter of <paramref name="f"/>, in order.</param>
    /// <param name="options">Tolerance, step and sampling; null for the defaults.</param>
    /// <exception cref="AssertFailedException">Re complexF(x) differs from f(x), or some checked entry differs by more
    /// than the tolerance.</exception>
    public static void GradientMatchesComplexStep(NamedFunction f, Func<Complex[][], Complex> complexF, NTensor[] at, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        ComplexStepCheck(f.ToString(), a => f.Invoke(a), complexF, at, f.Parameters, options);
    }

    // ---------------------------------------------------------------- shared machinery

    private static void FiniteDifferenceCheck(string what, Func<NTensor[], NTensor> f, NTensor[] at, IReadOnlyList<string>? names, GradientCheckOptions? options)
    {
        var o = Prepare(f, at, names, options);
        CompareGradients(what, "central differences (Richardson, steps h and h/2)", f, at, names, o, o.Tolerance ?? 1e-6, (a, x, entries) =>
        {
            double h = o.RelativeStep * Scale(x);
            return NumericalDerivatives.CentralDifference(v => f(Replace(at, a, v)).Item(), x, entries, h);
        });
    }

    private static void ComplexStepCheck(string what, Func<NTensor[], NTensor> f, Func<Complex[][], Complex> complexF, NTensor[] at, IReadOnlyList<string>? names, GradientCheckOptions? options)
    {
        ArgumentNullException.ThrowIfNull(complexF);
        var o = Prepare(f, at, names, options);
        double tol = o.Tolerance ?? 1e-10;
        var z = at.Select(t => Array.ConvertAll(t.ToArray(), v => new Complex(v, 0))).ToArray();
        double real = f(at).Item();
        var c = complexF(z);
        double denominator = Math.Max(Math.Abs(real), Math.Abs(c.Real));
        double agreement = denominator == 0 ? Complex.Abs(c) : Complex.Abs(c - real) / denominator;
        if (!(agreement <= tol))
            Assert.Fail(string.Create(CultureInfo.InvariantCulture,
                $"The complex implementation of {what} does not agree with the NTensor one at the point: complexF(x) = {c.Real:R} + {c.Imaginary:R}i, f(x) = {real:R} (relative difference {agreement:0.00e+00}, tolerance {tol:0.0e+00}). Both must compute the same function."));
        CompareGradients(what, "the complex step", f, at, names, o, tol, (a, x, entries) =>
        {
            double h = o.ComplexStep * Scale(x);
            return NumericalDerivatives.ComplexStep(v =>
            {
                var args = (Complex[][])z.Clone();
                args[a] = v;
                return complexF(args);
            }, x, entries, h);
        });
    }

    private static GradientCheckOptions Prepare(Func<NTensor[], NTensor> f, NTensor[] at, IReadOnlyList<string>? names, GradientCheckOptions? options)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(at);
        if (at.Length == 0) throw new ArgumentException("At least one argument tensor is needed.", nameof(at));
        for (int i = 0; i < at.Length; i++)
            if (at[i] is null) throw new ArgumentException($"Argument tensor {i} is null.", nameof(at));
        if (names != null && names.Count != at.Length)
            throw new ArgumentException($"The function takes {names.Count} parameters ({string.Join(", ", names)}) but {at.Length} tensors were given.", nameof(at));
        var o = options ?? new GradientCheckOptions();
        o.Validate();
        return o;
    }

    private static double Scale(double[] x)
    {
        double s = 0;
        foreach (var v in x) s = Math.Max(s, Math.Abs(v));
        return s > 0 && double.IsFinite(s) ? s : 1;
    }

    private static NTensor[] Replace(NTensor[] at, int a, double[] values)
    {
        var args = (NTensor[])at.Clone();
        args[a] = NTensor.FromArray(values, at[a].GetShape(), at[a].DType, at[a].Device);
        return args;
    }

    private static void CompareGradients(string what, string method, Func<NTensor[], NTensor> f, NTensor[] at, IReadOnlyList<string>? names,
        GradientCheckOptions o, double tol, Func<int, double[], int[], double[]> numeric)
    {
        var (_, grads) = Autodiff.ValueAndGrads(f)(at);
        var report = new StringBuilder();
        for (int a = 0; a < at.Length; a++)
        {
            var x = at[a].ToArray();
            var analyticAll = grads[a].ToArray();
            var entries = SelectEntries(analyticAll, o.MaxEntries);
            var num = numeric(a, x, entries);
            var ana = entries.Select(k => analyticAll[k]).ToArray();
            var label = names != null ? $"'{names[a]}'" : $"argument {a}";
            AppendIfFailed(report, $"{label}, shape {Shapes.Format(at[a].GetShape())}", at[a].GetShape(), entries, ana, num, tol, o.ReportedEntries);
        }
        if (report.Length > 0)
            Assert.Fail($"The tape's gradient of {what} does not match {method} (tolerance {Fmt(tol)} on |analytic - numeric| / max|numeric| per argument).{report}");
    }

    /// <summary>Entries to check: all, or evenly spaced ones plus the largest analytic entry.</summary>
    private static int[] SelectEntries(double[] analytic, int maxEntries)
    {
        int n = analytic.Length;
        if (maxEntries <= 0 || n <= maxEntries) return Enumerable.Range(0, n).ToArray();
        var set = new SortedSet<int>();
        for (int i = 0; i < maxEntries - 1; i++) set.Add((int)((long)i * n / (maxEntries - 1)));
        int largest = 0;
        for (int k = 1; k < n; k++) if (Math.Abs(analytic[k]) > Math.Abs(analytic[largest])) largest = k;
        set.Add(largest);
        return set.ToArray();
    }

    /// <summary>Appends a section for one tensor when its worst relative error exceeds the tolerance (or is NaN).</summary>
    internal static void AppendIfFailed(StringBuilder report, string label, int[] shape, IReadOnlyList<int> entries, double[] actual, double[] expected,
        double tol, int reported, string actualName = "analytic", string expectedName = "numeric")
    {
        double scale = 0;
        foreach (var v in expected) if (double.IsFinite(v)) scale = Math.Max(scale, Math.Abs(v));
        var err = new double[actual.Length];
        for (int i = 0; i < err.Length; i++)
        {
            double d = Math.Abs(actual[i] - expected[i]);
            err[i] = double.IsNaN(d) ? double.NaN : scale > 0 ? d / scale : d;
        }
        double worst = err.Length == 0 ? 0 : err.Max(e => double.IsNaN(e) ? double.PositiveInfinity : e);
        if (worst <= tol) return;
        report.AppendLine().Append(CultureInfo.InvariantCulture, $"{label}: max relative error {Fmt(worst)} > {Fmt(tol)} ({err.Count(e => !(e <= tol))} of {err.Length} checked entries; max|{expectedName}| = {Fmt(scale)}).");
        report.AppendLine().Append($"  worst entries (index, {actualName}, {expectedName}, relative error):");
        foreach (var i in Enumerable.Range(0, err.Length).OrderByDescending(i => double.IsNaN(err[i]) ? double.PositiveInfinity : err[i]).Take(reported))
            report.AppendLine().Append(CultureInfo.InvariantCulture, $"    {Index(entries[i], shape)}  {actual[i]:0.000000000e+00}  {expected[i]:0.000000000e+00}  {Fmt(err[i])}");
    }

    internal static string Fmt(double v) => double.IsNaN(v) ? "NaN" : v.ToString("0.00e+00", CultureInfo.InvariantCulture);

    /// <summary>Row-major multi-index of a flat index, e.g. "[2, 1, 0]".</summary>
    internal static string Index(int flat, int[] shape)
    {
        if (shape.Length == 0) return "[]";
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            int n = Math.Max(shape[d], 1);
            idx[d] = flat % n;
            flat /= n;
        }
        return "[" + string.Join(", ", idx) + "]";
    }
}
