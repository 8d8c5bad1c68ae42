using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Integrates the Landau–Lifshitz–Gilbert equation in its explicit form
/// dm/dt = -γ'(m × h) - αγ' m × (m × h), γ' = γ/(1 + α²), γ = 221276.14725379366 m/(A s),
/// with the effective field h (state attribute "h", A/m), the magnetization "m" and the damping "material.alpha"
/// read from the state by name (upstream's LLGSolver). Time is scaled by <see cref="ScaleT"/> inside the integrator.
/// </summary>
public sealed class LLGSolver
{
    private readonly State _state;
    private readonly NamedFunction _rhs;
    private readonly DormandPrince _integrator;

    /// <param name="state">The state holding m, h, material.alpha and t.</param>
    /// <param name="scaleT">Time unit of the integrator in s (upstream: 1e-9).</param>
    /// <param name="parameters">State attributes (e.g. "material.alpha", "external_field") that <see cref="Solve"/> takes
    /// as explicit, differentiable arguments; all other dependencies of the effective field are read from the state.</param>
    /// <param name="rtol">Relative tolerance of the adaptive step control.</param>
    /// <param name="atol">Absolute tolerance of the adaptive step control.</param>
    public LLGSolver(State state, double scaleT = 1e-9, string[]? parameters = null, double rtol = 1e-5, double atol = 1e-5)
    {
        _state = state ?? throw new ArgumentNullException(nameof(state));
        if (!(scaleT > 0)) throw new ArgumentException($"scaleT must be positive, got {scaleT}.");
        ScaleT = scaleT;
        Parameters = (parameters ?? Array.Empty<string>()).Select(State.NormalizeName).ToArray();
        foreach (var p in Parameters)
            if (p is "t" or "m") throw new ArgumentException($"'{p}' cannot be a parameter: t and m are the integration variables.");
        _rhs = state.ResolveAllowingUnusedArgs(Rhs, new[] { "t", "m" }.Concat(Parameters).ToArray());
        _integrator = new DormandPrince((tau, m) => _rhs.Invoke(new[] { state.Scalar(tau * ScaleT), m }.Concat(_paramValues).ToArray()) * ScaleT, rtol, atol);
    }

    private NTensor[] _paramValues = Array.Empty<NTensor>();
    private DateTime _lastReport;

    /// <summary>
    /// When set, integrations write a one-line progress report (simulated time, steps, RHS evaluations) to this
    /// writer every <see cref="ProgressInterval"/> of wall time, e.g. <c>Console.Error</c>.
    /// </summary>
    public TextWriter? Progress
    {
        get => _progress;
        set
        {
            _progress = value;
            _lastReport = DateTime.UtcNow;
            _integrator.OnStep = value == null ? null : (tau, tau1) =>
            {
                var now = DateTime.UtcNow;
                if (now - _lastReport < ProgressInterval) return;
                _lastReport = now;
                value.Write($"\r[LLGSolver] t = {tau * ScaleT:E4} s of {tau1 * ScaleT:E4} s, {_integrator.AcceptedSteps} steps, {_integrator.Evaluations} RHS evaluations   ");
            };
        }
    }
    private TextWriter? _progress;

    /// <summary>Least wall time between two progress reports (default one second).</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Names of the explicit parameters of <see cref="Solve"/> (normalized, "." → "__").</summary>
    public IReadOnlyList<string> Parameters { get; }

    private NTensor[] CurrentParameterValues() => Parameters.Select(p => _state.Tensor(p)).ToArray();

    public double ScaleT { get; }

    /// <summary>Right-hand-side evaluations so far (each one is a full effective-field evaluation).</summary>
    public long Evaluations => _integrator.Evaluations;

    /// <summary>The LLG right-hand side dm/dt in 1/s as a function of the attributes h, m and material__alpha.</summary>
    public static readonly NamedFunction Rhs = new(new[] { "h", "m", "material__alpha" }, a =>
    {
        NTensor h = a[0], m = a[1], alpha = a[2];
        var gammaPrime = Constants.Gamma / (alpha.Square() + 1.0);
        var mxh = NTensor.Cross(m, h);
        return -gammaPrime * mxh - alpha * gammaPrime * NTensor.Cross(m, mxh);
    });

