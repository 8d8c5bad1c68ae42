using NeuralMag.AD;

namespace NeuralMag;

/// <summary>Krylov solver for the adjoint system of <see cref="ImplicitGradient"/>.</summary>
public enum KrylovMethod
{
    /// <summary>Conjugate gradients: for a stable minimum, where the tangent-space Hessian is positive definite.</summary>
    ConjugateGradient,

    /// <summary>MINRES (Paige–Saunders): symmetric, possibly indefinite systems (saddle points, marginal states).</summary>
    Minres,

    /// <summary>Restarted GMRES: the non-symmetric system of <see cref="ImplicitGradient.ComputeFromTorque"/>.</summary>
    Gmres,
}

/// <summary>How the adjoint solve of one <see cref="ImplicitGradient.Compute"/> call went.</summary>
/// <param name="Method">The Krylov solver used.</param>
/// <param name="Iterations">Krylov iterations taken (one Hessian-vector product each).</param>
/// <param name="Residual">‖Hess λ + P ∂L/∂m‖ recomputed from λ after the solve (units of ∂L/∂m).</param>
/// <param name="RelativeResidual"><paramref name="Residual"/> divided by ‖P ∂L/∂m‖ (0 when that is 0).</param>
/// <param name="Converged">Whether the relative residual reached the tolerance.</param>
/// <param name="HessianProducts">Operator products evaluated in all: Hessian-vector products for <see cref="ImplicitGradient.Compute"/>
/// (two energy gradients each), transposed-Jacobian products for <see cref="ImplicitGradient.ComputeFromTorque"/> (one pullback of h each).</param>
/// <param name="Stationarity">max_i |P_i g_i| / max_i |g_i| (with h in place of g for the torque formulation) at the given m: how far m is from a relaxed state
/// (0 exactly at a stationary point; the implicit gradient assumes it is small).</param>
public sealed record ImplicitGradientReport(KrylovMethod Method, int Iterations, double Residual, double RelativeResidual,
    bool Converged, int HessianProducts, double Stationarity);

/// <summary>The result of <see cref="ImplicitGradient.Compute"/>.</summary>
/// <param name="Parameters">The parameter names, normalized ("material.Ku" becomes "material__Ku").</param>
/// <param name="Gradients">dL/dp for each parameter, with the shape of its value.</param>
/// <param name="Adjoint">λ, the tangent solution of (P H P − diag(m·g)) λ = −P ∂L/∂m, shaped like m.</param>
/// <param name="Report">Iterations, residual and convergence of the adjoint solve.</param>
public sealed record ImplicitGradientResult(IReadOnlyList<string> Parameters, IReadOnlyList<NTensor> Gradients,
    NTensor Adjoint, ImplicitGradientReport Report)
{
    /// <summary>The gradient for one parameter name (dotted or double-underscore form).</summary>
    /// <exception cref="KeyNotFoundException">The name is not one of <see cref="Parameters"/>.</exception>
    public NTensor this[string parameter]
    {
        get
        {
            var name = State.NormalizeName(parameter);
            for (int k = 0; k < Parameters.Count; k++)
                if (Parameters[k] == name) return Gradients[k];
            throw new KeyNotFoundException($"'{parameter}' is not a parameter of this gradient; parameters: [{string.Join(", ", Parameters)}].");
        }
    }
}

