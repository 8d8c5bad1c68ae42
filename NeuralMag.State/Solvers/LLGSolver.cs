using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Integrates the Landau–Lifshitz–Gilbert equation in its explicit form
/// dm/dt = -γ'(m × h) - αγ' m × (m × h), γ' = γ/(1 + α²), γ = 221276.14725379366 m/(A s),
/// with the effective field h (state attribute "h", A/m), the magnetization "m" and the damping "material.alpha"
/// read from the state by name (upstream's LLGSolver). Registered torque terms (<see cref="TorqueTerm"/>: spin-transfer
/// and spin-orbit torques) are added to that right-hand side; a thermal field is refused (see
/// <see cref="StochasticLLGSolver"/>). Time is scaled by <see cref="ScaleT"/> inside the integrator.
/// </summary>
public sealed class LLGSolver
{
    private readonly State _state;
    private readonly NamedFunction _rhs;
    private readonly IStepIntegrator _integrator;
    private NTensor[] _paramValues = Array.Empty<NTensor>();
    private double _carriedStep;
    private bool _normalizedNotice;
    private long _relaxEvaluations;
    // The call in progress, for progress reports: operation, start/end in integrator units, counters at its start.
    private (string Operation, double TauStart, double TauEnd, long Evaluations, long Steps) _call;

    /// <param name="state">The state holding m, h, material.alpha and t.</param>
    /// <param name="scaleT">Time unit of the integrator in s (upstream: 1e-9).</param>
    /// <param name="parameters">State attributes (e.g. "material.alpha", "external_field") that the Solve methods take
    /// as explicit, differentiable arguments; all other dependencies of the effective field are read from the state.</param>
    /// <param name="rtol">Relative tolerance of the adaptive step control.</param>
    /// <param name="atol">Absolute tolerance of the adaptive step control.</param>
    /// <param name="maxSteps">Most integrator steps one call may take (see <see cref="DormandPrince.MaxSteps"/>); a
    /// run that cannot reach its end within it stops early with a message.</param>
    /// <param name="fixedStepMethod">Null (default): adaptive Dormand–Prince 5(4). Otherwise a fixed-step method
    /// (Euler, midpoint, Heun, RK4) with the step <paramref name="fixedStep"/>; <see cref="Relax"/> and the backward
    /// pass of <see cref="SolveAdjoint"/> stay adaptive.</param>
    /// <param name="fixedStep">The step in s of a fixed-step method (positive); must be 0 for the adaptive method.</param>
    /// <param name="implicitMethod">Null (default): explicit. Otherwise an adaptive implicit (Kvaerno3/5: the torque of
    /// state.h implicitly) or implicit–explicit method (KenCarp3/5: the torque of state.h_impl implicitly, of
    /// state.h_expl explicitly, as upstream), Newton–GMRES stages (<see cref="ImplicitRungeKutta"/>); state.h is still
    /// used by <see cref="Relax"/> and the backward pass of <see cref="SolveAdjoint"/>.</param>
    /// <param name="implicitOptions">Newton and Krylov settings of <paramref name="implicitMethod"/>; null for the defaults.</param>
    /// <param name="batchSteps">On a batched state (<see cref="State.Batch"/>), how the members step with Dormand–Prince:
    /// each with its own adaptive step (default; the field must not depend on t) or one common step.</param>
    public LLGSolver(State state, double scaleT = 1e-9, string[]? parameters = null, double rtol = 1e-5, double atol = 1e-5, int maxSteps = 1_000_000,
        FixedStepMethod? fixedStepMethod = null, double fixedStep = 0, ImplicitMethod? implicitMethod = null, ImplicitSolverOptions? implicitOptions = null,
        BatchSteps batchSteps = BatchSteps.PerMember)
    {
        _state = state ?? throw new ArgumentNullException(nameof(state));
        if (!(scaleT > 0) || !double.IsFinite(scaleT)) throw new ArgumentOutOfRangeException(nameof(scaleT), scaleT, "The integrator's time unit scaleT must be a positive, finite time in s (upstream: 1e-9).");
        ScaleT = scaleT;
        Parameters = (parameters ?? Array.Empty<string>()).Select(State.NormalizeName).ToArray();
        foreach (var p in Parameters)
            if (p is "t" or "m") throw new ArgumentException($"'{p}' cannot be a parameter: t and m are the integration variables.", nameof(parameters));
        if (Parameters.Distinct().Count() != Parameters.Count)
            throw new ArgumentException($"parameters lists a name twice: [{string.Join(", ", Parameters)}].", nameof(parameters));
        ThermalField.Refuse(state, "LLGSolver");
        if (!Enum.IsDefined(batchSteps)) throw new ArgumentOutOfRangeException(nameof(batchSteps), batchSteps, "batchSteps must be BatchSteps.PerMember or BatchSteps.Common.");
        BatchSteps = batchSteps;
        var rightHandSide = TorqueTerm.RightHandSide(state);
        if (state.Batch is int batch)
        {
            if (implicitMethod is { } im)
                throw new NotSupportedException($"The implicit method {im} couples the members of a batch through its Newton and Krylov norms; integrate a batched state (batch of {batch}) with Dormand–Prince or a fixed-step method.");
            if (fixedStepMethod is null && batchSteps == BatchSteps.PerMember && state.DependsOn(rightHandSide, "t"))
                throw new ArgumentException($"The right-hand side depends on the time t, but BatchSteps.PerMember puts the {batch} members at different times within a step; pass batchSteps: BatchSteps.Common.", nameof(batchSteps));
        }
        _rhs = state.ResolveAllowingUnusedArgs(rightHandSide, new[] { "t", "m" }.Concat(Parameters).ToArray());
        NTensor F(double tau, NTensor m) => _rhs.Invoke(new[] { state.Scalar(tau * ScaleT), m }.Concat(_paramValues).ToArray()) * ScaleT;
        if (implicitMethod is { } implicitChoice)
        {
            if (fixedStepMethod is not null || fixedStep != 0)
                throw new ArgumentException($"Choose either a fixed-step method or the implicit method {implicitChoice}, not both.", nameof(implicitMethod));
            // The implicit stages linearize the precession/damping torque of h (h_impl/h_expl); other torque terms
            // would be left out of the stage equations, so they are refused rather than dropped.
            if (TorqueTerm.Registered(state) is { Count: > 0 } terms)
                throw new NotSupportedException($"The implicit method {implicitChoice} integrates the precession/damping torque of the field split h_impl/h_expl only; this state sums the torque terms [{string.Join(", ", terms)}]. Use Dormand–Prince or a fixed-step method with torque terms.");
            _integrator = LLGTorqueSplit.Create(state, implicitChoice, new[] { "t", "m" }.Concat(Parameters).ToArray(), () => _paramValues, ScaleT, rtol, atol, maxSteps, implicitOptions);
        }
        else if (fixedStepMethod is { } method)
        {
            if (!(fixedStep > 0) || !double.IsFinite(fixedStep))
                throw new ArgumentOutOfRangeException(nameof(fixedStep), fixedStep, $"The {method} method needs a positive, finite fixedStep in s.");
            _integrator = new FixedStepRungeKutta(F, method, fixedStep / ScaleT, maxSteps, rtol, atol);
        }
        else
        {
            if (fixedStep != 0)
                throw new ArgumentOutOfRangeException(nameof(fixedStep), fixedStep, "fixedStep applies to a fixed-step method; give fixedStepMethod too, or leave fixedStep at 0 for adaptive Dormand–Prince.");
            _integrator = new DormandPrince(F, rtol, atol, maxSteps, members: state.Batch ?? 0, mode: batchSteps);
        }
        _integrator.OnStep = (tau, _) => ReportIntegration(tau);
        Method = fixedStepMethod;
    }

