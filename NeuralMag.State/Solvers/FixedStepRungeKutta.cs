using NeuralMag.AD;

namespace NeuralMag;

/// <summary>The classical explicit Runge–Kutta methods that <see cref="FixedStepRungeKutta"/> runs with a fixed step.</summary>
public enum FixedStepMethod
{
    /// <summary>Forward Euler, y1 = y + h f(t, y): order 1, one evaluation per step.</summary>
    Euler,
    /// <summary>Explicit midpoint, y1 = y + h f(t + h/2, y + h/2 f(t, y)): order 2, two evaluations.</summary>
    Midpoint,
    /// <summary>Heun (explicit trapezoid), y1 = y + h/2 (k1 + f(t + h, y + h k1)): order 2, two evaluations.</summary>
    Heun,
    /// <summary>The classical Runge–Kutta method, weights (1, 2, 2, 1)/6: order 4, four evaluations.</summary>
    RK4,
}

/// <summary>
/// Explicit Runge–Kutta integration of y' = f(t, y) with a fixed step h (upstream's torchdiffeq fixed-grid methods
/// euler, midpoint, rk4; Hairer, Nørsett, Wanner, Solving ODEs I, II.1): a run from t0 to t1 takes ⌈(t1 − t0)/h⌉ steps
/// of size h, the last one shortened to land on t1. Nothing is rejected and no error is estimated, so the accuracy is
/// the user's choice of h: the global error falls as h^p for a method of order p.
/// </summary>
public sealed class FixedStepRungeKutta : IStepIntegrator
{
    private readonly Func<double, NTensor, NTensor> _f;
    private readonly double[] _c;
    private readonly double[][] _a;
    private readonly double[] _b;

    /// <param name="f">The right-hand side f(t, y).</param>
    /// <param name="method">The Runge–Kutta method.</param>
    /// <param name="step">The step h in the units of t, positive and finite.</param>
    /// <param name="maxSteps">Most steps one run may take; a run that would need more is refused before it starts.</param>
    /// <param name="rtol">Relative tolerance kept for callers that also run adaptive integrations (unused here), positive.</param>
    /// <param name="atol">Absolute tolerance kept likewise, positive.</param>
    public FixedStepRungeKutta(Func<double, NTensor, NTensor> f, FixedStepMethod method, double step, int maxSteps = 1_000_000, double rtol = 1e-5, double atol = 1e-5)
    {
        _f = f ?? throw new ArgumentNullException(nameof(f));
        if (!(step > 0) || !double.IsFinite(step)) throw new ArgumentOutOfRangeException(nameof(step), step, "The fixed step must be positive and finite.");
        if (maxSteps < 1) throw new ArgumentOutOfRangeException(nameof(maxSteps), maxSteps, "The step limit must be at least 1.");
        if (!(rtol > 0) || !double.IsFinite(rtol)) throw new ArgumentOutOfRangeException(nameof(rtol), rtol, "The relative tolerance must be positive and finite.");
        if (!(atol > 0) || !double.IsFinite(atol)) throw new ArgumentOutOfRangeException(nameof(atol), atol, "The absolute tolerance must be positive and finite.");
        (_c, _a, _b) = method switch
        {
            FixedStepMethod.Euler => (new[] { 0.0 }, new[] { Array.Empty<double>() }, new[] { 1.0 }),
            FixedStepMethod.Midpoint => (new[] { 0.0, 0.5 }, new[] { Array.Empty<double>(), new[] { 0.5 } }, new[] { 0.0, 1.0 }),
            FixedStepMethod.Heun => (new[] { 0.0, 1.0 }, new[] { Array.Empty<double>(), new[] { 1.0 } }, new[] { 0.5, 0.5 }),
            FixedStepMethod.RK4 => (new[] { 0.0, 0.5, 0.5, 1.0 }, new[] { Array.Empty<double>(), new[] { 0.5 }, new[] { 0.0, 0.5 }, new[] { 0.0, 0.0, 1.0 } },
                new[] { 1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6 }),
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown fixed-step method."),
        };
        Method = method;
        Step = step;
        MaxSteps = maxSteps;
        RTol = rtol;
        ATol = atol;
    }

    /// <summary>The Runge–Kutta method.</summary>
    public FixedStepMethod Method { get; }

    /// <summary>The fixed step h (units of t).</summary>
    public double Step { get; }

    /// <inheritdoc />
    public double RTol { get; }

    /// <inheritdoc />
    public double ATol { get; }

    /// <inheritdoc />
    public int MaxSteps { get; }

    /// <inheritdoc />
    public long Evaluations { get; private set; }

    /// <inheritdoc />
    public long AcceptedSteps { get; private set; }