/// <summary>
/// Gradients of an objective of a relaxed magnetization by the implicit function theorem, instead of
/// differentiating the relaxation. At a minimum m* of the energy E(m, p) on the manifold |m_i| = 1, the
/// stationarity condition P_i g_i = 0 holds at every point i, with g = ∂E/∂m and P_i = I − m_i m_iᵀ. Differentiating
/// it with respect to p gives Hess · dm*/dp = −P ∂g/∂p, where the Riemannian Hessian acting on a tangent v is
/// (Hess v)_i = P_i (H v)_i − (m_i · g_i) v_i (H = ∂²E/∂m², the second term is the curvature of the sphere weighted by
/// the point's Lagrange multiplier m_i · g_i). For L(m*(p)) the adjoint λ solves Hess λ = −P ∂L/∂m in the tangent
/// space and dL/dp = λ · ∂g/∂p, summed over points.
/// <para>
/// Both derivatives of g come from our reverse-mode tape by central differences along one direction:
/// H v = (g(m + εv) − g(m − εv)) / 2ε, and λ · ∂g/∂p = ∂/∂p (λ · ∂E/∂m) = (∂E/∂p(m + ελ) − ∂E/∂p(m − ελ)) / 2ε
/// (mixed partial derivatives commute). Both are exact, up to rounding, for energies that are quadratic in m:
/// exchange, DMI, uniaxial anisotropy, demag and Zeeman (linear). Cubic anisotropy is quartic in m; there the
/// differences carry an O(ε²) error, relative size about <c>FiniteDifferenceStep</c>².
/// </para>
/// <para>
/// Cost: one gradient of L, two energy gradients per Krylov iteration, two energy gradients w.r.t. the parameters,
/// and memory for a few vectors of the size of m, independent of how many steps the relaxation took.
/// Every point of m is assumed magnetic (Ms &gt; 0); at points without material the Hessian vanishes and the
/// system is singular.
/// </para>
/// <para>
/// <see cref="Compute"/> assumes h = −∂E/∂m / (μ0 Ms V_node), so that torque-free states are stationary for E. That
/// holds for exchange, anisotropy, DMI and Zeeman but not exactly for the demag term; <see cref="ComputeFromTorque"/>
/// differentiates the torque condition P h = 0 itself (first-order pullbacks of h, GMRES), is exact for every term
/// and is cheaper.
/// </para>
/// </summary>
public static class ImplicitGradient
{
    /// <summary>Default relative step ε·max|v| of the directional differences.</summary>
    public const double DefaultFiniteDifferenceStep = 1e-3;