    /// <summary>
    /// Receives a <see cref="SolverProgress"/> after every accepted step of <see cref="Step"/> and the Solve methods,
    /// and after every interval of <see cref="Relax"/>, on the solver's thread (e.g. a <see cref="TextProgress"/> or
    /// a progress bar). Null (default): no reports.
    /// </summary>
    public IProgress<SolverProgress>? Progress { get; set; }

    /// <summary>How the members of a batched state step (see the constructor).</summary>
    public BatchSteps BatchSteps { get; }

    /// <summary>
    /// On a batched state integrated by Dormand–Prince, how each member ended the last Step or Solve: completed, or
    /// failed (too stiff, non-finite, out of steps) with its message, left at its last accepted state while the other
    /// members went on. Null otherwise.
    /// </summary>
    public IReadOnlyList<MemberOutcome>? MemberOutcomes => (_integrator as DormandPrince)?.MemberOutcomes;

    /// <summary>Names of the explicit parameters of the Solve methods (normalized, "." → "__").</summary>
    public IReadOnlyList<string> Parameters { get; }

    /// <summary>Time unit of the integrator in s.</summary>
    public double ScaleT { get; }

    /// <summary>The fixed-step method, or null for an adaptive one (Dormand–Prince, or the implicit method given; see <see cref="Integrator"/>).</summary>
    public FixedStepMethod? Method { get; }

    /// <summary>The integrator the Step and Solve methods run (e.g. an <see cref="ImplicitRungeKutta"/> with its Newton and Krylov counters).</summary>
    public IStepIntegrator Integrator => _integrator;

    /// <summary>Relative tolerance of the step control.</summary>
    public double RTol => _integrator.RTol;

    /// <summary>Absolute tolerance of the step control.</summary>
    public double ATol => _integrator.ATol;

    /// <summary>Most integrator steps one call may take.</summary>
    public int MaxSteps => _integrator.MaxSteps;

    /// <summary>Right-hand-side evaluations so far, all calls together (each one is a full effective-field evaluation).</summary>
    public long Evaluations => _integrator.Evaluations + _relaxEvaluations;

    /// <summary>
    /// The step size in s that the next <see cref="Step"/> starts with: the one the step control proposed at the end of
    /// the previous Step (0 before the first, meaning Hairer's initial-step rule). Consecutive Steps thus continue one
    /// integration instead of restarting the step-size selection at every output time.
    /// </summary>
    public double StepSize => _carriedStep * ScaleT;

    /// <summary>Forgets the carried step size: the next <see cref="Step"/> chooses its first step afresh.</summary>
    public void ResetStepSize() => _carriedStep = 0;

    /// <summary>
    /// The precession/damping torque dm/dt in 1/s as a function of the attributes h, m and material__alpha
    /// (<see cref="PrecessionDampingTorque.Function"/>): the right-hand side of a state without registered torque
    /// terms; with them the solver integrates their sum, the attribute "dmdt" (<see cref="TorqueTerm"/>).
    /// </summary>
    public static readonly NamedFunction Rhs = PrecessionDampingTorque.Function;

    /// <summary>
    /// Advances state.m and state.t by <paramref name="dt"/> seconds (adaptive internal steps, starting with the step
    /// size the previous Step ended with). m is first checked: non-finite entries and zero vectors where Ms &gt; 0 are
    /// errors, vectors whose length differs from 1 by more than 1e-6 are normalized (one notice). When cancelled, the
    /// state is left as it was before the call.
    /// </summary>
    /// <param name="dt">Time to advance in s, finite and ≥ 0.</param>
    /// <param name="cancellationToken">Checked after every accepted step.</param>
    public void Step(double dt, CancellationToken cancellationToken = default)
    {
        const string op = "LLGSolver.Step";
        SolverInputs.CheckPositiveSeconds(dt, nameof(dt), op, allowZero: true);
        if (dt == 0) return;
        using var _ = _state.BeginAdvance(op);
        double t0 = _state.T;
        if (t0 + dt == t0)
            throw new ArgumentOutOfRangeException(nameof(dt), dt, $"{op}: dt = {dt:g} s is below the resolution of the state's time t = {t0:g} s (t + dt == t).");
        var m = CheckedMagnetization(_state.M.Tensor, op);
        _paramValues = CurrentParameterValues();
        CheckDamping(_paramValues, op);
        Begin("step", t0 / ScaleT, (t0 + dt) / ScaleT);
        double step = _carriedStep;
        var m1 = _integrator.Integrate(m, t0 / ScaleT, (t0 + dt) / ScaleT, ref step, cancellationToken);
        NoticeFailedMembers(op);
        _carriedStep = step;
        _state.M.Tensor = _state.IntegratedM = m1;
        _state.T = t0 + dt;
        ReportIntegration((t0 + dt) / ScaleT);
    }

