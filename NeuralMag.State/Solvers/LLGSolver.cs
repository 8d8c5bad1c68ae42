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
    /// <param name="rtol">Relative tolerance of the adaptive step control.</param>
    /// <param name="atol">Absolute tolerance of the adaptive step control.</param>
    public LLGSolver(State state, double scaleT = 1e-9, double rtol = 1e-5, double atol = 1e-5)
    {
        _state = state ?? throw new ArgumentNullException(nameof(state));
        if (!(scaleT > 0)) throw new ArgumentException($"scaleT must be positive, got {scaleT}.");
        ScaleT = scaleT;
        _rhs = state.Resolve(Rhs, new[] { "t", "m" });
        _integrator = new DormandPrince((tau, m) => _rhs.Invoke(state.Scalar(tau * ScaleT), m) * ScaleT, rtol, atol);
    }

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
        var m1 = _integrator.Integrate(m, t0 / ScaleT, (t0 + dt) / ScaleT);
        _state.M.Tensor = m1;
        _state.T = t0 + dt;
    }

    /// <summary>m at each requested time (s), starting from the current state; state.m and state.t are left unchanged.</summary>
    public NTensor[] Solve(double[] times)
    {
        var result = new NTensor[times.Length];
        var m = _state.M.Tensor;
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
    /// Relaxes m with α = 1 until max |dm/dt| drops below <paramref name="tol"/> (rad/s), checking every
    /// <paramref name="dt"/> seconds (upstream's relax; default tolerance 2π/100 ns).
    /// </summary>
    public int Relax(double tol = 2e7 * Math.PI, double dt = 1e-11, int maxIntervals = 100_000)
    {
        var rhs = _state.Resolve(Rhs, new[] { "t", "m", "material__alpha" });
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
