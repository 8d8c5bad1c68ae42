using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Adaptive explicit Runge–Kutta integrator of Dormand and Prince, order 5 with an embedded order-4 error estimate
/// (Hairer, Nørsett, Wanner, Solving ODEs I, II.5), with the step control torchdiffeq's "dopri5" uses: Hairer's
/// initial step, error ratio = RMS(err / (atol + rtol max(|y0|, |y1|))), next step = dt · clamp(0.9 ratio^(-1/5),
/// 0.2 (1 after an accepted step), 10). Steps are shortened to land on the requested end time; the step size the
/// control proposed before that shortening is handed back, so that a following interval continues with it.
/// </summary>
public sealed class DormandPrince : IStepIntegrator
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

    /// <summary>Accepted steps after which a run checks whether it can reach its end within <see cref="MaxSteps"/>.</summary>
    private const int ProjectionWindow = 200;

    private readonly Func<double, NTensor, NTensor> _f;

    /// <param name="f">The right-hand side f(t, y).</param>
    /// <param name="rtol">Relative tolerance, positive.</param>
    /// <param name="atol">Absolute tolerance, positive.</param>
    /// <param name="maxSteps">Most accepted plus rejected steps one call may take (see <see cref="MaxSteps"/>).</param>
    /// <param name="atolVector">Optional per-entry absolute tolerance (same shape as y) replacing <paramref name="atol"/>;
    /// an entry of +∞ leaves that component out of the error control (a "seminorm").</param>
    public DormandPrince(Func<double, NTensor, NTensor> f, double rtol = 1e-5, double atol = 1e-5, int maxSteps = 1_000_000, NTensor? atolVector = null)
    {
        _f = f ?? throw new ArgumentNullException(nameof(f));
        if (!(rtol > 0) || !double.IsFinite(rtol)) throw new ArgumentOutOfRangeException(nameof(rtol), rtol, "The relative tolerance must be positive and finite.");
        if (!(atol > 0) || !double.IsFinite(atol)) throw new ArgumentOutOfRangeException(nameof(atol), atol, "The absolute tolerance must be positive and finite.");
        if (maxSteps < 1) throw new ArgumentOutOfRangeException(nameof(maxSteps), maxSteps, "The step limit must be at least 1.");
        RTol = rtol;
        ATol = atol;
        MaxSteps = maxSteps;
        _atolVector = atolVector;
    }

    private readonly NTensor? _atolVector;

    /// <summary>Relative tolerance of the step control.</summary>
    public double RTol { get; }

    /// <summary>Absolute tolerance of the step control.</summary>
    public double ATol { get; }

    /// <summary>
    /// Most steps (accepted and rejected) one call may take. A run whose recent step size shows that it cannot reach
    /// its end within this limit stops early with a message saying so (after <c>200</c> accepted steps), instead of
    /// taking them all.
    /// </summary>
    public int MaxSteps { get; }

    /// <summary>Right-hand-side evaluations so far.</summary>
    public long Evaluations { get; private set; }

    /// <summary>Accepted steps so far.</summary>
    public long AcceptedSteps { get; private set; }

    /// <summary>Rejected steps so far.</summary>
    public long RejectedSteps { get; private set; }

    /// <summary>Called after each accepted step with (t, t1) in integrator units (e.g. for a progress display).</summary>
    public Action<double, double>? OnStep { get; set; }

    /// <summary>Called after each accepted step with the new (t, y), e.g. to store checkpoints.</summary>
    public Action<double, NTensor>? OnAccepted { get; set; }

    /// <summary>
    /// Called after each accepted step, before <see cref="OnAccepted"/>, with (t, h, y1, f1): the step's start time
    /// and size in integrator units (a step cut to land on the end of a run has h = t_end − t), the new y and
    /// f(t + h, y1), the first stage of the next step. From the step's start y and f(t, y),
    /// <see cref="TakeStep(NTensor, NTensor, double, double)"/>(y, f(t, y), t, h) repeats it bit for bit.
    /// </summary>
    public Action<double, double, NTensor, NTensor>? OnAcceptedStep { get; set; }

    /// <summary>f(t, y), counted in <see cref="Evaluations"/>: the same evaluation the steps make, e.g. the first
    /// stage f(t0, y0) of a run, to differentiate it on a tape.</summary>
    public NTensor Evaluate(double t, NTensor y)
    {
        ArgumentNullException.ThrowIfNull(y);
        return F(t, y);
    }

    private NTensor F(double t, NTensor y)
    {
        Evaluations++;
        return _f(t, y);
    }

    /// <summary>Integrates y' = f(t, y) from t0 to t1 (t1 ≥ t0) and returns y(t1), choosing the first step by Hairer's rule.</summary>
    public NTensor Integrate(NTensor y0, double t0, double t1, CancellationToken cancellationToken = default)
    {
        double step = 0;
        return Integrate(y0, t0, t1, ref step, cancellationToken);
    }

    /// <summary>
    /// Integrates y' = f(t, y) from t0 to t1 (t1 ≥ t0) and returns y(t1). <paramref name="stepSize"/> is the first
    /// trial step (0 or NaN: Hairer's initial step) and on return holds the step the control proposes next, to pass to
    /// the call that continues from t1.
    /// </summary>
    public NTensor Integrate(NTensor y0, double t0, double t1, ref double stepSize, CancellationToken cancellationToken = default)
    {
        NTensor? f0 = null;
        return Advance(y0, ref f0, t0, t1, ref stepSize, cancellationToken);
    }

    /// <summary>
    /// y at each of <paramref name="times"/> (ascending, the first ≥ t0) from y(t0) = y0, in one run: the step size and
    /// the first-same-as-last stage carry over from one output time to the next.
    /// </summary>
    public NTensor[] Integrate(NTensor y0, double t0, IReadOnlyList<double> times, ref double stepSize, CancellationToken cancellationToken = default) =>
        StepControl.AtTimes(Advance, y0, t0, times, ref stepSize, cancellationToken);

    /// <summary>
    /// One run from (t0, y0) to t1. <paramref name="f0"/> is f(t0, y0) when known (first same as last) and on return
    /// f(t1, y(t1)); <paramref name="dt"/> is the trial step in and the proposed next step out.
    /// </summary>
    private NTensor Advance(NTensor y0, ref NTensor? f0, double t0, double t1, ref double dt, CancellationToken cancellationToken)
    {
        if (!double.IsFinite(t0)) throw new ArgumentOutOfRangeException(nameof(t0), t0, "The integration start must be finite.");
        if (!double.IsFinite(t1)) throw new ArgumentOutOfRangeException(nameof(t1), t1, "The integration end must be finite.");
        if (t1 < t0) throw new ArgumentOutOfRangeException(nameof(t1), t1, $"The integration end lies before the start {t0} (integrator units).");
        if (t1 == t0) return y0;
        cancellationToken.ThrowIfCancellationRequested();
        var fy = f0 ?? F(t0, y0);
        if (!double.IsFinite(StepControl.Rms(fy))) throw new InvalidOperationException($"DormandPrince: the right-hand side is not finite at t = {t0}; check the inputs (m, fields, parameters).");
        if (!(dt > 0) || !double.IsFinite(dt)) dt = InitialStep(t0, y0, fy);
        var y = y0;
        double t = t0;
        int steps = 0, accepted = 0;
        double windowStart = t0;
        while (t < t1)
        {
            if (++steps > MaxSteps)
                throw new InvalidOperationException($"DormandPrince: more than {MaxSteps} steps between t = {t0} and {t1} (integrator units), at t = {t}; the problem may be stiff or the tolerances too tight: raise MaxSteps, loosen rtol/atol or shorten the interval.");
            double h = Math.Min(dt, t1 - t);
            bool last = h >= t1 - t;
            if (t + h == t) throw new InvalidOperationException($"DormandPrince: the step size {h:g} underflows at t = {t} (integrator units); the problem is too stiff for this explicit method at these tolerances.");
            double tStart = t;
            var (y1, f1, ratio) = TakeStep(y, fy, t, h, estimateError: true);
            if (!double.IsFinite(ratio))
            {
                // A trial step that overflowed (too large for a stiff start, e.g. strong DMI on a fine mesh): reject it
                // and shrink by the largest decrease factor.
                RejectedSteps++;
                dt = 0.2 * h;
                continue;
            }
            bool accept = ratio <= 1;
            double next = StepControl.NextStep(h, ratio, 4, ratio < 1);
            if (accept)
            {
                y = y1;
                t = last ? t1 : t + h;
                fy = f1; // first-same-as-last
                AcceptedSteps++;
                accepted++;
                OnAcceptedStep?.Invoke(tStart, h, y, fy);
                OnAccepted?.Invoke(t, y);
                OnStep?.Invoke(t, t1);
                cancellationToken.ThrowIfCancellationRequested();
                // A step shortened to land on t1 says nothing against the step proposed before it: keep that one.
                dt = last && h < dt ? Math.Max(dt, next) : next;
                if (accepted % ProjectionWindow == 0 && t < t1)
                {
                    double recent = (t - windowStart) / ProjectionWindow;
                    windowStart = t;
                    double needed = (t1 - t) / recent;
                    if (steps + needed > MaxSteps)
                        throw new InvalidOperationException(
                            $"DormandPrince: at the recent step size {recent:g} (integrator units) reaching t = {t1} from t = {t} needs about {needed:E2} more steps, " +
                            $"beyond the limit of {MaxSteps} steps per call. The problem is stiff for this explicit method (fine cells, strong exchange or anisotropy): " +
                            "use coarser cells, shorter intervals, looser tolerances, or raise MaxSteps.");
                }
            }
            else
            {
                RejectedSteps++;
                dt = next;
            }
        }
        f0 = fy;
        return y;
    }

    /// <summary>
    /// One Dormand–Prince step of size <paramref name="h"/> from (<paramref name="t"/>, <paramref name="y"/>), with
    /// <paramref name="fy"/> = f(t, y): the order-5 solution y1 at t + h and f(t + h, y1), the last stage, which is the
    /// first stage of the following step (first same as last). Six right-hand-side evaluations; no step control. The
    /// arithmetic is that of the steps <see cref="Integrate(NTensor, double, double, ref double, CancellationToken)"/>
    /// takes, so an accepted step reported by <see cref="OnAcceptedStep"/> as (t, h) is reproduced bit for bit from
    /// its start y and f; on a recording tape the result is differentiable in y, fy and whatever f depends on (h is
    /// a constant).
    /// </summary>
    /// <param name="y">The state at <paramref name="t"/>.</param>
    /// <param name="fy">f(t, y), same shape as y.</param>
    /// <param name="t">Start time of the step (integrator units), finite.</param>
    /// <param name="h">Step size, positive and finite.</param>
    public (NTensor Y, NTensor F) TakeStep(NTensor y, NTensor fy, double t, double h)
    {
        StepArguments.Check(y, fy, t, h);
        var (y1, f1, _) = TakeStep(y, fy, t, h, estimateError: false);
        return (y1, f1);
    }

    /// <summary>
    /// The stages of one step: y1 = y + h Σ b5_j k_j, k6 = f(t + h, y1), and the step control's error ratio
    /// RMS(err / (atol + rtol max(|y|, |y1|))) of the embedded order-4 estimate when <paramref name="estimateError"/>
    /// (NaN otherwise).
    /// </summary>
    private (NTensor Y, NTensor F, double ErrorRatio) TakeStep(NTensor y, NTensor fy, double t, double h, bool estimateError)
    {
        var k = new NTensor[7];
        k[0] = fy;
        for (int s = 1; s < 7; s++)
            k[s] = F(t + C[s] * h, StageSum.Of(y, k, A[s], s, h));
        var y1 = StageSum.Of(y, k, B5, 7, h);
        if (!estimateError) return (y1, k[6], double.NaN);
        var weights = new double[7];
        for (int j = 0; j < 7; j++) weights[j] = h * (B5[j] - B4[j]);
        var err = NTensor.LinearCombination(k, weights);
        var scaleMax = NTensor.Maximum(y.Abs(), y1.Abs()) * RTol;
        var tol = _atolVector is null ? scaleMax + ATol : scaleMax + _atolVector;
        return (y1, k[6], StepControl.Rms(err / tol));
    }

    /// <summary>Hairer's starting step for this order-5 method (<see cref="StepControl.InitialStep"/>).</summary>
    private double InitialStep(double t0, NTensor y0, NTensor f0)
    {
        var scale = _atolVector is null ? y0.Abs() * RTol + ATol : y0.Abs() * RTol + _atolVector;
        return StepControl.InitialStep(y0, f0, scale, 5, h0 => F(t0 + h0, y0 + f0 * h0));
    }
}