    /// <summary>
    /// m(<paramref name="t1"/>) from <paramref name="m0"/> (default state.m) at state.t, with the given values of
    /// <see cref="Parameters"/> (default: their current state values); state.m and state.t are left unchanged.
    /// Gradients by backpropagation: when a tape records, they flow back through every accepted Dormand–Prince step
    /// (discretize-then-differentiate; step sizes are constants). Memory grows with the number of steps; see
    /// <see cref="SolveCheckpointed"/> and <see cref="SolveAdjoint"/> for the same call with bounded memory.
    /// </summary>
    /// <param name="t1">End time in s, finite and not before state.t.</param>
    /// <param name="m0">Start magnetization, a differentiable input used as given (checked for finite, non-zero
    /// vectors where Ms &gt; 0; a non-unit m0 gets a notice, not a normalization); default state.m, which is checked
    /// and normalized like in <see cref="Step"/>.</param>
    /// <param name="parameterValues">One value per entry of <see cref="Parameters"/>, or null for the state's values.</param>
    /// <param name="cancellationToken">Checked after every accepted step.</param>
    public NTensor Solve(double t1, NTensor? m0 = null, IReadOnlyList<NTensor>? parameterValues = null, CancellationToken cancellationToken = default) =>
        Solve(new[] { t1 }, m0, parameterValues, cancellationToken)[0];

    /// <summary>
    /// m at each of <paramref name="times"/> (s, ascending, not before state.t) in one integration, like
    /// <see cref="Solve(double, NTensor?, IReadOnlyList{NTensor}?, CancellationToken)"/>: the step size and the
    /// first-same-as-last stage carry over from one output time to the next, so that sampling densely costs little.
    /// </summary>
    public NTensor[] Solve(IReadOnlyList<double> times, NTensor? m0 = null, IReadOnlyList<NTensor>? parameterValues = null, CancellationToken cancellationToken = default)
    {
        const string op = "LLGSolver.Solve";
        using var _ = _state.BeginAdvance(op);
        double t0 = _state.T;
        SolverInputs.CheckTimes(times, t0, op);
        var m = StartMagnetization(m0, op);
        _paramValues = ParameterValues(parameterValues, op);
        Begin("solve", t0 / ScaleT, times[^1] / ScaleT);
        double step = 0;
        var result = _integrator.Integrate(m, t0 / ScaleT, times.Select(t => t / ScaleT).ToArray(), ref step, cancellationToken);
        NoticeFailedMembers(op);
        ReportIntegration(times[^1] / ScaleT);
        return result;
    }

    /// <summary>
    /// m(<paramref name="t1"/>) like <see cref="Solve(double, NTensor?, IReadOnlyList{NTensor}?, CancellationToken)"/>,
    /// with checkpointed gradients: the forward pass keeps no tape, only m at the ends of <paramref name="segments"/>
    /// equal intervals and the step size each interval started with; the backward pass re-runs each interval (last
    /// first) on its own tape, with the same steps, and pulls the cotangent through it. The gradient is the exact
    /// derivative of the discrete forward solution. Memory: one interval's steps instead of all; time: one extra
    /// forward solve.
    /// </summary>
    /// <param name="t1">End time in s, finite and not before state.t.</param>
    /// <param name="m0">Start magnetization; default state.m.</param>
    /// <param name="parameterValues">One value per entry of <see cref="Parameters"/>, or null for the state's values.</param>
    /// <param name="segments">Number of equal intervals (≥ 1); each keeps one m in memory.</param>
    /// <param name="cancellationToken">Checked after every accepted step of the forward pass.</param>
    public NTensor SolveCheckpointed(double t1, NTensor? m0 = null, IReadOnlyList<NTensor>? parameterValues = null, int segments = 20, CancellationToken cancellationToken = default)
    {
        const string op = "LLGSolver.SolveCheckpointed";
        if (segments < 1) throw new ArgumentOutOfRangeException(nameof(segments), segments, $"{op}: segments must be at least 1.");
        var (guard, t0, mStart, p) = BeginSolve(op, t1, m0, parameterValues);
        using var _ = guard;
        var bounds = Enumerable.Range(0, segments + 1).Select(i => (i == segments ? t1 : t0 + (t1 - t0) * i / segments) / ScaleT).ToArray();
        var startSteps = new double[segments];
        NTensor Segment(int k, NTensor m, NTensor[] pv)
        {
            _paramValues = pv;
            double step = startSteps[k];
            return _integrator.Integrate(m, bounds[k], bounds[k + 1], ref step);
        }
        var checkpoints = new NTensor[segments + 1];
        var pDetached = p.Select(x => x.Detach()).ToArray();
        checkpoints[0] = mStart.Detach();
        Begin("solve", bounds[0], bounds[^1]);
        Tape.NoGrad(() =>
        {
            _paramValues = pDetached;
            double step = 0;
            for (int k = 0; k < segments; k++)
            {
                startSteps[k] = step;
                checkpoints[k + 1] = _integrator.Integrate(checkpoints[k], bounds[k], bounds[k + 1], ref step, cancellationToken);
            }
            return checkpoints[segments];
        });
        ReportIntegration(bounds[^1]);
        var inputs = new[] { mStart }.Concat(p).ToArray();
        return Tape.Record(checkpoints[segments], inputs, g =>
        {
            var gm = g;
            var gp = new NTensor?[p.Length];
            for (int k = segments - 1; k >= 0; k--)
            {
                int kk = k;
                var (_, pull) = Autodiff.Vjp(xs => Segment(kk, xs[0], xs[1..]), new[] { checkpoints[k] }.Concat(pDetached).ToArray());
                var grads = pull(gm);
                gm = grads[0];
                for (int j = 0; j < p.Length; j++) gp[j] = gp[j] is null ? grads[j + 1] : gp[j]! + grads[j + 1];
            }
            return new NTensor?[] { gm }.Concat(gp).ToArray();
        });
    }

