using NeuralMag.AD;

namespace NeuralMag;

/// <summary>The implicit part f_I of a right-hand side evaluated at (t, y): its value and the product of its Jacobian ∂f_I/∂y there with a vector.</summary>
/// <param name="Value">f_I(t, y).</param>
/// <param name="JacobianTimes">v ↦ (∂f_I/∂y)(t, y) v, exact or a consistent approximation (Newton converges with either).</param>
public sealed record ImplicitLinearization(NTensor Value, Func<NTensor, NTensor> JacobianTimes);

/// <summary>
/// Adaptive implicit (ESDIRK) and implicit–explicit (additive, ARK) Runge–Kutta integration of
/// y' = f_E(t, y) + f_I(t, y): Kværnø's 3(2) and 5(4) methods (BIT 44 (2004) 489) take the whole right-hand side
/// implicitly (f_E = 0), Kennedy and Carpenter's ARK3(2)4L[2]SA and ARK5(4)8L[2]SA (Appl. Numer. Math. 44 (2003) 139)
/// take f_I implicitly by an L-stable ESDIRK and f_E explicitly by an ERK with the same weights. Each implicit stage
/// z_i = r_i + h γ f_I(t + c_i h, z_i) is solved by Newton's method with GMRES on Jacobian–vector products
/// (<see cref="ImplicitSolverOptions"/>), preconditioned from the right by default by the block diagonal of
/// I − hγ J probed at the step's first Newton iteration (<see cref="StagePreconditioner"/>); a stage that does not converge rejects the step, which is retried at a
/// quarter of its size. The step control is that of <see cref="DormandPrince"/> on the embedded estimate
/// err = h Σ (b_j − b̂_j)(k^E_j + k^I_j): ratio = RMS(err / (atol + rtol max(|y0|, |y1|))), next step
/// h · clamp(0.9 ratio^(−1/(q+1)), 0.2 (1 after an accepted step), 10), q the embedded order.
/// <para>Gradients: the Newton iterations run without a tape; a converged stage joins a recording tape through the
/// implicit function theorem: its cotangent λ solves (I − h γ J)ᵀ λ = ḡ (GMRES on vector–Jacobian products of f_I
/// on the tape, preconditioned by the transposed blocks) and flows into r_i and into whatever f_I depends on. The result is the derivative of the discrete
/// solution with exactly solved stages, to <see cref="ImplicitSolverOptions.AdjointKrylovTolerance"/>.</para>
/// </summary>
public sealed class ImplicitRungeKutta : IStepIntegrator
{
    private readonly AdditiveTableau _tableau;
    private readonly Func<double, NTensor, NTensor>? _explicitPart;
    private readonly Func<double, NTensor, ImplicitLinearization> _implicitPart;
    private readonly ImplicitSolverOptions _options;

    /// <param name="method">The method; Kvaerno3/5 need no explicit part (all of f is f_I), KenCarp3/5 need one.</param>
    /// <param name="explicitPart">f_E(t, y), integrated explicitly (KenCarp methods); null for Kvaerno methods.</param>
    /// <param name="implicitPart">f_I(t, y) with its Jacobian–vector product, integrated implicitly.</param>
    /// <param name="rtol">Relative tolerance, positive.</param>
    /// <param name="atol">Absolute tolerance, positive.</param>
    /// <param name="maxSteps">Most accepted plus rejected steps one call may take.</param>
    /// <param name="options">Newton and Krylov settings; null for the defaults.</param>
    public ImplicitRungeKutta(ImplicitMethod method, Func<double, NTensor, NTensor>? explicitPart, Func<double, NTensor, ImplicitLinearization> implicitPart,
        double rtol = 1e-5, double atol = 1e-5, int maxSteps = 1_000_000, ImplicitSolverOptions? options = null)
    {
        _tableau = AdditiveTableau.For(method);
        _implicitPart = implicitPart ?? throw new ArgumentNullException(nameof(implicitPart));
        if (_tableau.ExplicitA is null && explicitPart is not null)
            throw new ArgumentException($"{method} integrates the whole right-hand side implicitly; pass it as implicitPart and leave explicitPart null (or use KenCarp3/KenCarp5 for a split).", nameof(explicitPart));
        if (_tableau.ExplicitA is not null && explicitPart is null)
            throw new ArgumentNullException(nameof(explicitPart), $"{method} is an implicit–explicit method and needs the explicit part f_E (or use Kvaerno3/Kvaerno5 with everything implicit).");
        _explicitPart = explicitPart;
        if (!(rtol > 0) || !double.IsFinite(rtol)) throw new ArgumentOutOfRangeException(nameof(rtol), rtol, "The relative tolerance must be positive and finite.");
        if (!(atol > 0) || !double.IsFinite(atol)) throw new ArgumentOutOfRangeException(nameof(atol), atol, "The absolute tolerance must be positive and finite.");
        if (maxSteps < 1) throw new ArgumentOutOfRangeException(nameof(maxSteps), maxSteps, "The step limit must be at least 1.");
        _options = options ?? new ImplicitSolverOptions();
        _options.Check();
        Method = method;
        RTol = rtol;
        ATol = atol;
        MaxSteps = maxSteps;
    }