    /// <inheritdoc />
    public long RejectedSteps => 0;

    /// <inheritdoc />
    public Action<double, double>? OnStep { get; set; }

    /// <inheritdoc />
    public Action<double, NTensor>? OnAccepted { get; set; }

    /// <inheritdoc />
    public Action<double, double, NTensor, NTensor>? OnAcceptedStep { get; set; }

    private NTensor F(double t, NTensor y)
    {
        Evaluations++;
        return _f(t, y);
    }

    /// <inheritdoc />
    public NTensor Evaluate(double t, NTensor y)
    {
        ArgumentNullException.ThrowIfNull(y);
        return F(t, y);
    }

    /// <inheritdoc />
    public NTensor Integrate(NTensor y0, double t0, double t1, CancellationToken cancellationToken = default)
    {
        double step = 0;
        return Integrate(y0, t0, t1, ref step, cancellationToken);
    }

    /// <summary>y(t1) from y(t0) = y0 in steps of <see cref="Step"/>; <paramref name="stepSize"/> is ignored on entry and set to <see cref="Step"/>.</summary>
    public NTensor Integrate(NTensor y0, double t0, double t1, ref double stepSize, CancellationToken cancellationToken = default)
    {
        NTensor? f0 = null;
        stepSize = Step;
        return Advance(y0, ref f0, t0, t1, cancellationToken);
    }

    /// <summary>y at each of <paramref name="times"/> in one run of steps of <see cref="Step"/> (each output time ends a shortened step).</summary>
    public NTensor[] Integrate(NTensor y0, double t0, IReadOnlyList<double> times, ref double stepSize, CancellationToken cancellationToken = default)
    {
        var result = StepControl.AtTimes((NTensor y, ref NTensor? f0, double from, double to, ref double _, CancellationToken ct) => Advance(y, ref f0, from, to, ct),
            y0, t0, times, ref stepSize, cancellationToken);
        stepSize = Step;
        return result;
    }

    private NTensor Advance(NTensor y0, ref NTensor? f0, double t0, double t1, CancellationToken cancellationToken)
    {
        if (!double.IsFinite(t0)) throw new ArgumentOutOfRangeException(nameof(t0), t0, "The integration start must be finite.");
        if (!double.IsFinite(t1)) throw new ArgumentOutOfRangeException(nameof(t1), t1, "The integration end must be finite.");
        if (t1 < t0) throw new ArgumentOutOfRangeException(nameof(t1), t1, $"The integration end lies before the start {t0} (integrator units).");
        if (t1 == t0) return y0;
        double needed = Math.Ceiling((t1 - t0) / Step);
        if (needed > MaxSteps)
            throw new InvalidOperationException($"{Method}: reaching t = {t1} from t = {t0} takes {needed:E2} steps of {Step:g} (integrator units), beyond the limit of {MaxSteps}; use a larger step or raise MaxSteps.");
        cancellationToken.ThrowIfCancellationRequested();
        var fy = f0 ?? F(t0, y0);
        var y = y0;
        for (long i = 0; ; i++)
        {
            double t = t0 + i * Step;
            if (t >= t1) break;
            bool last = t + Step >= t1;
            double h = last ? t1 - t : Step;
            (y, fy) = StepCore(y, fy, t, h);
            AcceptedSteps++;
            double tEnd = last ? t1 : t + h;
            OnAcceptedStep?.Invoke(t, h, y, fy);
            OnAccepted?.Invoke(tEnd, y);
            OnStep?.Invoke(tEnd, t1);
            cancellationToken.ThrowIfCancellationRequested();
            if (last) break;
        }
        f0 = fy;
        return y;
    }

    /// <summary>
    /// One step of size <paramref name="h"/> from (<paramref name="t"/>, <paramref name="y"/>) with fy = f(t, y):
    /// y1 = y + h Σ b_j k_j and f(t + h, y1), the next step's first stage. The arithmetic of the steps of a run, so an
    /// accepted step reported by <see cref="OnAcceptedStep"/> is repeated bit for bit; differentiable on a tape.
    /// </summary>
    public (NTensor Y, NTensor F) TakeStep(NTensor y, NTensor fy, double t, double h)
    {
        StepArguments.Check(y, fy, t, h);
        return StepCore(y, fy, t, h);
    }

    private (NTensor Y, NTensor F) StepCore(NTensor y, NTensor fy, double t, double h)
    {
        var k = new NTensor[_b.Length];
        k[0] = fy;
        for (int s = 1; s < k.Length; s++)
            k[s] = F(t + _c[s] * h, StageSum.Of(y, k, _a[s], s, h));
        var y1 = StageSum.Of(y, k, _b, k.Length, h);
        return (y1, F(t + h, y1));
    }
}