    /// <summary>Advances state.m and state.t by dt seconds (adaptive internal steps).</summary>
    public void Step(double dt)
    {
        double t0 = _state.T;
        var m = _state.M.Tensor;
        _paramValues = CurrentParameterValues();
        var m1 = _integrator.Integrate(m, t0 / ScaleT, (t0 + dt) / ScaleT);
        _state.M.Tensor = m1;
        _state.T = t0 + dt;
    }

    /// <summary>
    /// m at each requested time (s, ascending, not before state.t), starting from <paramref name="m0"/> (default state.m)
    /// at state.t with the given values of <see cref="Parameters"/> (default: their current state values); state.m and
    /// state.t are left unchanged. Differentiable: when a tape records, gradients w.r.t. m0 and the parameter values
    /// flow back through every accepted Dormand–Prince step (discretize-then-differentiate; step sizes are constants).
    /// </summary>
    public NTensor[] Solve(double[] times, NTensor? m0 = null, params NTensor[] parameterValues)
    {
        if (parameterValues.Length != 0 && parameterValues.Length != Parameters.Count)
            throw new ArgumentException($"Solve got {parameterValues.Length} parameter values for the {Parameters.Count} parameters [{string.Join(", ", Parameters)}].");
        _paramValues = parameterValues.Length == 0 ? CurrentParameterValues() : parameterValues;
        var result = new NTensor[times.Length];
        var m = m0 ?? _state.M.Tensor;
        if (!m.Shape.SequenceEqual(_state.M.Tensor.Shape)) throw new ArgumentException($"m0 has shape ({string.Join(", ", m.Shape)}), expected ({string.Join(", ", _state.M.Tensor.Shape)}).");
        double t = _state.T;
        for (int i = 0; i < times.Length; i++)
        {
            m = _integrator.Integrate(m, t / ScaleT, times[i] / ScaleT);
            t = times[i];
            result[i] = m;
        }
        return result;
    }

