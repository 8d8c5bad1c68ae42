using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Integrates the stochastic LLG equation dm/dt = Σ tau_X(m, t; ξ) (the registered torque terms, a
/// <see cref="ThermalField"/> among them) with the stochastic Heun scheme, which converges to the Stratonovich
/// solution that Brown's fluctuation–dissipation relation assumes (García-Palacios and Lázaro, PRB 58, 14937 (1998)):
/// with the step's noise ξ (standard normal per node and component, divided by sqrt(Δt)),
/// m̃ = m + Δt f(t, m; ξ),  m(t + Δt) = m + Δt/2 [f(t, m; ξ) + f(t + Δt, m̃; ξ)], then m normalized per node.
/// The noise of step k is the counter-based <see cref="CounterRandom.Normal"/> of (seed, k), so a run is reproducible
/// on any number of threads, and <see cref="Solve"/> called twice (e.g. with other parameter values for a finite
/// difference) sees the same noise path: its gradient by backpropagation is the pathwise derivative of the seeded run.
/// Without a thermal field the scheme is the deterministic Heun method plus normalization.
/// </summary>
public sealed class StochasticLLGSolver
{
    private readonly State _state;
    private readonly NamedFunction _rhs;
    private bool _normalizedNotice;

    /// <param name="state">The state holding m, t, the registered torque terms and their parameters.</param>
    /// <param name="timeStep">The fixed step Δt in s (positive, finite); it sets the noise amplitude.</param>
    /// <param name="seed">Key of the random generator.</param>
    /// <param name="parameters">State attributes that <see cref="Solve"/> takes as explicit, differentiable arguments.</param>
    public StochasticLLGSolver(State state, double timeStep, ulong seed = 0, string[]? parameters = null)
    {
        _state = state ?? throw new ArgumentNullException(nameof(state));
        if (!(timeStep > 0) || !double.IsFinite(timeStep))
            throw new ArgumentOutOfRangeException(nameof(timeStep), timeStep, "StochasticLLGSolver: timeStep must be a positive, finite step in s.");
        TimeStep = timeStep;
        Seed = seed;
        Parameters = (parameters ?? Array.Empty<string>()).Select(State.NormalizeName).ToArray();
        foreach (var p in Parameters)
            if (p is "t" or "m" or ThermalField.NoiseAttribute)
                throw new ArgumentException($"'{p}' cannot be a parameter: t, m and {ThermalField.NoiseAttribute} are set by the integrator.", nameof(parameters));
        if (Parameters.Distinct().Count() != Parameters.Count)
            throw new ArgumentException($"parameters lists a name twice: [{string.Join(", ", Parameters)}].", nameof(parameters));
        _rhs = state.ResolveAllowingUnusedArgs(TorqueTerm.RightHandSide(state), new[] { "t", "m", ThermalField.NoiseAttribute }.Concat(Parameters).ToArray());
    }

    /// <summary>The step Δt in s.</summary>
    public double TimeStep { get; }

    /// <summary>Key of the counter-based generator.</summary>
    public ulong Seed { get; }

    /// <summary>Names of the explicit parameters of <see cref="Solve"/> (normalized).</summary>
    public IReadOnlyList<string> Parameters { get; }

    /// <summary>Steps <see cref="Step"/> has taken so far; the next step draws the noise of this index.</summary>
    public long StepIndex { get; private set; }

    /// <summary>Right-hand-side evaluations so far (two per step).</summary>
    public long Evaluations { get; private set; }

    /// <summary>Receives a <see cref="SolverProgress"/> after every step of <see cref="Step"/> and <see cref="Solve"/> (null: none).</summary>
    public IProgress<SolverProgress>? Progress { get; set; }

    /// <summary>
    /// Advances state.m and state.t by <paramref name="duration"/> s in steps of <see cref="TimeStep"/> (the last one
    /// shortened to land on the end; its noise amplitude follows its length). When cancelled, the state is left as
    /// it was before the call.
    /// </summary>
    /// <param name="duration">Time to advance in s, finite and ≥ 0.</param>
    /// <param name="cancellationToken">Checked after every step.</param>
    public void Step(double duration, CancellationToken cancellationToken = default)
    {
        const string op = "StochasticLLGSolver.Step";
        SolverInputs.CheckPositiveSeconds(duration, nameof(duration), op, allowZero: true);
        if (duration == 0) return;
        using var _ = _state.BeginAdvance(op);
        double t0 = _state.T;
        var m = SolverInputs.UnitMagnetization(_state, _state.M.Tensor, op, ref _normalizedNotice);
        var p = Parameters.Select(n => _state.Tensor(n)).ToArray();
        var (m1, steps) = Integrate(m, t0, t0 + duration, p, StepIndex, "step", cancellationToken);
        _state.M.Tensor = m1;
        _state.T = t0 + duration;
        StepIndex += steps;
    }

    /// <summary>
    /// m(<paramref name="t1"/>) from <paramref name="m0"/> (default state.m) at state.t with the given parameter values,
    /// using the noise of steps <see cref="StepIndex"/>, <see cref="StepIndex"/> + 1, …; state.m, state.t and
    /// <see cref="StepIndex"/> are left unchanged. When a tape records, gradients flow back through every step.
    /// </summary>
    /// <param name="t1">End time in s, finite and not before state.t.</param>
    /// <param name="m0">Start magnetization (a differentiable input); default state.m.</param>
    /// <param name="parameterValues">One value per entry of <see cref="Parameters"/>, or null for the state's values.</param>
    /// <param name="cancellationToken">Checked after every step.</param>
    public NTensor Solve(double t1, NTensor? m0 = null, IReadOnlyList<NTensor>? parameterValues = null, CancellationToken cancellationToken = default)
    {
        const string op = "StochasticLLGSolver.Solve";
        using var _ = _state.BeginAdvance(op);
        double t0 = _state.T;
        SolverInputs.CheckTimes(new[] { t1 }, t0, op);
        var expected = _state.M.Tensor;
        var m = m0 ?? expected;
        if (!m.Shape.SequenceEqual(expected.Shape))
            throw new ArgumentException($"{op}: m0 has shape ({string.Join(", ", m.Shape)}), expected ({string.Join(", ", expected.Shape)}) like state.m.", nameof(m0));
        m = SolverInputs.UnitMagnetization(_state, m, op, ref _normalizedNotice, normalize: m0 is null);
        NTensor[] p;
        if (parameterValues is null || parameterValues.Count == 0) p = Parameters.Select(n => _state.Tensor(n)).ToArray();
        else if (parameterValues.Count != Parameters.Count)
            throw new ArgumentException($"{op} got {parameterValues.Count} parameter values for the {Parameters.Count} parameters [{string.Join(", ", Parameters)}].", nameof(parameterValues));
        else p = parameterValues.Select((v, i) => v ?? throw new ArgumentNullException(nameof(parameterValues), $"{op}: the value of parameter '{Parameters[i]}' is null.")).ToArray();
        return Integrate(m, t0, t1, p, StepIndex, "solve", cancellationToken).M;
    }

    private (NTensor M, long Steps) Integrate(NTensor m, double t0, double t1, NTensor[] p, long firstStep, string operation, CancellationToken cancellationToken)
    {
        long evaluations0 = Evaluations;
        // A duration that is a whole number of steps (to 1e-9) takes exactly those steps of TimeStep; otherwise the
        // last step is shortened to land on t1.
        double ratio = (t1 - t0) / TimeStep;
        bool whole = Math.Abs(ratio - Math.Round(ratio)) <= 1e-9 * Math.Max(1, ratio) && Math.Round(ratio) >= 1;
        long n = whole ? (long)Math.Round(ratio) : (long)Math.Ceiling(ratio);
        var shape = m.GetShape();
        for (long k = 0; k < n; k++)
        {
            double t = t0 + k * TimeStep;
            double h = k == n - 1 && !whole ? t1 - t : TimeStep;
            var xi = _state.Tensor(CounterRandom.Normal(Seed, (ulong)(firstStep + k), m.Size), shape) * (1 / Math.Sqrt(h));
            m = HeunStep(m, t, h, xi, p);
            cancellationToken.ThrowIfCancellationRequested();
            Progress?.Report(new SolverProgress(operation, (k + 1.0) / n, t + h, k + 1, Evaluations - evaluations0));
        }
        return (m, n);
    }

    private NTensor F(double t, NTensor m, NTensor xi, NTensor[] p)
    {
        Evaluations++;
        return _rhs.Invoke(new[] { _state.Scalar(t), m, xi }.Concat(p).ToArray());
    }

    private NTensor HeunStep(NTensor m, double t, double h, NTensor xi, NTensor[] p)
    {
        var f0 = F(t, m, xi, p);
        var predictor = m + f0 * h;
        var f1 = F(t + h, predictor, xi, p);
        var m1 = m + (f0 + f1) * (h / 2);
        var norm = m1.Norm(-1).Unsqueeze(-1);
        var has = norm.Gt(0.0);
        return NTensor.Where(has, m1 / NTensor.Where(has, norm, 1.0), 0.0);
    }
}