    /// <summary>Snapshots <see cref="SolveRevolve"/> holds at most when its <c>snapshots</c> argument is 0.</summary>
    public const int DefaultRevolveSnapshots = 64;

    /// <summary>
    /// What the gradient pass of the last <see cref="SolveRevolve"/> did (steps, snapshots held, recomputation);
    /// null before the first such gradient.
    /// </summary>
    public RevolveStatistics? LastRevolve { get; private set; }

    /// <summary>
    /// m(<paramref name="t1"/>) like <see cref="Solve(double, NTensor?, IReadOnlyList{NTensor}?, CancellationToken)"/>,
    /// with exact gradients in bounded memory by binomial checkpointing. The forward pass keeps no tape; it records
    /// the start time and size of every accepted step and keeps (m, dm/dτ) after evenly spaced steps, at most
    /// <paramref name="snapshots"/>/2 of them (the spacing doubles, dropping every other, when they would exceed that).
    /// The gradient pass reverses the intervals between them last first with Griewank's revolve schedule
    /// (<see cref="BinomialCheckpointing.Reversal"/>) in the snapshots left free: it recomputes states from the
    /// nearest snapshot by the recorded steps (<see cref="IStepIntegrator.TakeStep"/>, bit for bit the forward's), and
    /// pulls the cotangent of (m, dm/dτ) back through one step at a time on its own tape, the step size a constant:
    /// the derivative of exactly the discrete solution that the forward pass computed, the same as backpropagation
    /// through <see cref="Solve(double, NTensor?, IReadOnlyList{NTensor}?, CancellationToken)"/> up to the order of
    /// summation. Memory: at most <paramref name="snapshots"/> pairs (m, dm/dτ) plus one step's tape, whatever the
    /// number of steps n; time: the forward solve, the recomputation (each step about once when
    /// snapshots ≳ 2√n, at most the repetition number <see cref="BinomialCheckpointing.RepetitionNumber"/> times
    /// per interval otherwise, so O(n log n) with O(log n) snapshots), and n recorded steps with their pullbacks.
    /// <see cref="LastRevolve"/> reports the steps, the snapshots held and the steps recomputed.
    /// </summary>
    /// <param name="t1">End time in s, finite and not before state.t.</param>
    /// <param name="m0">Start magnetization; default state.m.</param>
    /// <param name="parameterValues">One value per entry of <see cref="Parameters"/>, or null for the state's values.</param>
    /// <param name="snapshots">Most (m, dm/dτ) pairs held at once, ≥ 2 (each twice the size of m); 0: <see cref="DefaultRevolveSnapshots"/>.</param>
    /// <param name="memoryBudget">Most bytes of managed heap the forward and the gradient pass may add above the live
    /// heap at their start, garbage included; 0 (the default): no limit. The runtime would otherwise let garbage
    /// field arrays pile up on the large-object heap (several times the live memory); with a budget a full garbage
    /// collection runs whenever the heap exceeds it (<see cref="RevolveStatistics.Collections"/>). The heap is the
    /// process's, so other threads' allocations count against the budget too. The snapshots
    /// (2 · snapshots fields) and one step's tape must fit in it.</param>
    /// <param name="cancellationToken">Checked after every accepted step of the forward pass.</param>
    public NTensor SolveRevolve(double t1, NTensor? m0 = null, IReadOnlyList<NTensor>? parameterValues = null, int snapshots = 0, long memoryBudget = 0, CancellationToken cancellationToken = default)
    {
        const string op = "LLGSolver.SolveRevolve";
        if (snapshots < 0 || snapshots == 1)
            throw new ArgumentOutOfRangeException(nameof(snapshots), snapshots, $"{op}: snapshots must be 0 (the default, {DefaultRevolveSnapshots}) or at least 2: the start state and one more (with the start state alone every step would be recomputed from it, n²/2 steps for n).");
        if (memoryBudget < 0)
            throw new ArgumentOutOfRangeException(nameof(memoryBudget), memoryBudget, $"{op}: memoryBudget must be 0 (no limit) or a positive number of bytes.");
        int budget = snapshots == 0 ? DefaultRevolveSnapshots : snapshots;
        var heap = new HeapBudget(memoryBudget == 0 ? long.MaxValue : memoryBudget);
        var (guard, t0, mStart, p) = BeginSolve(op, t1, m0, parameterValues);
        using var _ = guard;
        var pDetached = p.Select(x => x.Detach()).ToArray();
        var inputs = new[] { mStart }.Concat(p).ToArray();
        double tau0 = t0 / ScaleT, tau1 = t1 / ScaleT;
        Begin("solve", tau0, tau1);
        if (!Tape.IsRecording(inputs))
        {
            // Nothing to differentiate: a plain forward solve.
            _paramValues = p;
            double plainStep = 0;
            var m = _integrator.Integrate(mStart, tau0, tau1, ref plainStep, cancellationToken);
            ReportIntegration(tau1);
            return m;
        }
        var stepStart = new List<double>();
        var stepSize = new List<double>();
        var forward = new ForwardCheckpoints<(NTensor M, NTensor F)>(Math.Max(1, budget / 2));
        long snapshotBytes = 2L * budget * mStart.Size * mStart.DType.SizeInBytes();
        if (heap.Enforced && snapshotBytes >= memoryBudget)
            throw new ArgumentOutOfRangeException(nameof(memoryBudget), memoryBudget,
                $"{op}: {budget} snapshots of (m, dm/dτ) take {snapshotBytes} bytes, more than the memory budget; give fewer snapshots or a larger budget (it must also hold one step's tape, some tens of fields).");
        var y0 = mStart.Detach();
        heap.Reset();
        var mEnd = Tape.NoGrad(() =>
        {
            _paramValues = pDetached;
            (NTensor M, NTensor F) previous = (y0, _integrator.Evaluate(tau0, y0));
            // The state before step i is offered when step i has been accepted, so that the end state is never kept.
            _integrator.OnAcceptedStep = (tau, h, m1, f1) =>
            {
                var start = previous;
                forward.Offer(stepStart.Count, () => start);
                stepStart.Add(tau);
                stepSize.Add(h);
                previous = (m1, f1);
                heap.Check();
            };
            try
            {
                double step = 0;
                return _integrator.Integrate(y0, tau0, tau1, ref step, cancellationToken);
            }
            finally { _integrator.OnAcceptedStep = null; }
        });
        ReportIntegration(tau1);
        int n = stepStart.Count;
        if (n == 0) return mStart;
        return Tape.Record(mEnd, inputs, g =>
        {
            var indices = forward.Indices;
            long spacing = forward.Spacing;
            int peak = forward.PeakCount;
            var held = forward.Release();
            heap.Reset();
            long recomputed = 0;
            var current = held[0];
            NTensor gm = g;
            NTensor? gf = null; // cotangent of dm/dτ at the current step's start; none at the end state
            var gp = new NTensor?[p.Length];
            void Accumulate(NTensor[] grads, int offset)
            {
                for (int j = 0; j < p.Length; j++) gp[j] = gp[j] is null ? grads[j + offset] : gp[j]! + grads[j + offset];
            }
            foreach (var action in BinomialCheckpointing.Reversal(indices, n, budget))
            {
                switch (action.Kind)
                {
                    case CheckpointActionKind.Store:
                        held[action.Step] = current;
                        peak = Math.Max(peak, held.Count);
                        break;
                    case CheckpointActionKind.Restore:
                        current = held[action.Step];
                        break;
                    case CheckpointActionKind.Discard:
                        held.Remove(action.Step);
                        break;
                    case CheckpointActionKind.Advance:
                        _paramValues = pDetached;
                        for (int i = action.Step; i < action.To; i++)
                        {
                            current = _integrator.TakeStep(current.M, current.F, stepStart[i], stepSize[i]);
                            heap.Check();
                        }
                        recomputed += action.To - action.Step;
                        break;
                    case CheckpointActionKind.Reverse:
                    {
                        // (m_i, f_i) -> (m_{i+1}, f_{i+1}) on its own tape, pulled back by (gm, gf) at once.
                        var tape = new Tape();
                        NTensor[] watched;
                        NTensor joint;
                        try
                        {
                            watched = new[] { current.M, current.F }.Concat(pDetached).Select(tape.Watch).ToArray();
                            _paramValues = watched[2..];
                            var (m1, f1) = _integrator.TakeStep(watched[0], watched[1], stepStart[action.Step], stepSize[action.Step]);
                            var (cm, cf) = (gm, gf);
                            joint = Tape.Record(_state.Scalar(0.0), new[] { m1, f1 }, _ => new[] { cm, cf });
                        }
                        finally { tape.Dispose(); }
                        var grads = tape.Gradient(joint, watched);
                        gm = grads[0];
                        gf = grads[1];
                        Accumulate(grads, 2);
                        heap.Check();
                        break;
                    }
                }
            }
            // f_0 = f(τ0, m0) enters step 0 as its first stage.
            var (_, pull) = Autodiff.Vjp(xs =>
            {
                _paramValues = xs[1..];
                return _integrator.Evaluate(tau0, xs[0]);
            }, new[] { y0 }.Concat(pDetached).ToArray());
            var g0 = pull(gf!);
            _paramValues = pDetached;
            gm = gm + g0[0];
            Accumulate(g0, 1);
            LastRevolve = new RevolveStatistics(n, budget, peak, recomputed, spacing, heap.Collections, heap.PeakLiveBytes);
            return new NTensor?[] { gm }.Concat(gp).ToArray();
        });
    }