    /// <summary>The method.</summary>
    public ImplicitMethod Method { get; }

    /// <summary>Classical order of the propagated solution (3 or 5).</summary>
    public int Order => _tableau.Order;

    /// <inheritdoc />
    public double RTol { get; }

    /// <inheritdoc />
    public double ATol { get; }

    /// <inheritdoc />
    public int MaxSteps { get; }

    /// <summary>Evaluations of f_E and of f_I together (<see cref="ExplicitEvaluations"/> + <see cref="ImplicitEvaluations"/>); Jacobian–vector products are counted apart.</summary>
    public long Evaluations => ExplicitEvaluations + ImplicitEvaluations;

    /// <summary>Evaluations of the explicit part f_E (0 for Kvaerno methods).</summary>
    public long ExplicitEvaluations { get; private set; }

    /// <summary>Evaluations of the implicit part f_I (stage starts, Newton residuals).</summary>
    public long ImplicitEvaluations { get; private set; }

    /// <summary>Jacobian–vector products J v of the implicit part in the forward solves: GMRES products and the probes of the preconditioner (<see cref="PreconditionerProducts"/>) together.</summary>
    public long JacobianVectorProducts { get; private set; }

    /// <summary>The J v of <see cref="JacobianVectorProducts"/> that probed the block diagonal for the preconditioner.</summary>
    public long PreconditionerProducts { get; private set; }

    /// <summary>GMRES iterations of the forward stage solves (<see cref="JacobianVectorProducts"/> less <see cref="PreconditionerProducts"/>).</summary>
    public long KrylovIterations => JacobianVectorProducts - PreconditionerProducts;

    /// <summary>Wall time of the forward stage solves' GMRES (its Jacobian–vector products, preconditioner applications and orthogonalisation), probing excluded.</summary>
    public TimeSpan KrylovTime => TimeSpan.FromSeconds(_krylovTicks / (double)System.Diagnostics.Stopwatch.Frequency);

    /// <summary>Wall time of the Jacobian–vector products of the forward stage solves, probes included.</summary>
    public TimeSpan JacobianProductTime => TimeSpan.FromSeconds(_productTicks / (double)System.Diagnostics.Stopwatch.Frequency);

    /// <summary>Wall time of the forward preconditioners: probing (its J v also in <see cref="JacobianProductTime"/>), factorizations and applications.</summary>
    public TimeSpan PreconditionerTime => TimeSpan.FromSeconds(_preconditionerTicks / (double)System.Diagnostics.Stopwatch.Frequency);

    private long _krylovTicks, _productTicks, _preconditionerTicks;

    /// <summary>Newton iterations, all stages together.</summary>
    public long NewtonIterations { get; private set; }

    /// <summary>Steps rejected because a stage's Newton iteration failed (also counted in <see cref="RejectedSteps"/>).</summary>
    public long NewtonFailures { get; private set; }

    /// <summary>Vector–Jacobian products of f_I in the transposed stage solves of backward passes.</summary>
    public long AdjointProducts { get; private set; }

    /// <summary>Jacobian–vector products that probed the band preconditioners of the transposed stage solves (<see cref="StagePreconditioner.Banded"/>: one probing per stage solve; block Jacobi reuses the forward step's blocks).</summary>
    public long AdjointPreconditionerProducts { get; private set; }