    /// <summary>
    /// m at time <paramref name="t1"/> (s) like <see cref="Solve"/>, but with checkpointed gradients: the forward pass
    /// keeps no tape, only m at the ends of <paramref name="segments"/> equal intervals; the backward pass re-runs each
    /// interval (last first) on its own tape and pulls the cotangent through it. Memory: one interval's steps instead of
    /// all; time: one extra forward solve. The values equal <see cref="Solve"/> on the same intervals bit for bit.
    /// </summary>
    public NTensor SolveCheckpointed(double t1, int segments, NTensor? m0 = null, params NTensor[] parameterValues)
    {
        if (segments < 1) throw new ArgumentException($"segments must be at least 1, got {segments}.");
        if (parameterValues.Length != 0 && parameterValues.Length != Parameters.Count)
            throw new ArgumentException($"SolveCheckpointed got {parameterValues.Length} parameter values for the {Parameters.Count} parameters [{string.Join(", ", Parameters)}].");
        var p = parameterValues.Length == 0 ? CurrentParameterValues() : parameterValues;
        var mStart = m0 ?? _state.M.Tensor;
        double t0 = _state.T;
        var bounds = Enumerable.Range(0, segments + 1).Select(i => i == segments ? t1 : t0 + (t1 - t0) * i / segments).ToArray();
        NTensor Segment(int k, NTensor m, NTensor[] pv)
        {
            _paramValues = pv;
            return _integrator.Integrate(m, bounds[k] / ScaleT, bounds[k + 1] / ScaleT);
        }
        var checkpoints = new NTensor[segments + 1];
        var pDetached = p.Select(x => x.Detach()).ToArray();
        checkpoints[0] = mStart.Detach();
        Tape.NoGrad(() =>
        {
            for (int k = 0; k < segments; k++) checkpoints[k + 1] = Segment(k, checkpoints[k], pDetached);
            return checkpoints[segments];
        });
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

    /// <summary>
    /// m at time <paramref name="t1"/> (s) like <see cref="Solve"/>, with gradients by the continuous adjoint method
    /// (upstream's odeint_adjoint): the forward solve keeps no tape; the backward pass integrates the augmented system
    /// dm/dτ = F, da/dτ = −aᵀ∂F/∂m, dḡ/dτ = −aᵀ∂F/∂p from t1 back to state.t with a(t1) = the output cotangent, one
    /// vector-Jacobian product of the right-hand side per stage. Memory does not grow with the number of steps. The
    /// gradients approximate those of the exact flow to the integrator's tolerances, but m integrated backwards is
    /// anti-damped (the Gilbert term changes sign), so on stiff problems its drift limits the accuracy;
    /// <paramref name="checkpoints"/> &gt; 1 stores m at that many equal intervals of the forward pass and restarts the
    /// backward m from them (memory: one field per checkpoint). <see cref="SolveCheckpointed"/> gives the exact
    /// derivative of the discrete solution instead.
    /// </summary>
    public NTensor SolveAdjoint(double t1, NTensor? m0 = null, int checkpoints = 1, params NTensor[] parameterValues)
    {
        if (checkpoints < 1) throw new ArgumentException($"checkpoints must be at least 1, got {checkpoints}.");
        if (parameterValues.Length != 0 && parameterValues.Length != Parameters.Count)
            throw new ArgumentException($"SolveAdjoint got {parameterValues.Length} parameter values for the {Parameters.Count} parameters [{string.Join(", ", Parameters)}].");
        var p = parameterValues.Length == 0 ? CurrentParameterValues() : parameterValues;
        var mStart = m0 ?? _state.M.Tensor;
        double t0 = _state.T;
        var bounds = Enumerable.Range(0, checkpoints + 1).Select(i => (i == checkpoints ? t1 : t0 + (t1 - t0) * i / checkpoints) / ScaleT).ToArray();
        var pDetached = p.Select(x => x.Detach()).ToArray();
        var stored = new NTensor[checkpoints + 1];
        stored[0] = mStart.Detach();
        Tape.NoGrad(() =>
        {
            _paramValues = pDetached;
            for (int k = 0; k < checkpoints; k++) stored[k + 1] = _integrator.Integrate(stored[k], bounds[k], bounds[k + 1]);
            return stored[checkpoints];
        });
        var inputs = new[] { mStart }.Concat(p).ToArray();
        return Tape.Record(stored[checkpoints], inputs, g =>
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
            for (int k = checkpoints - 1; k >= 0; k--)
            {
                double tauEnd = bounds[k + 1];
                var backward = new DormandPrince((s, z) =>
                {
                    var parts = Unpack(z);
                    var (f, pull) = Autodiff.Vjp(xs => _rhs.Invoke(new[] { _state.Scalar((tauEnd - s) * ScaleT), xs[0] }.Concat(xs[1..]).ToArray()) * ScaleT,
                        new[] { parts[0] }.Concat(pDetached).ToArray());
                    var vjp = pull(parts[1]);
                    return Pack(new[] { -f }.Concat(vjp));
                }, _integrator.RTol, _integrator.ATol);
                var z0 = Tape.NoGrad(() => backward.Integrate(Pack(new[] { stored[k + 1], a }.Concat(gp)), 0, tauEnd - bounds[k]));
                var parts0 = Unpack(z0);
                a = parts0[1];
                gp = parts0[2..];
            }
            return new NTensor?[] { a }.Concat(gp).ToArray();
        });
    }

    /// <summary>
    /// Relaxes m with α = 1 until max |dm/dt| drops below <paramref name="tol"/> (rad/s), checking every
    /// <paramref name="dt"/> seconds (upstream's relax; default tolerance 2π/100 ns).
    /// </summary>
    public int Relax(double tol = 2e7 * Math.PI, double dt = 1e-11, int maxIntervals = 100_000)
    {
        var rhs = _state.ResolveAllowingUnusedArgs(Rhs, new[] { "t", "m", "material__alpha" });
        var one = _state.Scalar(1.0);
        var integrator = new DormandPrince((tau, m) => rhs.Invoke(_state.Scalar(tau * ScaleT), m, one) * ScaleT, _integrator.RTol, _integrator.ATol);
        double MaxRate(NTensor m) => rhs.Invoke(_state.Scalar(_state.T), m, one).Norm(-1).Max().Item();
        int intervals = 0;
        var mCur = _state.M.Tensor;
        while (MaxRate(mCur) > tol)
        {
            if (++intervals > maxIntervals) throw new InvalidOperationException($"Relax did not converge within {maxIntervals} intervals of {dt} s (max |dm/dt| = {MaxRate(mCur):g} rad/s).");
            double tau = _state.T / ScaleT;
            mCur = integrator.Integrate(mCur, tau, tau + dt / ScaleT);
        }
        _state.M.Tensor = mCur;
        return intervals;
    }
}