    /// <summary>Accepted forward steps between two stored m of <see cref="SolveAdjoint"/> with its default checkpoints.</summary>
    public const int AdjointStepsPerCheckpoint = 10;

    /// <summary>
    /// m(<paramref name="t1"/>) like <see cref="Solve(double, NTensor?, IReadOnlyList{NTensor}?, CancellationToken)"/>,
    /// with gradients by the continuous adjoint method (upstream's odeint_adjoint): the forward solve keeps no tape;
    /// the backward pass integrates the augmented system dm/dτ = F, da/dτ = −aᵀ∂F/∂m, dḡ/dτ = −aᵀ∂F/∂p from t1 back
    /// to state.t with a(t1) = the output cotangent, one vector-Jacobian product of the right-hand side per stage.
    /// The step control of the backward pass measures the error of m and of a (scaled by the largest |a(t1)|) and
    /// leaves ḡ out (a "seminorm": ḡ is a quadrature of the other two). m integrated backwards is anti-damped (the
    /// Gilbert term changes sign), so the backward m restarts from m stored during the forward pass: by default
    /// after every <see cref="AdjointStepsPerCheckpoint"/> accepted steps (memory: one field per 10 steps);
    /// <paramref name="checkpoints"/> &gt; 0 stores m at that many equal intervals instead (1: none but the end).
    /// The gradient approximates the exact flow's to the integrator's tolerances; <see cref="SolveCheckpointed"/>
    /// gives the exact derivative of the discrete solution.
    /// </summary>
    /// <param name="t1">End time in s, finite and not before state.t.</param>
    /// <param name="m0">Start magnetization; default state.m.</param>
    /// <param name="parameterValues">One value per entry of <see cref="Parameters"/>, or null for the state's values.</param>
    /// <param name="checkpoints">0 (default): m stored every <see cref="AdjointStepsPerCheckpoint"/> steps; N ≥ 1: at N equal intervals.</param>
    /// <param name="cancellationToken">Checked after every accepted step of the forward pass.</param>
    public NTensor SolveAdjoint(double t1, NTensor? m0 = null, IReadOnlyList<NTensor>? parameterValues = null, int checkpoints = 0, CancellationToken cancellationToken = default)
    {
        const string op = "LLGSolver.SolveAdjoint";
        if (checkpoints < 0) throw new ArgumentOutOfRangeException(nameof(checkpoints), checkpoints, $"{op}: checkpoints must be 0 (every {AdjointStepsPerCheckpoint} steps) or a positive number of intervals.");
        var (guard, t0, mStart, p) = BeginSolve(op, t1, m0, parameterValues);
        using var _ = guard;
        var pDetached = p.Select(x => x.Detach()).ToArray();
        var times = new List<double> { t0 / ScaleT };
        var stored = new List<NTensor> { mStart.Detach() };
        Begin("solve", t0 / ScaleT, t1 / ScaleT);
        Tape.NoGrad(() =>
        {
            _paramValues = pDetached;
            double step = 0;
            if (checkpoints == 0)
            {
                int accepted = 0;
                _integrator.OnAccepted = (tau, m) =>
                {
                    if (++accepted % AdjointStepsPerCheckpoint != 0) return;
                    times.Add(tau);
                    stored.Add(m);
                };
                try
                {
                    var mEnd = _integrator.Integrate(stored[0], t0 / ScaleT, t1 / ScaleT, ref step, cancellationToken);
                    if (times[^1] < t1 / ScaleT) { times.Add(t1 / ScaleT); stored.Add(mEnd); }
                }
                finally { _integrator.OnAccepted = null; }
            }
            else
            {
                for (int k = 1; k <= checkpoints; k++)
                {
                    double tau = (k == checkpoints ? t1 : t0 + (t1 - t0) * k / checkpoints) / ScaleT;
                    stored.Add(_integrator.Integrate(stored[^1], times[^1], tau, ref step, cancellationToken));
                    times.Add(tau);
                }
            }
            return stored[^1];
        });
        ReportIntegration(t1 / ScaleT);
        var inputs = new[] { mStart }.Concat(p).ToArray();
        return Tape.Record(stored[^1], inputs, g =>
        {
            // Augmented state z = (m, a, ḡ_1..ḡ_k) flattened, integrated in s = τ_end − τ over each interval.
            var shapes = new[] { stored[0].GetShape(), stored[0].GetShape() }.Concat(pDetached.Select(x => x.GetShape())).ToArray();
            var sizes = shapes.Select(sh => Shapes.Product(sh)).ToArray();
            NTensor[] Unpack(NTensor z)
            {
                var parts = new NTensor[sizes.Length];
                int offset = 0;
                for (int i = 0; i < parts.Length; i++)
                {
                    parts[i] = z.Slice(0, offset, offset + sizes[i]).Reshape(shapes[i]);
                    offset += sizes[i];
                }
                return parts;
            }
            NTensor Pack(IEnumerable<NTensor> parts) => NTensor.Concat(0, parts.Select(t => t.Reshape(-1)).ToArray());
            var a = g;
            var gp = pDetached.Select(NTensor.ZerosLike).ToArray();
            double aScale = a.Abs().Max().Item();
            if (!(aScale > 0)) aScale = 1;
            var atol = Pack(new[] { _state.Full(shapes[0], ATol), _state.Full(shapes[1], ATol * aScale) }
                .Concat(shapes.Skip(2).Select(sh => _state.Full(sh, double.PositiveInfinity))));
            for (int k = times.Count - 2; k >= 0; k--)
            {
                double tauEnd = times[k + 1];
                var backward = new DormandPrince((s, z) =>
                {
                    var parts = Unpack(z);
                    var (f, pull) = Autodiff.Vjp(xs => _rhs.Invoke(new[] { _state.Scalar((tauEnd - s) * ScaleT), xs[0] }.Concat(xs[1..]).ToArray()) * ScaleT,
                        new[] { parts[0] }.Concat(pDetached).ToArray());
                    var vjp = pull(parts[1]);
                    return Pack(new[] { -f }.Concat(vjp));
                }, RTol, ATol, MaxSteps, atol);
                var z0 = Tape.NoGrad(() => backward.Integrate(Pack(new[] { stored[k + 1], a }.Concat(gp)), 0, tauEnd - times[k]));
                var parts0 = Unpack(z0);
                a = parts0[1];
                gp = parts0[2..];
            }
            return new NTensor?[] { a }.Concat(gp).ToArray();
        });
    }