    /// <inheritdoc />
    public long AcceptedSteps { get; private set; }

    /// <inheritdoc />
    public long RejectedSteps { get; private set; }

    /// <inheritdoc />
    public Action<double, double>? OnStep { get; set; }

    /// <inheritdoc />
    public Action<double, NTensor>? OnAccepted { get; set; }

    /// <summary>
    /// Called after each accepted step with (t, h, y1, f1). For Kvaerno methods f1 is the last stage's k^I (first same
    /// as last), which <see cref="TakeStep"/> takes as fy; for KenCarp methods f1 = k^E_s + k^I_s, and TakeStep
    /// evaluates both parts at its start afresh, so fy is not read.
    /// </summary>
    public Action<double, double, NTensor, NTensor>? OnAcceptedStep { get; set; }

    private NTensor FE(double t, NTensor y)
    {
        ExplicitEvaluations++;
        return _explicitPart!(t, y);
    }

    /// <summary>f_I at (t, y) with its Jacobian–vector product, uncounted (tests probe the preconditioners with it).</summary>
    internal ImplicitLinearization Linearize(double t, NTensor y) => _implicitPart(t, y);

    private ImplicitLinearization FI(double t, NTensor y)
    {
        ImplicitEvaluations++;
        return _implicitPart(t, y);
    }

    /// <summary>f(t, y) = f_E(t, y) + f_I(t, y), counted in <see cref="Evaluations"/>.</summary>
    public NTensor Evaluate(double t, NTensor y)
    {
        ArgumentNullException.ThrowIfNull(y);
        var fi = FI(t, y).Value;
        return _explicitPart is null ? fi : FE(t, y) + fi;
    }

    /// <inheritdoc />
    public NTensor Integrate(NTensor y0, double t0, double t1, CancellationToken cancellationToken = default)
    {
        double step = 0;
        return Integrate(y0, t0, t1, ref step, cancellationToken);
    }

    /// <summary>y(t1) from y(t0) = y0; <paramref name="stepSize"/> is the first trial step (0: Hairer's rule) and on return the proposed next one.</summary>
    public NTensor Integrate(NTensor y0, double t0, double t1, ref double stepSize, CancellationToken cancellationToken = default)
    {
        NTensor? f0 = null;
        return Advance(y0, ref f0, t0, t1, ref stepSize, cancellationToken);
    }

    /// <summary>y at each of <paramref name="times"/> (ascending, the first ≥ t0) in one run; step size and first stage carry over.</summary>
    public NTensor[] Integrate(NTensor y0, double t0, IReadOnlyList<double> times, ref double stepSize, CancellationToken cancellationToken = default) =>
        StepControl.AtTimes(Advance, y0, t0, times, ref stepSize, cancellationToken);

    private string Name => Method.ToString();

