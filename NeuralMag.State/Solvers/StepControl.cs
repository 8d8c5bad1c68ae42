using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// The adaptive step control the embedded Runge–Kutta integrators share (Dormand–Prince and the implicit/IMEX
/// methods): the RMS error norm, torchdiffeq's step-size update, Hairer's starting step, and the run over several
/// output times that carries the step size and the first stage from one time to the next.
/// </summary>
internal static class StepControl
{
    /// <summary>One run from (t0, y0) to t1: f0 is f(t0, y0) when known and on return f(t1, y1); dt is the trial step in, the proposed next out.</summary>
    public delegate NTensor Advance(NTensor y0, ref NTensor? f0, double t0, double t1, ref double dt, CancellationToken cancellationToken);

    /// <summary>sqrt(mean(x²)), the error norm of the step control.</summary>
    public static double Rms(NTensor x) => Math.Sqrt(x.Square().Mean().Item());

    /// <summary>
    /// The next step after a step of size h with error ratio <paramref name="ratio"/> (error / tolerance) for an
    /// embedded error estimate of order q: h · min(10, max(0.9 ratio^(−1/(q+1)), f)) with f = 1 when the step may grow,
    /// 0.2 otherwise; a zero error grows the step tenfold.
    /// </summary>
    public static double NextStep(double h, double ratio, int errorOrder, bool mayGrow)
    {
        if (ratio == 0) return h * 10;
        double dfactor = mayGrow ? 1 : 0.2;
        double factor = Math.Min(10, Math.Max(0.9 / Math.Pow(ratio, 1.0 / (errorOrder + 1)), dfactor));
        return h * factor;
    }

    /// <summary>
    /// Hairer's starting step for a method of order p (Solving ODEs I, II.4) from f0 = f(t0, y0), the weights
    /// <paramref name="scale"/> (atol + rtol |y0|) and one more evaluation <paramref name="fAfter"/>(h0) = f(t0 + h0, y0 + h0 f0).
    /// </summary>
    public static double InitialStep(NTensor y0, NTensor f0, NTensor scale, int order, Func<double, NTensor> fAfter)
    {
        double d0 = Rms(y0 / scale), d1 = Rms(f0 / scale);
        double h0 = FirstGuess(d0, d1);
        var f1 = fAfter(h0);
        double d2 = Rms((f1 - f0) / scale) / h0;
        return FromSecondDerivative(h0, d1, d2, order);
    }

    /// <summary>Hairer's first guess h0 from d0 = ‖y0‖ and d1 = ‖f0‖ (weighted RMS norms).</summary>
    public static double FirstGuess(double d0, double d1) => d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;

    /// <summary>Hairer's starting step from h0, d1 = ‖f0‖ and d2 = ‖f(t0 + h0, y0 + h0 f0) − f0‖ / h0 for order p.</summary>
    public static double FromSecondDerivative(double h0, double d1, double d2, int order)
    {
        double h1 = d1 <= 1e-15 && d2 <= 1e-15 ? Math.Max(1e-6, h0 * 1e-3) : Math.Pow(0.01 / Math.Max(d1, d2), 1.0 / (order + 1));
        return Math.Min(100 * h0, h1);
    }

    /// <summary>y at each of <paramref name="times"/> from y(t0) = y0 in one run of <paramref name="advance"/>, the step size and first stage carried over.</summary>
    public static NTensor[] AtTimes(Advance advance, NTensor y0, double t0, IReadOnlyList<double> times, ref double stepSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(times);
        var result = new NTensor[times.Count];
        NTensor? f0 = null;
        var y = y0;
        double t = t0;
        for (int i = 0; i < times.Count; i++)
        {
            y = advance(y, ref f0, t, times[i], ref stepSize, cancellationToken);
            t = times[i];
            result[i] = y;
        }
        return result;
    }
}
