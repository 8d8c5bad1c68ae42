using NeuralMag.AD;

namespace NeuralMag;

/// <summary>Krylov solver for the adjoint system of <see cref="ImplicitGradient"/>.</summary>
public enum KrylovMethod
{
    /// <summary>Conjugate gradients: for a stable minimum, where the tangent-space Hessian is positive definite.</summary>
    ConjugateGradient,

    /// <summary>MINRES (Paige–Saunders): symmetric, possibly indefinite systems (saddle points, marginal states).</summary>
    Minres,
}

/// <summary>How the adjoint solve of one <see cref="ImplicitGradient.Compute"/> call went.</summary>
/// <param name="Method">The Krylov solver used.</param>
/// <param name="Iterations">Krylov iterations taken (one Hessian-vector product each).</param>
/// <param name="Residual">‖Hess λ + P ∂L/∂m‖ recomputed from λ after the solve (units of ∂L/∂m).</param>
/// <param name="RelativeResidual"><paramref name="Residual"/> divided by ‖P ∂L/∂m‖ (0 when that is 0).</param>
/// <param name="Converged">Whether the relative residual reached the tolerance.</param>
/// <param name="HessianProducts">Hessian-vector products evaluated in all (each costs two energy gradients).</param>
/// <param name="Stationarity">max_i |P_i g_i| / max_i |g_i| at the given m: how far m is from a relaxed state
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
        var lagrange = new double[n / 3];
        double maxG = 0, maxPg = 0;
        for (int i = 0; i < n / 3; i++)
        {
            double mg = mArr[3 * i] * g[3 * i] + mArr[3 * i + 1] * g[3 * i + 1] + mArr[3 * i + 2] * g[3 * i + 2];
            lagrange[i] = mg;
            double gn = 0, pn = 0;
            for (int c = 0; c < 3; c++)
            {
                double pg = g[3 * i + c] - mg * mArr[3 * i + c];
                gn += g[3 * i + c] * g[3 * i + c];
                pn += pg * pg;
            }
            maxG = Math.Max(maxG, Math.Sqrt(gn));
            maxPg = Math.Max(maxPg, Math.Sqrt(pn));
        }
        double stationarity = maxG > 0 ? maxPg / maxG : 0;
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