    private NTensor Advance(NTensor y0, ref NTensor? f0, double t0, double t1, ref double dt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(y0);
        if (!double.IsFinite(t0)) throw new ArgumentOutOfRangeException(nameof(t0), t0, "The integration start must be finite.");
        if (!double.IsFinite(t1)) throw new ArgumentOutOfRangeException(nameof(t1), t1, "The integration end must be finite.");
        if (t1 < t0) throw new ArgumentOutOfRangeException(nameof(t1), t1, $"The integration end lies before the start {t0} (integrator units).");
        if (t1 == t0) return y0;
        cancellationToken.ThrowIfCancellationRequested();
        bool imex = _explicitPart is not null;
        var y = y0;
        double t = t0;
        // First stage of the current step: (k^E_1, k^I_1); for Kvaerno methods k^I_1 = f (first same as last).
        NTensor? kE = null, kI = null;
        if (imex) { kE = FE(t, y); kI = FI(t, y).Value; }
        else kI = f0 ?? FI(t, y).Value;
        var fTotal = imex ? kE! + kI : kI;
        if (!double.IsFinite(StepControl.Rms(fTotal))) throw new InvalidOperationException($"{Name}: the right-hand side is not finite at t = {t0}; check the inputs (m, fields, parameters).");
        if (!(dt > 0) || !double.IsFinite(dt)) dt = InitialStep(t0, y0, fTotal);
        int steps = 0;
        while (t < t1)
        {
            if (++steps > MaxSteps)
                throw new InvalidOperationException($"{Name}: more than {MaxSteps} steps between t = {t0} and {t1} (integrator units), at t = {t}; raise MaxSteps, loosen rtol/atol or shorten the interval.");
            double h = Math.Min(dt, t1 - t);
            bool last = h >= t1 - t;
            if (t + h == t) throw new InvalidOperationException($"{Name}: the step size {h:g} underflows at t = {t} (integrator units); Newton does not converge or the error estimate cannot be met (last Newton failures: {NewtonFailures}).");
            double tStart = t;
            var step = Core(y, kE, kI!, t, h, estimateError: true);
            if (step is null || !double.IsFinite(step.Value.Ratio))
            {
                // A stage whose Newton iteration failed, or an overflowing trial step: reject and shrink.
                RejectedSteps++;
                if (step is null) NewtonFailures++;
                dt = 0.25 * h;
                continue;
            }
            var (y1, kELast, kILast, ratio) = step.Value;
            bool accept = ratio <= 1;
            double next = StepControl.NextStep(h, ratio, _tableau.EmbeddedOrder, accept);
            if (!accept)
            {
                RejectedSteps++;
                dt = next;
                continue;
            }
            y = y1;
            t = last ? t1 : t + h;
            AcceptedSteps++;
            NTensor f1;
            if (imex)
            {
                f1 = kELast! + kILast;
                if (t < t1 || OnAcceptedStep is not null) { kE = FE(t, y); kI = FI(t, y).Value; }
            }
            else
            {
                kI = kILast;
                f1 = kI;
            }
            OnAcceptedStep?.Invoke(tStart, h, y, f1);
            OnAccepted?.Invoke(t, y);
            OnStep?.Invoke(t, t1);
            cancellationToken.ThrowIfCancellationRequested();
            dt = last && h < dt ? Math.Max(dt, next) : next;
        }
        f0 = imex ? null : kI;
        return y;
    }

    /// <summary>
    /// One step of size <paramref name="h"/> from (t, y): the new y and the value the next step takes as its first
    /// stage (see <see cref="OnAcceptedStep"/>). The arithmetic of the steps of a run, so an accepted step is repeated
    /// bit for bit; on a recording tape differentiable in y, fy (Kvaerno) and whatever f depends on (h a constant).
    /// </summary>
    /// <exception cref="InvalidOperationException">A stage's Newton iteration does not converge at this step size.</exception>
    public (NTensor Y, NTensor F) TakeStep(NTensor y, NTensor fy, double t, double h)
    {
        StepArguments.Check(y, fy, t, h);
        NTensor? kE = null;
        NTensor kI = fy;
        if (_explicitPart is not null) { kE = FE(t, y); kI = FI(t, y).Value; }
        var step = Core(y, kE, kI, t, h, estimateError: false)
            ?? throw new InvalidOperationException($"{Name}: a stage's Newton iteration did not converge in the step of {h:g} from t = {t}; take a smaller step.");
        return (step.Y, _explicitPart is null ? step.KI : step.KE! + step.KI);
    }