    /// <summary>
    /// dL/dp of <paramref name="objective"/> at the relaxed state.m for each of <paramref name="parameters"/>.
    /// state.m must already be relaxed (e.g. by <see cref="EnergyMinimizer.Minimize"/> or
    /// <see cref="LLGSolver.Relax"/>); the report's <see cref="ImplicitGradientReport.Stationarity"/> says how well.
    /// </summary>
    /// <param name="state">The state with m at an energy minimum and the field terms registered (state.E).</param>
    /// <param name="objective">L(m), a scalar of the magnetization built from NTensor operations (it is taped).</param>
    /// <param name="parameters">Attributes that E reads (e.g. "material__Ku", "material.A", "h_external"); not "m".</param>
    /// <param name="method">Krylov solver: CG for a stable minimum, MINRES for an indefinite Hessian.</param>
    /// <param name="tol">Relative residual ‖Hess λ + P ∂L/∂m‖ / ‖P ∂L/∂m‖ to reach, in (0, 1).</param>
    /// <param name="maxIter">Most Krylov iterations (≥ 1); default 2 × the number of values of m.</param>
    /// <param name="finiteDifferenceStep">ε·max|v| of the directional differences, in (0, 1].</param>
    /// <param name="stationarityTol">Largest accepted max_i |P_i g_i| / max_i |g_i| at the given m, in (0, 1]: the
    /// implicit gradient describes stationary points of E, so a state that is not one is refused.</param>
    /// <exception cref="ArgumentException">Empty or repeated parameters, "m" among them, a parameter E does not read,
    /// or an objective that does not return a scalar.</exception>
    /// <exception cref="ArgumentOutOfRangeException">tol, maxIter or finiteDifferenceStep out of range.</exception>
    /// <exception cref="InvalidOperationException">The Krylov solve did not reach tol within maxIter (the message names
    /// the residual), CG met non-positive curvature (not a stable minimum), m is not a stationary point of E within
    /// stationarityTol, or a value turned non-finite.</exception>
    public static ImplicitGradientResult Compute(State state, Func<NTensor, NTensor> objective, IReadOnlyList<string> parameters,
        KrylovMethod method = KrylovMethod.ConjugateGradient, double tol = 1e-10, int? maxIter = null,
        double finiteDifferenceStep = DefaultFiniteDifferenceStep, double stationarityTol = 1e-6)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Count == 0) throw new ArgumentException("parameters is empty; name at least one attribute that the energy reads (e.g. \"material__Ku\").", nameof(parameters));
        var names = parameters.Select(p => State.NormalizeName(p ?? throw new ArgumentException("parameters contains null.", nameof(parameters)))).ToArray();
        if (names.Distinct().Count() != names.Length) throw new ArgumentException($"parameters lists a name twice: [{string.Join(", ", names)}].", nameof(parameters));
        if (names.Contains("m")) throw new ArgumentException("'m' cannot be a parameter: the relaxed magnetization is the implicit variable.", nameof(parameters));
        if (method == KrylovMethod.Gmres) throw new ArgumentOutOfRangeException(nameof(method), method, "Compute solves a symmetric system: use ConjugateGradient or Minres (GMRES belongs to ComputeFromTorque).");
        if (!Enum.IsDefined(method)) throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown Krylov method; use ConjugateGradient or Minres.");
        if (!(tol > 0 && tol < 1)) throw new ArgumentOutOfRangeException(nameof(tol), tol, "The relative residual tolerance must lie in (0, 1).");
        if (maxIter is { } mi && mi < 1) throw new ArgumentOutOfRangeException(nameof(maxIter), mi, "The Krylov iteration limit must be >= 1.");
        if (!(finiteDifferenceStep > 0 && finiteDifferenceStep <= 1)) throw new ArgumentOutOfRangeException(nameof(finiteDifferenceStep), finiteDifferenceStep, "The relative finite-difference step must lie in (0, 1].");

        if (!(stationarityTol > 0 && stationarityTol <= 1)) throw new ArgumentOutOfRangeException(nameof(stationarityTol), stationarityTol, "The stationarity tolerance must lie in (0, 1].");

        var energy = state.Resolve("E", new[] { "m" }.Concat(names).ToArray());
        var pValues = names.Select(n => state.Raw(n) switch
        {
            NTensor t => t,
            Function f => f.Tensor,
            var other => throw new ArgumentException($"Parameter '{n}' holds {other?.GetType().Name ?? "null"}, not a tensor or Function; it cannot be differentiated.", nameof(parameters)),
        }).ToArray();

        var m = state.M.Tensor.Detach();
        int[] shape = m.GetShape();
        double[] mArr = m.ToArray();
        int n = mArr.Length;
        int limit = maxIter ?? Math.Max(2 * n, 10);

        // g(m) = ∂E/∂m at a (possibly non-unit) m, the parameters held fixed.
        double[] EnergyGradient(double[] mv)
        {
            using var tape = new Tape();
            var mw = tape.Watch(state.Tensor(mv, shape));
            var e = energy.Invoke(new[] { mw }.Concat(pValues).ToArray());
            return tape.Gradient(e, new[] { mw })[0].ToArray();
        }

        // ∂E/∂p at m, one array per parameter.
        double[][] ParameterGradients(double[] mv)
        {
            using var tape = new Tape();
            var pw = pValues.Select(tape.Watch).ToArray();
            var e = energy.Invoke(new[] { state.Tensor(mv, shape) }.Concat(pw).ToArray());
            return tape.Gradient(e, pw).Select(t => t.ToArray()).ToArray();
        }

        // Objective gradient ∂L/∂m.
        double[] dLdm;
        {
            using var tape = new Tape();
            var mw = tape.Watch(m);
            var l = objective(mw);
            if (l is null || l.Size != 1)
                throw new ArgumentException($"The objective must return a scalar; it returned {(l is null ? "null" : "shape " + Shapes.Format(l.GetShape()))}.", nameof(objective));
            dLdm = tape.Gradient(l, new[] { mw })[0].ToArray();
        }

        double[] g = Tape.NoGrad(() => EnergyGradient(mArr));
        var (lagrange, stationarity) = Lagrange(mArr, g);
        if (!(stationarity <= stationarityTol))
            throw new InvalidOperationException($"ImplicitGradient: m is not a stationary point of the energy E: max |P g| / max |g| = {stationarity:g3} > stationarityTol = {stationarityTol:g3} (g = dE/dm, P the tangent projection). Relax m more tightly first; a field term whose h is not the exact gradient -dE/dm/(mu0 Ms V) of its energy (the demag field, see docs/llg.md) relaxes to a state that is not stationary for E.");

        void Project(double[] v)
        {
            for (int i = 0; i < n / 3; i++)
            {
                double d = mArr[3 * i] * v[3 * i] + mArr[3 * i + 1] * v[3 * i + 1] + mArr[3 * i + 2] * v[3 * i + 2];
                for (int c = 0; c < 3; c++) v[3 * i + c] -= d * mArr[3 * i + c];
            }
        }

        int products = 0;
        // Riemannian Hessian on a tangent v: P (H v) − (m·g) v, H v by a central difference of g along v.
        double[] Hessian(double[] v)
        {
            products++;
            double vmax = v.Max(Math.Abs);
            var result = new double[n];
            if (vmax == 0) return result;
            double eps = finiteDifferenceStep / vmax;
            var plus = new double[n];
            var minus = new double[n];
            for (int k = 0; k < n; k++) { plus[k] = mArr[k] + eps * v[k]; minus[k] = mArr[k] - eps * v[k]; }
            var gp = EnergyGradient(plus);
            var gm = EnergyGradient(minus);
            for (int k = 0; k < n; k++) result[k] = (gp[k] - gm[k]) / (2 * eps);
            Project(result);
            for (int i = 0; i < n / 3; i++)
                for (int c = 0; c < 3; c++) result[3 * i + c] -= lagrange[i] * v[3 * i + c];
            return result;
        }

        var b = new double[n];
        for (int k = 0; k < n; k++) b[k] = -dLdm[k];
        Project(b);
        double bNorm = Norm(b);

        var (lambda, iterations) = Tape.NoGrad(() => bNorm == 0
            ? (new double[n], 0)
            : method == KrylovMethod.ConjugateGradient
                ? ConjugateGradient(Hessian, b, bNorm, tol, limit)
                : Minres(Hessian, b, bNorm, tol, limit));
        Project(lambda);

        // The residual recomputed from λ, not the recurrence's estimate.
        double residual = 0;
        if (bNorm > 0)
        {
            var hl = Tape.NoGrad(() => Hessian(lambda));
            var r = new double[n];
            for (int k = 0; k < n; k++) r[k] = b[k] - hl[k];
            residual = Norm(r);
        }
        double relResidual = bNorm > 0 ? residual / bNorm : 0;
        if (!double.IsFinite(relResidual))
            throw new InvalidOperationException($"ImplicitGradient: the adjoint residual is not finite ({relResidual}) after {iterations} {method} iterations; the energy gradient or the objective gradient is not finite at this m.");
        bool converged = relResidual <= tol * 10; // the recurrence reaches tol; the recomputed residual may differ by rounding
        var report = new ImplicitGradientReport(method, iterations, residual, relResidual, converged, products, stationarity);
        if (!converged)
            throw new InvalidOperationException($"ImplicitGradient: the {method} solve of the adjoint system did not converge within maxIter = {limit} iterations: relative residual {relResidual:g3} (absolute {residual:g3}) > tol = {tol:g3}. Raise maxIter, relax tol, relax m more tightly (stationarity {stationarity:g3}) or use Minres if the Hessian is indefinite.");

        // dL/dp = λ · ∂g/∂p = d/dε ∂E/∂p(m + ελ) at ε = 0.
        NTensor[] grads;
        double lmax = lambda.Max(Math.Abs);
        if (lmax == 0)
            grads = pValues.Select(p => NTensor.ZerosLike(p)).ToArray();
        else
        {
            double eps = finiteDifferenceStep / lmax;
            var plus = new double[n];
            var minus = new double[n];
            for (int k = 0; k < n; k++) { plus[k] = mArr[k] + eps * lambda[k]; minus[k] = mArr[k] - eps * lambda[k]; }
            var gp = Tape.NoGrad(() => ParameterGradients(plus));
            var gm = Tape.NoGrad(() => ParameterGradients(minus));
            grads = new NTensor[pValues.Length];
            for (int j = 0; j < pValues.Length; j++)
            {
                var d = new double[gp[j].Length];
                for (int k = 0; k < d.Length; k++) d[k] = (gp[j][k] - gm[j][k]) / (2 * eps);
                grads[j] = state.Tensor(d, pValues[j].GetShape());
            }
        }
        return new ImplicitGradientResult(names, grads, state.Tensor(lambda, shape), report);
    }

    /// <summary>
    /// dL/dp like <see cref="Compute"/>, from the torque condition that the minimizer and LLG actually solve,
    /// P_i h_i = 0, instead of the stationarity of E. Its Jacobian on a tangent v is J v = P (∂h/∂m v) − (m·h) v; the
    /// adjoint solves Jᵀ λ = −P ∂L/∂m and dL/dp = λ · ∂h/∂p. Both Jᵀ products and λ · ∂h/∂p are first-order
    /// vector-Jacobian products of the resolved field h on the tape, so nothing is differenced and every field
    /// term is exact, also the demag field (whose h is not exactly −∂E/∂m / (μ0 Ms V)) and cubic anisotropy. J is
    /// not symmetric in general, so the solve is restarted GMRES (the report's Method is <see cref="KrylovMethod.Gmres"/>).
    /// </summary>
    /// <param name="state">The state with m relaxed (max |m × h| small) and the field h registered.</param>
    /// <param name="objective">L(m), a scalar of the magnetization built from NTensor operations.</param>
    /// <param name="parameters">Attributes that h reads (e.g. "material__Ku", "h_external"); not "m".</param>
    /// <param name="tol">Relative residual ‖Jᵀλ + P ∂L/∂m‖ / ‖P ∂L/∂m‖ to reach, in (0, 1).</param>
    /// <param name="maxIter">Most GMRES iterations in all (≥ 1); default 2 × the number of values of m.</param>
    /// <param name="restart">GMRES restart length (≥ 1).</param>
    /// <param name="stationarityTol">Largest accepted max_i |P_i h_i| / max_i |h_i|, in (0, 1].</param>
    /// <exception cref="ArgumentException">As for <see cref="Compute"/>, with h in place of E.</exception>
    /// <exception cref="ArgumentOutOfRangeException">tol, maxIter, restart or stationarityTol out of range.</exception>
    /// <exception cref="InvalidOperationException">GMRES did not converge (the message names the residual), m is not
    /// torque-free within stationarityTol, or a value turned non-finite.</exception>
    public static ImplicitGradientResult ComputeFromTorque(State state, Func<NTensor, NTensor> objective, IReadOnlyList<string> parameters,
        double tol = 1e-10, int? maxIter = null, int restart = 100, double stationarityTol = 1e-6)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(objective);
        var names = CheckParameters(parameters);
        if (!(tol > 0 && tol < 1)) throw new ArgumentOutOfRangeException(nameof(tol), tol, "The relative residual tolerance must lie in (0, 1).");
        if (maxIter is { } mi && mi < 1) throw new ArgumentOutOfRangeException(nameof(maxIter), mi, "The Krylov iteration limit must be >= 1.");
        if (restart < 1) throw new ArgumentOutOfRangeException(nameof(restart), restart, "The GMRES restart length must be >= 1.");
        if (!(stationarityTol > 0 && stationarityTol <= 1)) throw new ArgumentOutOfRangeException(nameof(stationarityTol), stationarityTol, "The stationarity tolerance must lie in (0, 1].");

        var field = state.Resolve("h", new[] { "m" }.Concat(names).ToArray());
        var pValues = ParameterValues(state, names);
        var m = state.M.Tensor.Detach();
        int[] shape = m.GetShape();
        double[] mArr = m.ToArray();
        int n = mArr.Length;
        int limit = maxIter ?? Math.Max(2 * n, 10);
        double[] dLdm = ObjectiveGradient(objective, m);

        double[] h = Tape.NoGrad(() => field.Invoke(new[] { m }.Concat(pValues).ToArray()).ToArray());
        var (lagrange, stationarity) = Lagrange(mArr, h);
        if (!(stationarity <= stationarityTol))
            throw new InvalidOperationException($"ImplicitGradient: m is not torque-free: max |P h| / max |h| = {stationarity:g3} > stationarityTol = {stationarityTol:g3} (P the tangent projection). Relax m more tightly first.");

        int products = 0;
        // Jᵀ w = P (∂h/∂m)ᵀ P w − (m·h) w for a tangent w, (∂h/∂m)ᵀ by one pullback of h.
        double[] JacobianT(double[] w)
        {
            products++;
            var wt = (double[])w.Clone();
            Project(mArr, wt);
            using var tape = new Tape();
            var mw = tape.Watch(m);
            var hv = field.Invoke(new[] { mw }.Concat(pValues).ToArray());
            var r = tape.Gradient(hv, new[] { mw }, state.Tensor(wt, shape))[0].ToArray();
            Project(mArr, r);
            for (int i = 0; i < n / 3; i++)
                for (int c = 0; c < 3; c++) r[3 * i + c] -= lagrange[i] * wt[3 * i + c];
            return r;
        }

        var b = new double[n];
        for (int k = 0; k < n; k++) b[k] = -dLdm[k];
        Project(mArr, b);
        double bNorm = Norm(b);
        var (lambda, iterations) = bNorm == 0 ? (new double[n], 0) : Gmres(JacobianT, b, bNorm, tol, limit, restart);
        Project(mArr, lambda);
        double residual = 0;
        if (bNorm > 0)
        {
            var jl = JacobianT(lambda);
            var r = new double[n];
            for (int k = 0; k < n; k++) r[k] = b[k] - jl[k];
            residual = Norm(r);
        }
        double relResidual = bNorm > 0 ? residual / bNorm : 0;
        if (!double.IsFinite(relResidual))
            throw new InvalidOperationException($"ImplicitGradient: the adjoint residual is not finite ({relResidual}) after {iterations} GMRES iterations; h or the objective gradient is not finite at this m.");
        bool converged = relResidual <= tol * 10;
        var report = new ImplicitGradientReport(KrylovMethod.Gmres, iterations, residual, relResidual, converged, products, stationarity);
        if (!converged)
            throw new InvalidOperationException($"ImplicitGradient: the GMRES solve of the adjoint system did not converge within maxIter = {limit} iterations: relative residual {relResidual:g3} (absolute {residual:g3}) > tol = {tol:g3}. Raise maxIter or restart, relax tol, or relax m more tightly (stationarity {stationarity:g3}).");

        NTensor[] grads;
        using (var tape = new Tape())
        {
            var pw = pValues.Select(tape.Watch).ToArray();
            var hv = field.Invoke(new[] { m }.Concat(pw).ToArray());
            grads = tape.Gradient(hv, pw, state.Tensor(lambda, shape));
        }
        return new ImplicitGradientResult(names, grads, state.Tensor(lambda, shape), report);
    }

    private static string[] CheckParameters(IReadOnlyList<string> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Count == 0) throw new ArgumentException("parameters is empty; name at least one attribute that the field reads (e.g. \"material__Ku\").", nameof(parameters));
        var names = parameters.Select(p => State.NormalizeName(p ?? throw new ArgumentException("parameters contains null.", nameof(parameters)))).ToArray();
        if (names.Distinct().Count() != names.Length) throw new ArgumentException($"parameters lists a name twice: [{string.Join(", ", names)}].", nameof(parameters));
        if (names.Contains("m")) throw new ArgumentException("'m' cannot be a parameter: the relaxed magnetization is the implicit variable.", nameof(parameters));
        return names;
    }

    private static NTensor[] ParameterValues(State state, string[] names) => names.Select(n => state.Raw(n) switch
    {
        NTensor t => t,
        Function f => f.Tensor,
        var other => throw new ArgumentException($"Parameter '{n}' holds {other?.GetType().Name ?? "null"}, not a tensor or Function; it cannot be differentiated.", "parameters"),
    }).ToArray();

    private static double[] ObjectiveGradient(Func<NTensor, NTensor> objective, NTensor m)
    {
        using var tape = new Tape();
        var mw = tape.Watch(m);
        var l = objective(mw);
        if (l is null || l.Size != 1)
            throw new ArgumentException($"The objective must return a scalar; it returned {(l is null ? "null" : "shape " + Shapes.Format(l.GetShape()))}.", nameof(objective));
        return tape.Gradient(l, new[] { mw })[0].ToArray();
    }

    // Per point the multiplier m·f and the stationarity max |P f| / max |f| of a field f (g or h).
    private static (double[] Lagrange, double Stationarity) Lagrange(double[] mArr, double[] f)
    {
        int points = mArr.Length / 3;
        var lagrange = new double[points];
        double maxF = 0, maxPf = 0;
        for (int i = 0; i < points; i++)
        {
            double mf = mArr[3 * i] * f[3 * i] + mArr[3 * i + 1] * f[3 * i + 1] + mArr[3 * i + 2] * f[3 * i + 2];
            lagrange[i] = mf;
            double fn = 0, pn = 0;
            for (int c = 0; c < 3; c++)
            {
                double pf = f[3 * i + c] - mf * mArr[3 * i + c];
                fn += f[3 * i + c] * f[3 * i + c];
                pn += pf * pf;
            }
            maxF = Math.Max(maxF, Math.Sqrt(fn));
            maxPf = Math.Max(maxPf, Math.Sqrt(pn));
        }
        return (lagrange, maxF > 0 ? maxPf / maxF : 0);
    }

    private static void Project(double[] mArr, double[] v)
    {
        for (int i = 0; i < mArr.Length / 3; i++)
        {
            double d = mArr[3 * i] * v[3 * i] + mArr[3 * i + 1] * v[3 * i + 1] + mArr[3 * i + 2] * v[3 * i + 2];
            for (int c = 0; c < 3; c++) v[3 * i + c] -= d * mArr[3 * i + c];
        }
    }

    // Restarted GMRES from x = 0 (Arnoldi with modified Gram–Schmidt, Givens rotations); stops when the
    // residual estimate reaches tol ‖b‖ (also the Newton–Krylov stages of ImplicitRungeKutta).
    internal static (double[] X, int Iterations) Gmres(Func<double[], double[]> apply, double[] b, double bNorm, double tol, int maxIter, int restart)
    {
        int n = b.Length;
        var x = new double[n];
        int it = 0;
        while (it < maxIter)
        {
            var ax = it == 0 ? new double[n] : apply(x);
            var r = new double[n];
            for (int k = 0; k < n; k++) r[k] = b[k] - ax[k];
            double beta = Norm(r);
            if (beta <= tol * bNorm) break;
            int mdim = Math.Min(restart, maxIter - it);
            var v = new List<double[]> { r.Select(e => e / beta).ToArray() };
            var hm = new double[mdim + 1, mdim];
            var cs = new double[mdim];
            var sn = new double[mdim];
            var gvec = new double[mdim + 1];
            gvec[0] = beta;
            int j = 0;
            for (; j < mdim; j++)
            {
                it++;
                var w = apply(v[j]);
                for (int i = 0; i <= j; i++)
                {
                    double hij = Dot(w, v[i]);
                    hm[i, j] = hij;
                    for (int k = 0; k < n; k++) w[k] -= hij * v[i][k];
                }
                double wn = Norm(w);
                hm[j + 1, j] = wn;
                for (int i = 0; i < j; i++)
                {
                    double t = cs[i] * hm[i, j] + sn[i] * hm[i + 1, j];
                    hm[i + 1, j] = -sn[i] * hm[i, j] + cs[i] * hm[i + 1, j];
                    hm[i, j] = t;
                }
                double den = Math.Sqrt(hm[j, j] * hm[j, j] + wn * wn);
                cs[j] = den == 0 ? 1 : hm[j, j] / den;
                sn[j] = den == 0 ? 0 : wn / den;
                hm[j, j] = den;
                hm[j + 1, j] = 0;
                gvec[j + 1] = -sn[j] * gvec[j];
                gvec[j] = cs[j] * gvec[j];
                bool done = Math.Abs(gvec[j + 1]) <= tol * bNorm || wn == 0;
                if (!done) v.Add(w.Select(e => e / wn).ToArray());
                if (done) { j++; break; }
            }
            // Back substitution for the j coefficients.
            var y = new double[j];
            for (int i = j - 1; i >= 0; i--)
            {
                double s = gvec[i];
                for (int k = i + 1; k < j; k++) s -= hm[i, k] * y[k];
                y[i] = s / hm[i, i];
            }
            for (int i = 0; i < j; i++)
                for (int k = 0; k < n; k++) x[k] += y[i] * v[i][k];
            if (Math.Abs(gvec[j]) <= tol * bNorm) break;
        }
        return (x, it);
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int k = 0; k < a.Length; k++) s += a[k] * b[k];
        return s;
    }

    private static double Norm(double[] a) => Math.Sqrt(Dot(a, a));

    // Conjugate gradients from x = 0; stops when ‖r‖ ≤ tol ‖b‖.
    private static (double[] X, int Iterations) ConjugateGradient(Func<double[], double[]> apply, double[] b, double bNorm, double tol, int maxIter)
    {
        int n = b.Length;
        var x = new double[n];
        var r = (double[])b.Clone();
        var p = (double[])b.Clone();
        double rr = Dot(r, r);
        int it = 0;
        while (it < maxIter && Math.Sqrt(rr) > tol * bNorm)
        {
            var ap = apply(p);
            double pap = Dot(p, ap);
            it++;
            if (!(pap > 0))
                throw new InvalidOperationException($"ImplicitGradient: conjugate gradients met non-positive curvature p·Hess p = {pap:g3} at iteration {it}: the tangent-space Hessian is not positive definite, so m is not a stable minimum (or not relaxed); use KrylovMethod.Minres for an indefinite Hessian.");
            double alpha = rr / pap;
            for (int k = 0; k < n; k++) { x[k] += alpha * p[k]; r[k] -= alpha * ap[k]; }
            double rrNew = Dot(r, r);
            double beta = rrNew / rr;
            rr = rrNew;
            for (int k = 0; k < n; k++) p[k] = r[k] + beta * p[k];
        }
        return (x, it);
    }

    // MINRES (Paige and Saunders 1975) without preconditioner, from x = 0: Lanczos tridiagonalization with Givens
    // rotations; the recurrence's residual estimate φ̄ decides when to stop.
    private static (double[] X, int Iterations) Minres(Func<double[], double[]> apply, double[] b, double bNorm, double tol, int maxIter)
    {
        int n = b.Length;
        var x = new double[n];
        var r1 = (double[])b.Clone();
        var r2 = (double[])b.Clone();
        var y = (double[])b.Clone();
        var w = new double[n];
        var w2 = new double[n];
        double beta1 = bNorm, beta = beta1, oldb = 0, dbar = 0, epsln = 0, phibar = beta1, cs = -1, sn = 0;
        int it = 0;
        while (it < maxIter)
        {
            it++;
            double s = 1 / beta;
            var v = new double[n];
            for (int k = 0; k < n; k++) v[k] = s * y[k];
            y = apply(v);
            if (it >= 2)
                for (int k = 0; k < n; k++) y[k] -= beta / oldb * r1[k];
            double alfa = Dot(v, y);
            for (int k = 0; k < n; k++) y[k] -= alfa / beta * r2[k];
            r1 = r2;
            r2 = (double[])y.Clone();
            oldb = beta;
            beta = Norm(y);
            double oldeps = epsln;
            double delta = cs * dbar + sn * alfa;
            double gbar = sn * dbar - cs * alfa;
            epsln = sn * beta;
            dbar = -cs * beta;
            double gamma = Math.Max(Math.Sqrt(gbar * gbar + beta * beta), double.Epsilon);
            cs = gbar / gamma;
            sn = beta / gamma;
            double phi = cs * phibar;
            phibar = sn * phibar;
            var w1 = w2;
            w2 = w;
            w = new double[n];
            for (int k = 0; k < n; k++)
            {
                w[k] = (v[k] - oldeps * w1[k] - delta * w2[k]) / gamma;
                x[k] += phi * w[k];
            }
            if (phibar <= tol * beta1 || beta == 0) break;
        }
        return (x, it);
    }
}