    /// <summary>Relaxation intervals without a new lowest max |dm/dt| after which <see cref="Relax"/> gives up.</summary>
    public const int RelaxStallIntervals = 1000;

    /// <summary>
    /// Relaxes m with α = 1 (the precession/damping torque of h alone; registered spin torques drive and are left out) until max |dm/dt| drops below <paramref name="tol"/> (rad/s), checking every
    /// <paramref name="dt"/> seconds (upstream's relax; default tolerance 2π/100 ns); state.t is not advanced. Returns
    /// the number of intervals integrated. Throws when m or h become non-finite, when max |dm/dt| has not reached a
    /// new low for <see cref="RelaxStallIntervals"/> intervals, or after <paramref name="maxIntervals"/> intervals.
    /// When cancelled, state.m holds the m of the last completed interval.
    /// </summary>
    /// <param name="tol">Convergence threshold for max |dm/dt| in rad/s, finite and positive.</param>
    /// <param name="dt">Check interval in s, finite and positive.</param>
    /// <param name="maxIntervals">Most intervals (≥ 1); the default, 10 000 × 10 ps = 100 ns at α = 1, is far beyond
    /// any physical relaxation time.</param>
    /// <param name="cancellationToken">Checked after every accepted step.</param>
    public int Relax(double tol = 2e7 * Math.PI, double dt = 1e-11, int maxIntervals = 10_000, CancellationToken cancellationToken = default)
    {
        const string op = "LLGSolver.Relax";
        if (!(tol > 0) || !double.IsFinite(tol)) throw new ArgumentOutOfRangeException(nameof(tol), tol, $"{op}: tol must be a positive, finite rate in rad/s (default 2π/100 ns = 6.3e7).");
        SolverInputs.CheckPositiveSeconds(dt, nameof(dt), op);
        if (maxIntervals < 1) throw new ArgumentOutOfRangeException(nameof(maxIntervals), maxIntervals, $"{op}: maxIntervals must be at least 1.");
        using var _ = _state.BeginAdvance(op);
        var torque = new PrecessionDampingTorque().Torque(_state);
        var rhs = _state.ResolveAllowingUnusedArgs(torque, new[] { "t", "m", "material__alpha" });
        var one = _state.Scalar(1.0);
        int members = _state.Batch ?? 0, n = Math.Max(1, members);
        var mode = members > 0 && _state.DependsOn(torque, "t") ? BatchSteps.Common : BatchSteps.PerMember;
        var integrator = new DormandPrince((tau, m) => rhs.Invoke(_state.Scalar(tau * ScaleT), m, one) * ScaleT, RTol, ATol, MaxSteps, members: members, mode: mode);
        double[] MaxRate(NTensor m)
        {
            var rate = rhs.Invoke(_state.Scalar(_state.T), m, one).Norm(-1);
            return members == 0 ? new[] { rate.Max().Item() } : rate.Reshape(members, -1).Max(1).ToArray();
        }
        var mCur = CheckedMagnetization(_state.M.Tensor, op);
        var rates = MaxRate(mCur);
        var rate0 = (double[])rates.Clone();
        var best = (double[])rates.Clone();
        var bestAt = new int[n];
        var done = new bool[n];
        var messages = new string?[n];
        var memberIntervals = new int[n];
        int intervals = 0;
        double step = 0;
        // Without a batch a failure throws; in a batch it ends that member, the others go on.
        void Fail(int b, string message)
        {
            if (members == 0) throw new InvalidOperationException(message);
            messages[b] ??= message;
            done[b] = true;
        }
        try
        {
            while (true)
            {
                for (int b = 0; b < n; b++)
                    if (!done[b] && !double.IsFinite(rates[b]))
                        Fail(b, $"{op}: max |dm/dt| is not finite after {intervals} intervals{(members == 0 ? "" : $" (member {b})")}; m or the effective field h is not finite (check Ms, A and the other parameters for zeros, NaN or infinities).");
                var running = Enumerable.Range(0, n).Where(b => !done[b]).ToList();
                double worst = running.Count > 0 ? running.Max(b => rates[b]) : 0;
                double fraction = running.Count > 0 ? running.Min(b => SolverProgress.LogFraction(rate0[b], rates[b], tol)) : 1;
                Progress?.Report(new SolverProgress("relax", fraction, _state.T, intervals, integrator.Evaluations, worst, tol));
                for (int b = 0; b < n; b++)
                {
                    if (done[b]) continue;
                    double rate = rates[b];
                    string who = members == 0 ? "" : $" (member {b})";
                    if (rate <= tol) done[b] = true;
                    else if (intervals >= maxIntervals)
                        Fail(b, $"{op} did not converge within maxIntervals = {maxIntervals} intervals of {dt:g} s{who} (max |dm/dt| = {rate:g} rad/s, tol {tol:g} rad/s); raise tol or maxIntervals.");
                    else if (intervals - bestAt[b] >= RelaxStallIntervals)
                        Fail(b, $"{op} is not converging{who}: max |dm/dt| has not dropped below {best[b]:g} rad/s for {RelaxStallIntervals} intervals of {dt:g} s (now {rate:g}, tol {tol:g}); the state may be driven (time-dependent field) or the tolerance below the noise of the field; raise tol.");
                }
                if (done.All(d => d)) break;
                double tau = _state.T / ScaleT;
                integrator.Frozen = members == 0 ? null : done;
                mCur = integrator.Integrate(mCur, tau, tau + dt / ScaleT, ref step, cancellationToken);
                _state.M.Tensor = _state.IntegratedM = mCur;
                intervals++;
                rates = MaxRate(mCur);
                for (int b = 0; b < n; b++)
                {
                    if (done[b]) continue;
                    memberIntervals[b] = intervals;
                    if (integrator.MemberOutcomes?[b] is { Completed: false } failedStep) Fail(b, $"{op} (member {b}): {failedStep.Message}");
                    else if (rates[b] < best[b]) { best[b] = rates[b]; bestAt[b] = intervals; }
                }
            }
        }
        finally { _relaxEvaluations += integrator.Evaluations; }
        if (members > 0)
        {
            RelaxOutcomes = Enumerable.Range(0, n).Select(b => new RelaxOutcome(messages[b] == null, messages[b], memberIntervals[b], rates[b])).ToArray();
            var failed = Enumerable.Range(0, n).Where(b => messages[b] != null).ToList();
            if (failed.Count == n) throw new InvalidOperationException($"{op}: no member of the batch converged; member 0: {messages[0]}");
            if (failed.Count > 0) Config.Notice($"{op}: {failed.Count} of {n} members did not converge and were left at their last state (first: member {failed[0]}: {messages[failed[0]]})");
        }
        return intervals;
    }