    private (NTensor Y, NTensor? KE, NTensor KI, double Ratio)? Core(NTensor y, NTensor? kE1, NTensor kI1, double t, double h, bool estimateError)
    {
        var tab = _tableau;
        int s = tab.Stages;
        var kE = new NTensor?[s];
        var kI = new NTensor[s];
        kE[0] = kE1;
        kI[0] = kI1;
        double hg = h * tab.Gamma;
        var preconditioner = new StagePreconditioning(_options.Preconditioner);
        for (int i = 1; i < s; i++)
        {
            var r = StageSum.Of(y, StageTerms(i), h);
            double ti = t + tab.C[i] * h;
            var z = SolveStage(ti, r, hg, kI[i - 1], y, preconditioner);
            if (z is null) return null;
            kI[i] = (z - r) * (1 / hg);
            if (_explicitPart is not null) kE[i] = FE(ti, z);
        }
        // k_j = k^E_j + k^I_j, formed once for the stages the update or the error estimate weighs.
        var k = new NTensor?[s];
        for (int j = 0; j < s; j++)
            if (tab.B[j] != 0 || (estimateError && tab.B[j] != tab.BHat[j])) k[j] = kE[j] is { } e ? e + kI[j] : kI[j];
        var y1 = StageSum.Of(y, Enumerable.Range(0, s).Select(j => (k[j], tab.B[j])), h);
        if (!estimateError) return (y1, kE[s - 1], kI[s - 1], double.NaN);
        double ratio = Tape.NoGrad(() =>
        {
            var used = Enumerable.Range(0, s).Where(j => tab.B[j] != tab.BHat[j]).ToArray();
            var err = NTensor.LinearCombination(used.Select(j => k[j]!).ToArray(), used.Select(j => h * (tab.B[j] - tab.BHat[j])).ToArray());
            return StepError.Ratios(err, y, y1, RTol, ATol, null, 1)[0];
        });
        return (y1, kE[s - 1], kI[s - 1], ratio);

        // The stage argument's terms in the order k^I_0, k^E_0, k^I_1, k^E_1, … (k^E only for IMEX tableaux).
        IEnumerable<(NTensor? K, double A)> StageTerms(int i)
        {
            for (int j = 0; j < i; j++)
            {
                yield return (kI[j], tab.ImplicitA[i][j]);
                if (tab.ExplicitA is { } ae) yield return (kE[j], ae[i][j]);
            }
        }
    }

    /// <summary>
    /// z with z − hγ f_I(t, z) = r by Newton–GMRES from the predictor r + hγ k_prev, or null when Newton fails. On a
    /// recording tape the converged z carries the implicit-function-theorem pullback.
    /// </summary>
    private NTensor? SolveStage(double t, NTensor r, double hg, NTensor kPrev, NTensor y, StagePreconditioning preconditioner)
    {
        var o = _options;
        var zStar = Tape.NoGrad(() =>
        {
            var scale = y.Abs() * RTol + ATol;
            var z = r + kPrev * hg;
            double previous = double.PositiveInfinity;
            for (int it = 0; it < o.MaxNewtonIterations; it++)
            {
                var lin = FI(t, z);
                var residual = z - r - lin.Value * hg;
                NewtonIterations++;
                if (preconditioner.Refresh)
                {
                    preconditioner.Refresh = false;
                    NTensor Probe(NTensor v)
                    {
                        JacobianVectorProducts++;
                        PreconditionerProducts++;
                        return Timed(ref _productTicks, () => lin.JacobianTimes(v));
                    }
                    Timed(ref _preconditionerTicks, () => { preconditioner.Set(Probe, z, hg); return 0; });
                }
                var forward = preconditioner.Forward;
                var solve = Timed(ref _krylovTicks, () => Gmres.SolveShifted(v =>
                {
                    JacobianVectorProducts++;
                    return Timed(ref _productTicks, () => lin.JacobianTimes(v));
                }, hg, -residual, o.KrylovTolerance, o.KrylovRestart, o.MaxKrylovIterations, trueResidual: false,
                    forward is null ? null : v => Timed(ref _preconditionerTicks, () => forward(v))));
                if (double.IsNaN(solve.RelativeResidual)) return null;
                z = z + solve.X;
                double norm = StepControl.Rms(solve.X / scale);
                if (!double.IsFinite(norm)) return null;
                if (norm <= o.NewtonTolerance) return z;
                if (norm >= previous) return null; // diverging (contraction rate ≥ 1)
                previous = norm;
            }
            return (NTensor?)null;
        });
        if (zStar is null || Tape.Current is null) return zStar;
        // u = r + hγ f_I(t, z*) − z* carries the first-order dependence on r and on f_I's inputs at fixed z*;
        // dz = (I − hγ J)⁻¹ du, so the cotangent of u is λ with (I − hγ J)ᵀ λ = ḡ.
        var point = zStar * 1.0; // a node-free copy: Record below attaches the pullback to zStar itself
        var u = r + FI(t, point).Value * hg - point;
        var blockTransposed = preconditioner.BlockTransposed;
        return Tape.Record(zStar, new[] { u }, g => new NTensor?[] { AdjointStageSolve(t, point, hg, g, blockTransposed) });
    }

