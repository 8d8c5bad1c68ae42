using System.Globalization;

namespace NeuralMag.Verification;

/// <summary>One line of a verification run: a term (or total, or gradient file) of one case.</summary>
public sealed record CheckResult(string Case, string Check, IReadOnlyList<(string Name, double Value)> Errors, bool Passed, string? Reason = null)
{
    /// <summary>"&lt;case&gt; &lt;check&gt; rel_h=... rel_E=... PASS|FAIL[: reason]".</summary>
    public override string ToString()
    {
        var errs = string.Join(" ", Errors.Select(e => $"{e.Name}={Format(e.Value)}"));
        var line = $"{Case} {Check}{(errs.Length > 0 ? " " + errs : "")} {(Passed ? "PASS" : "FAIL")}";
        return Reason == null ? line : $"{line}: {Reason}";
    }

    private static string Format(double v) => double.IsNaN(v) ? "nan" : v.ToString("0.00e+00", CultureInfo.InvariantCulture);

    /// <summary>A check that could not run, with a one-line reason.</summary>
    public static CheckResult Failure(string caseName, string check, string reason) => new(caseName, check, Array.Empty<(string, double)>(), false, reason);
}

/// <summary>Relative errors as the verify command defines them.</summary>
public static class RelativeError
{
    /// <summary>max |a - b| / max |b| (the max-norm of the difference over the max-norm of the reference).</summary>
    public static double MaxNorm(ReadOnlySpan<double> actual, ReadOnlySpan<double> reference)
    {
        if (actual.Length != reference.Length) throw new ArgumentException($"Lengths differ: {actual.Length} vs {reference.Length}.");
        double num = 0, den = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = Math.Abs(actual[i] - reference[i]);
            num = double.IsNaN(d) ? double.NaN : Math.Max(num, d);
            den = Math.Max(den, Math.Abs(reference[i]));
            if (double.IsNaN(num)) return double.NaN;
        }
        return den == 0 ? num : num / den;
    }

    /// <summary>|a - b| / |b| for scalars (|a - b| when b is 0).</summary>
    public static double Scalar(double actual, double reference)
    {
        double d = Math.Abs(actual - reference);
        return reference == 0 ? d : d / Math.Abs(reference);
    }
}