    /// <summary>On a batched state, how each member ended the last <see cref="Relax"/>; null otherwise.</summary>
    public IReadOnlyList<RelaxOutcome>? RelaxOutcomes { get; private set; }

    /// <summary>One notice per call naming the members of a batch that failed (they are frozen; see <see cref="MemberOutcomes"/>).</summary>
    private void NoticeFailedMembers(string op)
    {
        if (MemberOutcomes is not { } outcomes) return;
        var failed = outcomes.Select((o, b) => (o, b)).Where(x => !x.o.Completed).ToList();
        if (failed.Count > 0)
            Config.Notice($"{op}: {failed.Count} of {outcomes.Count} members failed and were left at their last accepted state (members {string.Join(", ", failed.Take(10).Select(x => x.b))}{(failed.Count > 10 ? ", ..." : "")}); member {failed[0].b}: {failed[0].o.Message}");
    }

    private NTensor[] CurrentParameterValues() => Parameters.Select(p => _state.Tensor(p)).ToArray();

    private NTensor[] ParameterValues(IReadOnlyList<NTensor>? values, string op)
    {
        if (values == null || values.Count == 0) { var current = CurrentParameterValues(); CheckDamping(current, op); return current; }
        if (values.Count != Parameters.Count)
            throw new ArgumentException($"{op} got {values.Count} parameter values for the {Parameters.Count} parameters [{string.Join(", ", Parameters)}].", "parameterValues");
        for (int i = 0; i < values.Count; i++)
            if (values[i] is null) throw new ArgumentNullException("parameterValues", $"{op}: the value of parameter '{Parameters[i]}' is null.");
        var array = values.ToArray();
        CheckDamping(array, op);
        return array;
    }