    /// <summary>
    /// λ with (I − hγ J(z))ᵀ λ = g, preconditioned by Mᵀ: the forward step's block-Jacobi inverses
    /// (<paramref name="blockTransposed"/>, 9 numbers a node kept on the tape) or, for the band LU, a band probed afresh
    /// at z (so the tape keeps no band factors; exact there, GMRES then needs about one iteration).
    /// </summary>
    private NTensor AdjointStageSolve(double t, NTensor z, double hg, NTensor g, Func<double[], double[]>? blockTransposed)
    {
        var o = _options;
        var preconditioner = blockTransposed;
        if (preconditioner is null && o.Preconditioner == StagePreconditioner.Banded)
        {
            var setup = new StagePreconditioning(o.Preconditioner);
            Tape.NoGrad(() =>
            {
                var lin = FI(t, z);
                setup.Set(v =>
                {
                    AdjointPreconditionerProducts++;
                    return lin.JacobianTimes(v);
                }, z, hg);
                return 0;
            });
            preconditioner = setup.Transposed;
        }
        var solve = Gmres.Solve(v =>
        {
            AdjointProducts++;
            var (_, pull) = Autodiff.Vjp(xs => _implicitPart(t, xs[0]).Value, z);
            return v - pull(v)[0] * hg;
        }, g, o.AdjointKrylovTolerance, o.KrylovRestart, o.MaxAdjointKrylovIterations, trueResidual: true, preconditioner);
        if (!solve.Converged)
            throw new InvalidOperationException($"{Name}: the transposed stage system of the backward pass did not converge (relative residual {solve.RelativeResidual:E2} after {solve.Iterations} GMRES iterations, tolerance {o.AdjointKrylovTolerance:E0}); raise ImplicitSolverOptions.MaxAdjointKrylovIterations or loosen AdjointKrylovTolerance.");
        return solve.X;
    }

    private static T Timed<T>(ref long ticks, Func<T> action)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        try { return action(); }
        finally { ticks += System.Diagnostics.Stopwatch.GetTimestamp() - start; }
    }

    /// <summary>
    /// The preconditioner of one step's stage solves: probed when <see cref="Refresh"/> is set (at the step's first
    /// Newton iteration, or at every stage's), M⁻¹ = (I − hγ D)⁻¹ for the step's hγ, and Mᵀ⁻¹ for the backward pass.
    /// </summary>
    private sealed class StagePreconditioning(StagePreconditioner kind)
    {
        public bool Refresh { get; set; } = kind != StagePreconditioner.None;

        public Func<double[], double[]>? Forward { get; private set; }

        public Func<double[], double[]>? Transposed { get; private set; }

        /// <summary>Mᵀ⁻¹ when M is block Jacobi (cheap to keep for the backward pass), else null.</summary>
        public Func<double[], double[]>? BlockTransposed { get; private set; }

        public void Set(Func<NTensor, NTensor> jacobianTimes, NTensor like, double hg)
        {
            BlockJacobiPreconditioner? blocks = null;
            if (kind == StagePreconditioner.Banded && BandedStagePreconditioner.Probe(jacobianTimes, like) is { } band)
            {
                if (band.Factor(hg))
                {
                    Forward = v => band.Solve(v, transpose: false);
                    Transposed = v => band.Solve(v, transpose: true);
                    BlockTransposed = null;
                    return;
                }
                blocks = band.DiagonalBlocks(like.Shape[^1]);
            }
            blocks ??= BlockJacobiPreconditioner.Probe(jacobianTimes, like);
            if (blocks is null) { Forward = Transposed = BlockTransposed = null; return; }
            var inverse = blocks.ShiftedInverse(hg);
            int c = blocks.BlockSize;
            Forward = v => BlockJacobiPreconditioner.Apply(inverse, c, v, transpose: false);
            Transposed = v => BlockJacobiPreconditioner.Apply(inverse, c, v, transpose: true);
            BlockTransposed = Transposed;
        }
    }

    /// <summary>Hairer's starting step for the method's order (<see cref="StepControl.InitialStep"/>), the extra evaluation off the tape.</summary>
    private double InitialStep(double t0, NTensor y0, NTensor f0) =>
        StepControl.InitialStep(y0, f0, y0.Abs() * RTol + ATol, _tableau.Order, h0 => Tape.NoGrad(() => Evaluate(t0 + h0, y0 + f0 * h0)));
}
