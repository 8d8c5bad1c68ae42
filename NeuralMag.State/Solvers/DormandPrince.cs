using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Adaptive explicit Runge–Kutta integrator of Dormand and Prince, order 5 with an embedded order-4 error estimate
/// (Hairer, Nørsett, Wanner, Solving ODEs I, II.5), with the step control torchdiffeq's "dopri5" uses: Hairer's
/// initial step, error ratio = RMS(err / (atol + rtol max(|y0|, |y1|))), next step = dt · clamp(0.9 ratio^(-1/5),
/// 0.2 (1 after an accepted step), 10). Steps are shortened to land on the requested end time.
/// </summary>
public sealed class DormandPrince
{
    private static readonly double[] C = { 0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1 };
    private static readonly double[][] A =
    {
        Array.Empty<double>(),
        new[] { 1.0 / 5 },
        new[] { 3.0 / 40, 9.0 / 40 },
        new[] { 44.0 / 45, -56.0 / 15, 32.0 / 9 },
        new[] { 19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729 },
        new[] { 9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656 },
        new[] { 35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84 },
    };
    private static readonly double[] B5 = { 35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0 };
    private static readonly double[] B4 = { 5179.0 / 57600, 0, 7571.0 / 16695, 393.0 / 640, -92097.0 / 339200, 187.0 / 2100, 1.0 / 40 };

    private readonly Func<double, NTensor, NTensor> _f;

    /// <summary>An integrator of dy/dt = f(t, y).</summary>
    /// <param name="f">The right-hand side f(t, y), same shape as y.</param>
    /// <param name="rtol">Relative tolerance of the step control (positive).</param>
    /// <param name="atol">Absolute tolerance of the step control (positive).</param>
    /// <exception cref="ArgumentException">A tolerance is not positive.</exception>
    public DormandPrince(Func<double, NTensor, NTensor> f, double rtol = 1e-5, double atol = 1e-5)
    {
        _f = f ?? throw new ArgumentNullException(nameof(f));
        if (!(rtol > 0) || !(atol > 0)) throw new ArgumentException($"rtol and atol must be positive (got {rtol}, {atol}).");
        RTol = rtol;
        ATol = atol;
    }

    /// <summary>Relative tolerance of the step control.</summary>
    public double RTol { get; }
    /// <summary>Absolute tolerance of the step control.</summary>
    public double ATol { get; }

    /// <summary>Right-hand-side evaluations so far.</summary>
    public long Evaluations { get; private set; }
    /// <summary>Steps accepted so far.</summary>
    public long AcceptedSteps { get; private set; }
    /// <summary>Steps rejected (and retried with a smaller step) so far.</summary>
    public long RejectedSteps { get; private set; }

    /// <summary>Called after each accepted step with (t, t1) in integrator units (e.g. for a progress display).</summary>
    public Action<double, double>? OnStep { get; set; }

    /// <summary>Largest number of steps one call may take before giving up.</summary>
    public int MaxSteps { get; init; } = 1_000_000;

    private NTensor F(double t, NTensor y)
    {
        Evaluations++;
        return _f(t, y);
    }

    private static double Rms(NTensor x) => Math.Sqrt(x.Square().Mean().Item());

    /// <summary>Integrates y' = f(t, y) from t0 to t1 and returns y(t1).</summary>
    public NTensor Integrate(NTensor y0, double t0, double t1)
    {
        if (t1 == t0) return y0;
        if (t1 < t0) throw new ArgumentException($"Integration end {t1} lies before the start {t0}.");
        var f0 = F(t0, y0);
        double dt = InitialStep(t0, y0, f0);
        var y = y0;
        double t = t0;
        var k = new NTensor[7];
        int steps = 0;
        while (t < t1)
        {
            if (++steps > MaxSteps) throw new InvalidOperationException($"DormandPrince: more than {MaxSteps} steps between t = {t0} and {t1}; the problem may be stiff or the tolerances too tight.");
            double h = Math.Min(dt, t1 - t);
            bool last = h >= t1 - t;
            k[0] = f0;
            for (int s = 1; s < 7; s++)
            {
                var ys = y;
                for (int j = 0; j < s; j++)
                    if (A[s][j] != 0) ys = ys + k[j] * (h * A[s][j]);
                k[s] = F(t + C[s] * h, ys);
            }
            var y1 = y;
            for (int j = 0; j < 7; j++)
                if (B5[j] != 0) y1 = y1 + k[j] * (h * B5[j]);
            var err = k[0] * (h * (B5[0] - B4[0]));
            for (int j = 1; j < 7; j++)
                if (B5[j] - B4[j] != 0) err = err + k[j] * (h * (B5[j] - B4[j]));
            var tol = NTensor.Maximum(y.Abs(), y1.Abs()) * RTol + ATol;
            double ratio = Rms(err / tol);
            if (!double.IsFinite(ratio))
            {
                // A trial step that overflowed (too large for a stiff start, e.g. strong DMI on a fine mesh): reject it
                // and shrink by the largest decrease factor, unless the state itself is already broken.
                if (!double.IsFinite(Rms(f0))) throw new InvalidOperationException($"DormandPrince: the right-hand side is not finite at t = {t}; check the inputs (m, fields, parameters).");
                RejectedSteps++;
                dt = 0.2 * h;
                if (dt <= 1e-14 * Math.Max(Math.Abs(t), Math.Abs(t1 - t0))) throw new InvalidOperationException($"DormandPrince: step size underflow at t = {t} after non-finite error estimates.");
                continue;
            }
            bool accept = ratio <= 1;
            if (accept)
            {
                y = y1;
                t = last ? t1 : t + h;
                f0 = k[6]; // first-same-as-last
                AcceptedSteps++;
                OnStep?.Invoke(t, t1);
            }
            else RejectedSteps++;
            dt = NextStep(h, ratio, accept);
        }
        return y;
    }

    private static double NextStep(double h, double ratio, bool accepted)
    {
        if (ratio == 0) return h * 10;
        double dfactor = ratio < 1 ? 1 : 0.2;
        double factor = Math.Min(10, Math.Max(0.9 / Math.Pow(ratio, 1.0 / 5), dfactor));
        return h * factor;
    }

    /// <summary>Hairer's starting step for an order-5 method (Solving ODEs I, II.4).</summary>
    private double InitialStep(double t0, NTensor y0, NTensor f0)
    {
        var scale = y0.Abs() * RTol + ATol;
        double d0 = Rms(y0 / scale), d1 = Rms(f0 / scale);
        double h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
        var f1 = F(t0 + h0, y0 + f0 * h0);
        double d2 = Rms((f1 - f0) / scale) / h0;
        double h1 = d1 <= 1e-15 && d2 <= 1e-15 ? Math.Max(1e-6, h0 * 1e-3) : Math.Pow(0.01 / Math.Max(d1, d2), 1.0 / 6);
        return Math.Min(100 * h0, h1);
    }
}