    private void CheckDamping(NTensor[] values, string op)
    {
        int i = Parameters.ToList().IndexOf("material__alpha");
        if (i >= 0) SolverInputs.CheckDamping(values[i], op);
        else if (_state.Has("material__alpha")) SolverInputs.CheckDamping(_state.Tensor("material__alpha"), op);
    }

    /// <summary>
    /// The common start of the one-end-time Solve variants: marks the state as advanced by this call, checks t1 and
    /// the parameter values, and prepares m0; the guard is released again when a check fails.
    /// </summary>
    private (IDisposable Guard, double T0, NTensor M0, NTensor[] P) BeginSolve(string op, double t1, NTensor? m0, IReadOnlyList<NTensor>? parameterValues)
    {
        if (_state.Batch is int batch)
            throw new NotSupportedException($"{op} on a batched state (batch of {batch}): its members take steps of their own sizes, which the re-run and adjoint passes do not replay; differentiate a batch through Solve (backpropagation through the steps), or solve the members one by one.");
        var guard = _state.BeginAdvance(op);
        try
        {
            double t0 = _state.T;
            SolverInputs.CheckTimes(new[] { t1 }, t0, op);
            return (guard, t0, StartMagnetization(m0, op), ParameterValues(parameterValues, op));
        }
        catch
        {
            guard.Dispose();
            throw;
        }
    }

    private NTensor StartMagnetization(NTensor? m0, string op)
    {
        var expected = _state.M.Tensor;
        var m = m0 ?? expected;
        if (!m.Shape.SequenceEqual(expected.Shape))
            throw new ArgumentException($"{op}: m0 has shape ({string.Join(", ", m.Shape)}), expected ({string.Join(", ", expected.Shape)}) like state.m.", nameof(m0));
        if (m.DType != _state.DType || m.Device != _state.Device)
            throw new ArgumentException($"{op}: m0 is {m.DType.Name()} on {m.Device}, the state is {_state.DType.Name()} on {_state.Device}; create m0 with the state's dtype and device.", nameof(m0));
        return CheckedMagnetization(m, op, normalize: m0 is null);
    }

    /// <summary>
    /// m checked and normalized where its length is off (<see cref="SolverInputs.UnitMagnetization"/>). The m an LLG
    /// solver of this state wrote last (<see cref="State.IntegratedM"/>: a Step's or Relax's result, by this solver or
    /// another) has drifted from unit length by the integrator's error alone (Runge–Kutta steps do not conserve |m|;
    /// ~2e-6 after relaxing sp4 at the default tolerances): it is normalized the same way, without the notice meant
    /// for an m the user set.
    /// </summary>
    private NTensor CheckedMagnetization(NTensor m, string op, bool normalize = true)
    {
        bool silenced = true;
        ref bool notified = ref ReferenceEquals(m, _state.IntegratedM) ? ref silenced : ref _normalizedNotice;
        return SolverInputs.UnitMagnetization(_state, m, op, ref notified, normalize);
    }

    private void Begin(string operation, double tauStart, double tauEnd) =>
        _call = (operation, tauStart, tauEnd, _integrator.Evaluations, _integrator.AcceptedSteps);

    private void ReportIntegration(double tau)
    {
        var progress = Progress;
        if (progress == null) return;
        double span = _call.TauEnd - _call.TauStart;
        double fraction = span > 0 ? Math.Clamp((tau - _call.TauStart) / span, 0, 1) : 1;
        progress.Report(new SolverProgress(_call.Operation, fraction, tau * ScaleT, _integrator.AcceptedSteps - _call.Steps, _integrator.Evaluations - _call.Evaluations));
    }
}

/// <summary>How one member of a batch ended <see cref="LLGSolver.Relax"/>.</summary>
/// <param name="Converged">True when its max |dm/dt| dropped below the tolerance.</param>
/// <param name="Message">Why it did not (null when it converged); it is left at its last state.</param>
/// <param name="Intervals">Intervals it was integrated for.</param>
/// <param name="MaxTorque">Its last max |dm/dt| in rad/s.</param>
public sealed record RelaxOutcome(bool Converged, string? Message, int Intervals, double MaxTorque);

/// <summary>The gradient pass of one <see cref="LLGSolver.SolveRevolve"/>.</summary>
/// <param name="Steps">Accepted steps n of the forward solve, each reversed once.</param>
/// <param name="Snapshots">The snapshot budget: most (m, dm/dτ) pairs allowed at once.</param>
/// <param name="PeakSnapshots">Most (m, dm/dτ) pairs held at once, forward and gradient pass together (≤ Snapshots).</param>
/// <param name="RecomputedSteps">Steps taken again without a tape to regenerate states (the forward solve and the
/// n recorded steps not counted).</param>
/// <param name="ForwardSpacing">Accepted steps between the snapshots the forward pass left.</param>
/// <param name="Collections">Garbage collections the memory budget induced, forward and gradient pass (0 without a budget).</param>
/// <param name="PeakLiveBytes">Largest heap above the pass's starting level right after such a collection: the live
/// memory the solve added at its fullest (0 when no collection was needed).</param>
public sealed record RevolveStatistics(int Steps, int Snapshots, int PeakSnapshots, long RecomputedSteps, long ForwardSpacing, int Collections = 0, long PeakLiveBytes = 0);
