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
    /// <param name="members">0 (default): y is one system. B ≥ 1: y is a batch of B members along its leading axis,
    /// each with its own error norm and step control (<see cref="MemberOutcomes"/>).</param>
    /// <param name="mode">How the members of a batch choose their steps (ignored without a batch).</param>
    public DormandPrince(Func<double, NTensor, NTensor> f, double rtol = 1e-5, double atol = 1e-5, int maxSteps = 1_000_000, NTensor? atolVector = null,
        int members = 0, BatchSteps mode = BatchSteps.PerMember)
    {
        if (members < 0) throw new ArgumentOutOfRangeException(nameof(members), members, "members is 0 (one system) or the batch size (1 or more).");
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), mode, "mode must be BatchSteps.PerMember or BatchSteps.Common.");
        Members = members;
        Mode = members > 0 ? mode : BatchSteps.PerMember;
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
    private double[]? _memberSteps;

    /// <summary>0: one system; B: a batch of B members along y's leading axis.</summary>
    public int Members { get; }

    /// <summary>How the members of a batch choose their steps.</summary>
    public BatchSteps Mode { get; }

    /// <summary>On a batch, how each member's last run ended (completed, or failed with its message and the time it
    /// reached); null before the first run and without a batch (a failure then throws).</summary>
    public IReadOnlyList<MemberOutcome>? MemberOutcomes { get; private set; }

    /// <summary>On a batch, members that the next runs leave as they are (e.g. converged in a relaxation); null: none.</summary>
    internal IReadOnlyList<bool>? Frozen { get; set; }

    /// <summary>On a batch, the step each member proposed at the end of the last run (a following run with a positive
    /// trial step continues with these); null before the first run.</summary>
    public IReadOnlyList<double>? MemberStepSizes => _memberSteps;

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
        _failures = null;
        return Advance(y0, ref f0, t0, t1, ref stepSize, cancellationToken);
    }

    /// <summary>
    /// y at each of <paramref name="times"/> (ascending, the first ≥ t0) from y(t0) = y0, in one run: the step size and
    /// the first-same-as-last stage carry over from one output time to the next.
    /// </summary>
    public NTensor[] Integrate(NTensor y0, double t0, IReadOnlyList<double> times, ref double stepSize, CancellationToken cancellationToken = default)
    {
        _failures = null;
        return StepControl.AtTimes(Advance, y0, t0, times, ref stepSize, cancellationToken);
    }

    /// <summary>The members of a batch that failed during the current Integrate call (message, time), kept across its output times.</summary>
    private (string Message, double Time)?[]? _failures;

    /// <summary>
    /// One run from (t0, y0) to t1. <paramref name="f0"/> is f(t0, y0) when known (first same as last) and on return
    /// f(t1, y(t1)); <paramref name="dt"/> is the trial step in and the proposed next step out. On a batch
    /// (<see cref="Members"/> &gt; 0) every member runs this step control on its own (<see cref="BatchSteps.PerMember"/>)
    /// or all share the step of the worst member (<see cref="BatchSteps.Common"/>); a member that fails is frozen at its
    /// last accepted state and reported in <see cref="MemberOutcomes"/> while the others go on, and dt holds the
    /// smallest of the members' proposed steps (the members' own ones carry over in <see cref="MemberStepSizes"/>).
    /// </summary>
    private NTensor Advance(NTensor y0, ref NTensor? f0, double t0, double t1, ref double dt, CancellationToken cancellationToken)
    {
        if (!double.IsFinite(t0)) throw new ArgumentOutOfRangeException(nameof(t0), t0, "The integration start must be finite.");
        if (!double.IsFinite(t1)) throw new ArgumentOutOfRangeException(nameof(t1), t1, "The integration end must be finite.");
        if (t1 < t0) throw new ArgumentOutOfRangeException(nameof(t1), t1, $"The integration end lies before the start {t0} (integrator units).");
        int n = Math.Max(1, Members);
        if (Members > 0 && (y0.Rank == 0 || y0.Shape[0] != Members))
            throw new ArgumentException($"DormandPrince: y0 has shape {Shapes.Format(y0.GetShape())}; this integrator runs a batch of {Members} members (leading axis).", nameof(y0));
        // A member that failed at an earlier output time of this call stays where it stopped.
        var failures = _failures is { Length: var count } && count == n ? _failures : new (string Message, double Time)?[n];
        _failures = failures;
        var t = new double[n];
        var failed = failures.Select(f => f?.Message).ToArray();
        var accepted = new int[n];
        Array.Fill(t, t0);
        void Publish()
        {
            for (int b = 0; b < n; b++)
                if (failed[b] != null) failures[b] ??= (failed[b]!, t[b]);
            if (Members > 0)
                MemberOutcomes = Enumerable.Range(0, n).Select(b => failures[b] is var (message, time) ? new MemberOutcome(false, message, time, accepted[b]) : new MemberOutcome(true, null, t[b], accepted[b])).ToArray();
        }
        if (t1 == t0)
        {
            Publish();
            return y0;
        }
        cancellationToken.ThrowIfCancellationRequested();
        var fy = f0 ?? F(t0, y0);
        var step = new double[n];
        var windowStart = new double[n];
        Array.Fill(windowStart, t0);
        for (int b = 0; b < n; b++)
            if (failed[b] != null || Frozen is { } frozen && b < frozen.Count && frozen[b]) t[b] = t1;
        var fNorm = Ratios(fy);
        for (int b = 0; b < n; b++)
            if (!double.IsFinite(fNorm[b])) Fail(failed, b, $"DormandPrince: the right-hand side is not finite at t = {t0}; check the inputs (m, fields, parameters).");
        bool carried = dt > 0 && double.IsFinite(dt);
        for (int b = 0; b < n; b++)
            step[b] = carried ? (Members > 0 && _memberSteps is { } ms && ms.Length == n && ms[b] > 0 ? ms[b] : dt) : 0;
        if (!carried) step = InitialSteps(t0, y0, fy, failed);
        if (Mode == BatchSteps.Common) Array.Fill(step, Min(step, failed));
        var y = y0;
        int steps = 0;
        var h = new double[n];
        var last = new bool[n];
        var accept = new bool[n];
        while (Active(t, t1, failed) is not null)
        {
            if (++steps > MaxSteps)
            {
                for (int b = 0; b < n; b++)
                    if (failed[b] == null && t[b] < t1)
                        Fail(failed, b, $"DormandPrince: more than {MaxSteps} steps between t = {t0} and {t1} (integrator units), at t = {t[b]}; the problem may be stiff or the tolerances too tight: raise MaxSteps, loosen rtol/atol or shorten the interval.");
                break;
            }
            for (int b = 0; b < n; b++)
            {
                bool active = failed[b] == null && t[b] < t1;
                h[b] = active ? Math.Min(step[b], t1 - t[b]) : 0;
                last[b] = active && h[b] >= t1 - t[b];
                if (active && t[b] + h[b] == t[b])
                {
                    Fail(failed, b, $"DormandPrince: the step size {h[b]:g} underflows at t = {t[b]} (integrator units); the problem is too stiff for this explicit method at these tolerances.");
                    h[b] = 0;
                    last[b] = false;
                }
            }
            if (Active(t, t1, failed) is not int lead) break;
            double tStart = t[lead];
            var (y1, f1, ratio) = TakeSteps(y, fy, t[lead], h, estimateError: true);
            if (Mode == BatchSteps.Common)
            {
                // One step for all: the worst member's error ratio decides (a non-finite one rejects the step for all).
                double worst = 0;
                for (int b = 0; b < n; b++)
                    if (h[b] > 0) worst = double.IsFinite(ratio[b]) ? Math.Max(worst, ratio[b]) : double.NaN;
                for (int b = 0; b < n; b++) if (h[b] > 0) ratio[b] = worst;
            }
            bool anyAccepted = false;
            for (int b = 0; b < n; b++)
            {
                accept[b] = false;
                if (h[b] == 0) continue;
                if (!double.IsFinite(ratio[b]))
                {
                    // A trial step that overflowed (too large for a stiff start, e.g. strong DMI on a fine mesh): reject it
                    // and shrink by the largest decrease factor.
                    RejectedSteps++;
                    step[b] = 0.2 * h[b];
                    continue;
                }
                accept[b] = ratio[b] <= 1;
                double next = StepControl.NextStep(h[b], ratio[b], 4, ratio[b] < 1);
                if (!accept[b])
                {
                    RejectedSteps++;
                    step[b] = next;
                    continue;
                }
                anyAccepted = true;
                t[b] = last[b] ? t1 : t[b] + h[b];
                AcceptedSteps++;
                accepted[b]++;
                // A step shortened to land on t1 says nothing against the step proposed before it: keep that one.
                step[b] = last[b] && h[b] < step[b] ? Math.Max(step[b], next) : next;
                if (accepted[b] % ProjectionWindow == 0 && t[b] < t1)
                {
                    double recent = (t[b] - windowStart[b]) / ProjectionWindow;
                    windowStart[b] = t[b];
                    double needed = (t1 - t[b]) / recent;
                    if (steps + needed > MaxSteps)
                        Fail(failed, b,
                            $"DormandPrince: at the recent step size {recent:g} (integrator units) reaching t = {t1} from t = {t[b]} needs about {needed:E2} more steps, " +
                            $"beyond the limit of {MaxSteps} steps per call. The problem is stiff for this explicit method (fine cells, strong exchange or anisotropy): " +
                            "use coarser cells, shorter intervals, looser tolerances, or raise MaxSteps.");
                }
            }
            if (Mode == BatchSteps.Common) Array.Fill(step, Min(step, failed));
            if (!anyAccepted) continue;
            y = Select(accept, y1, y);
            fy = Select(accept, f1, fy); // first-same-as-last
            if (Members == 0)
            {
                OnAcceptedStep?.Invoke(tStart, h[0], y, fy);
                OnAccepted?.Invoke(t[0], y);
            }
            OnStep?.Invoke(Min(t, failed), t1);
            cancellationToken.ThrowIfCancellationRequested();
        }
        Publish();
        if (Members > 0)
        {
            _memberSteps = step;
            if (failed.All(m => m != null)) throw new InvalidOperationException($"DormandPrince: every member of the batch failed; member 0: {failed[0]}");
        }
        dt = Min(step, failed);
        f0 = fy;
        return y;
    }

    /// <summary>Without a batch a failure ends the run (throws); in a batch it freezes member b and the others go on.</summary>
    private void Fail(string?[] failed, int b, string message)
    {
        if (Members == 0) throw new InvalidOperationException(message);
        failed[b] ??= message;
    }

    /// <summary>The first member still running (not failed, before t1), or null when none is.</summary>
    private static int? Active(double[] t, double t1, string?[] failed)
    {
        for (int b = 0; b < t.Length; b++)
            if (failed[b] == null && t[b] < t1) return b;
        return null;
    }

    /// <summary>The smallest positive value over the members that have not failed (the first value when all have).</summary>
    private static double Min(double[] v, string?[] failed)
    {
        double m = double.PositiveInfinity;
        for (int b = 0; b < v.Length; b++)
            if (failed[b] == null && v[b] > 0) m = Math.Min(m, v[b]);
        return double.IsPositiveInfinity(m) ? v[0] : m;
    }

    /// <summary>y1 where the member's step was accepted, y elsewhere (exactly: no arithmetic).</summary>
    private NTensor Select(bool[] accept, NTensor y1, NTensor y)
    {
        if (accept.All(a => a)) return y1;
        if (!accept.Any(a => a)) return y;
        var mask = NTensor.FromArray(accept.Select(a => a ? 1.0 : 0.0).ToArray(), Batch.MemberScalarShape(Members, y.Rank - 1), y.DType, y.Device);
        return NTensor.Where(mask, y1, y);
    }

    /// <summary>The step control's norm RMS(x), one per member on a batch (each over its own block).</summary>
    private double[] Ratios(NTensor x)
    {
        if (Members == 0) return new[] { StepControl.Rms(x) };
        var means = Batch.MemberMeans(x.Square(), Members).ToArray();
        return means.Select(Math.Sqrt).ToArray();
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
        var (y1, f1, ratio) = TakeSteps(y, fy, t, new[] { h }, estimateError, single: true);
        return (y1, f1, ratio[0]);
    }

    /// <summary>
    /// The stages of one step of every member b with its own size h_b (one value without a batch): y1 = y + h_b Σ
    /// b5_j k_j member by member, each member's arithmetic that of a step of its own; the error ratios per member.
    /// The stages are evaluated at t + c_s h of the lead member (the members share t only with a common step, which a
    /// time-dependent right-hand side needs).
    /// </summary>
    private (NTensor Y, NTensor F, double[] ErrorRatio) TakeSteps(NTensor y, NTensor fy, double t, double[] h, bool estimateError, bool single = false)
    {
        bool members = Members > 0 && !single;
        double hLead = members ? h.FirstOrDefault(v => v > 0) : h[0];
        NTensor Sum(NTensor[] k, IReadOnlyList<double> a, int count) =>
            members ? StageSum.Of(y, k, a, count, h) : StageSum.Of(y, k, a, count, h[0]);
        var k = new NTensor[7];
        k[0] = fy;
        for (int s = 1; s < 7; s++)
            k[s] = F(t + C[s] * hLead, Sum(k, A[s], s));
        var y1 = Sum(k, B5, 7);
        if (!estimateError) return (y1, k[6], new[] { double.NaN });
        var difference = new double[7];
        for (int j = 0; j < 7; j++) difference[j] = B5[j] - B4[j];
        var err = members
            ? NTensor.LinearCombination(k, h.Select(hb => (IReadOnlyList<double>)difference.Select(d => hb * d).ToArray()).ToArray())
            : NTensor.LinearCombination(k, difference.Select(d => h[0] * d).ToArray());
        return (y1, k[6], StepError.Ratios(err, y, y1, RTol, ATol, AtolLike(y), members ? Members : 1));
    }

    private NTensor? _atolExpanded;

    /// <summary>The per-entry absolute tolerance broadcast to y's shape (expanded once per shape), or null.</summary>
    private NTensor? AtolLike(NTensor y)
    {
        if (_atolVector is null) return null;
        if (_atolVector.DType == y.DType && _atolVector.Device == y.Device && Shapes.Equal(_atolVector.GetShape(), y.GetShape())) return _atolVector;
        if (_atolExpanded is { } e && Shapes.Equal(e.GetShape(), y.GetShape()) && e.DType == y.DType && e.Device == y.Device) return e;
        return _atolExpanded = Tape.NoGrad(() => _atolVector.Cast(y.DType).To(y.Device).Expand(y.GetShape()));
    }

    /// <summary>Hairer's starting step per member (one value without a batch), members that failed left at 0.</summary>
    private double[] InitialSteps(double t0, NTensor y0, NTensor f0, string?[] failed)
    {
        if (Members == 0) return new[] { InitialStep(t0, y0, f0) };
        var scale = _atolVector is null ? y0.Abs() * RTol + ATol : y0.Abs() * RTol + _atolVector;
        double[] d0 = Ratios(y0 / scale), d1 = Ratios(f0 / scale);
        var h0 = new double[Members];
        for (int b = 0; b < Members; b++) h0[b] = failed[b] == null ? StepControl.FirstGuess(d0[b], d1[b]) : 0;
        var f1 = F(t0 + h0.FirstOrDefault(v => v > 0), StageSum.Of(y0, new[] { f0 }, new[] { 1.0 }, 1, h0));
        var d2 = Ratios((f1 - f0) / scale);
        var steps = new double[Members];
        for (int b = 0; b < Members; b++)
            if (failed[b] == null) steps[b] = StepControl.FromSecondDerivative(h0[b], d1[b], d2[b] / h0[b], 5);
        return steps;
    }

    /// <summary>Hairer's starting step for this order-5 method (<see cref="StepControl.InitialStep"/>).</summary>
    private double InitialStep(double t0, NTensor y0, NTensor f0)
    {
        var scale = _atolVector is null ? y0.Abs() * RTol + ATol : y0.Abs() * RTol + _atolVector;
        return StepControl.InitialStep(y0, f0, scale, 5, h0 => F(t0 + h0, y0 + f0 * h0));
    }
}
