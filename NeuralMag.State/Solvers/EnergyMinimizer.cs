using NeuralMag.AD;

namespace NeuralMag;

/// <summary>Step-size variant of <see cref="EnergyMinimizer"/>: Barzilai–Borwein 1 (s·s/s·y), 2 (s·y/y·y) or alternating.</summary>
public enum BBMethod { BB1, BB2, Alternating }

/// <summary>How <see cref="EnergyMinimizer"/> moves m along the descent direction g = m × (m × h).</summary>
public enum MinimizerUpdate { Cayley, Projected }

/// <summary>
/// Projected steepest descent with Barzilai–Borwein steps (upstream's EnergyMinimizer): g = m × (m × h) is the
/// descent direction (h from the state in A/m), τ_BB1 = s·s / s·y, τ_BB2 = s·y / y·y with s = m_k − m_{k−1},
/// y = g_k − g_{k−1} (alternating: BB1 on odd iterations), clamped to [τmin, τmax]; the first τ is 1/max|h|.
/// The Cayley update m' = ((1 − |a|²/4) m − a × m) / (1 + |a|²/4), a = −τ m × h, keeps |m| = 1 exactly; the
/// projected one normalizes m − τ g. Stops when max |g| ≤ tol (A/m) or after maxIter steps. m is checked at the
/// start as by <see cref="LLGSolver.Step"/> (finite; unit vectors where Ms &gt; 0, normalized with one notice), and a
/// descent direction that turns non-finite stops the run with an exception, never as a result.
/// </summary>
public sealed class EnergyMinimizer
{
    private readonly State _state;
    private NTensor? _mPrev, _gPrev;
    private double? _tau;
    private bool _normalizedNotice;

    /// <param name="state">The state holding m and h.</param>
    /// <param name="method">Barzilai–Borwein variant.</param>
    /// <param name="update">How m moves along the descent direction.</param>
    /// <param name="tauInit">First step size (default 1/max|h|), positive and finite when given.</param>
    /// <param name="tauMin">Smallest step size, positive.</param>
    /// <param name="tauMax">Largest step size, at least tauMin.</param>
    /// <param name="tol">Stop when max |m × (m × h)| ≤ tol (A/m), finite and ≥ 0.</param>
    /// <param name="maxIter">Most steps in all (≥ 0).</param>
    public EnergyMinimizer(State state, BBMethod method = BBMethod.Alternating, MinimizerUpdate update = MinimizerUpdate.Cayley,
        double? tauInit = null, double tauMin = 1e-18, double tauMax = 1e-4, double tol = 1e-3, int maxIter = 10000)
    {
        _state = state ?? throw new ArgumentNullException(nameof(state));
        if (!(tauMin > 0) || !double.IsFinite(tauMin)) throw new ArgumentOutOfRangeException(nameof(tauMin), tauMin, "tauMin must be positive and finite.");
        if (!(tauMax >= tauMin) || !double.IsFinite(tauMax)) throw new ArgumentOutOfRangeException(nameof(tauMax), tauMax, $"tauMax must be finite and at least tauMin = {tauMin:g}.");
        if (tauInit is { } ti && (!(ti > 0) || !double.IsFinite(ti))) throw new ArgumentOutOfRangeException(nameof(tauInit), ti, "tauInit must be positive and finite (or null for 1/max|h|).");
        CheckTol(tol, nameof(tol));
        CheckMaxIter(maxIter, nameof(maxIter));
        if (!Enum.IsDefined(method)) throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown Barzilai–Borwein variant.");
        if (!Enum.IsDefined(update)) throw new ArgumentOutOfRangeException(nameof(update), update, "Unknown update rule.");
        Method = method; Update = update; TauInit = tauInit; TauMin = tauMin; TauMax = tauMax; Tol = tol; MaxIter = maxIter;
    }

    private static void CheckTol(double tol, string name)
    {
        if (!(tol >= 0) || !double.IsFinite(tol)) throw new ArgumentOutOfRangeException(name, tol, "The torque tolerance must be a finite number >= 0 in A/m.");
    }

    private static void CheckMaxIter(int maxIter, string name)
    {
        if (maxIter < 0) throw new ArgumentOutOfRangeException(name, maxIter, "The iteration limit must be >= 0.");
    }

    /// <summary>
    /// Receives a <see cref="SolverProgress"/> after every step of <see cref="Minimize"/>, on the minimizer's thread.
    /// </summary>
    public IProgress<SolverProgress>? Progress { get; set; }

    public BBMethod Method { get; }
    public MinimizerUpdate Update { get; }
    public double? TauInit { get; }
    public double TauMin { get; }
    public double TauMax { get; }
    public double Tol { get; }
    public int MaxIter { get; }

    /// <summary>Steps taken so far.</summary>
    public int Iterations { get; private set; }

    /// <summary>The step size of the last step.</summary>
    public double? Tau => _tau;

    /// <summary>
    /// Forgets the Barzilai–Borwein history (previous m, descent direction and step size) and sets
    /// <see cref="Iterations"/> to 0, as after construction (upstream's reset): the next step starts with the initial τ.
    /// </summary>
    public void Reset()
    {
        _mPrev = null;
        _gPrev = null;
        _tau = null;
        Iterations = 0;
    }

    private NTensor H() => _state.Tensor("h");

    private static NTensor Descent(NTensor m, NTensor h) => NTensor.Cross(m, NTensor.Cross(m, h));

    private static double Dot(NTensor a, NTensor b) => (a * b).Sum().Item();

    private double InitialTau(NTensor h) => InitialTau(h.Norm(-1).Max().Item());

    /// <summary>The first τ: τinit, or 1/max|h|, clamped to [τmin, τmax].</summary>
    private double InitialTau(double hMax) => Math.Clamp(TauInit ?? 1.0 / Math.Max(hMax, TauMin), TauMin, TauMax);

    private double BBTau(NTensor m, NTensor g, NTensor h)
    {
        if (_mPrev is null || _gPrev is null) return InitialTau(h);
        var s = m - _mPrev;
        var y = g - _gPrev;
        return BBRule(Dot(s, s), Dot(s, y), Dot(y, y), Iterations, _tau, () => InitialTau(h));
    }

    /// <summary>
    /// The Barzilai–Borwein step from s·s, s·y and y·y at the given iteration (the parity picks BB1 or BB2 when
    /// alternating), clamped to [τmin, τmax]; a non-positive or non-finite ratio keeps the previous τ (or the initial one).
    /// </summary>
    private double BBRule(double ss, double sy, double yy, int iteration, double? previous, Func<double> initial)
    {
        bool bb1 = Method == BBMethod.BB1 || (Method == BBMethod.Alternating && iteration % 2 == 1);
        double num = bb1 ? ss : sy, den = bb1 ? sy : yy;
        if (!double.IsFinite(num) || !double.IsFinite(den) || num <= 0 || den <= 0) return previous ?? initial();
        return Math.Clamp(num / den, TauMin, TauMax);
    }

    /// <summary>
    /// m moved along the descent direction by τ (<paramref name="timesTau"/> multiplies by it: one τ, or one per member
    /// of a batch): the Cayley update of a = −τ m × h, or m − τ g normalized.
    /// </summary>
    private NTensor Move(NTensor m, NTensor h, NTensor g, Func<NTensor, NTensor> timesTau)
    {
        if (Update == MinimizerUpdate.Projected)
        {
            var mp = m - timesTau(g);
            return mp / NTensor.Maximum(mp.Norm(-1).Unsqueeze(-1), _state.Scalar(_state.Eps));
        }
        var a = -timesTau(NTensor.Cross(m, h));
        var a2 = (a * a).Sum(-1, true);
        return (m * (1.0 - a2 * 0.25) - NTensor.Cross(a, m)) / (a2 * 0.25 + 1.0);
    }

    /// <summary>One descent step; returns max |m × (m × h)| after it (A/m).</summary>
    public double Step()
    {
        RefuseBatch("Step");
        using var _ = _state.BeginAdvance("EnergyMinimizer.Step");
        return StepCore();
    }

    private double StepCore()
    {
        return Tape.NoGrad(() =>
        {
            var m = SolverInputs.UnitMagnetization(_state, _state.M.Tensor, "EnergyMinimizer", ref _normalizedNotice);
            var h = H();
            var g = Descent(m, h);
            double tau = BBTau(m, g, h);
            _tau = tau;
            var mNew = Move(m, h, g, x => x * tau);
            _mPrev = m; _gPrev = g;
            _state.M.Tensor = mNew;
            Iterations++;
            double gMax = MaxDescent();
            if (!double.IsFinite(gMax))
                throw new InvalidOperationException($"EnergyMinimizer: max |m × (m × h)| is not finite after iteration {Iterations} (step size tau = {tau:g}); m or the effective field h is not finite (check Ms, A and the other parameters for zeros, NaN or infinities).");
            return gMax;
        });
    }

    /// <summary>max |m × (m × h)| at the current state (A/m).</summary>
    public double MaxDescent() => Descent(_state.M.Tensor, H()).Norm(-1).Max().Item();

    /// <summary>
    /// Steps until max |g| ≤ tol or maxIter steps in all (counting earlier calls, see <see cref="Iterations"/>);
    /// returns the final max |g| in A/m. When cancelled, state.m holds the m of the last completed step.
    /// </summary>
    /// <param name="tol">Torque tolerance in A/m (default: the constructor's).</param>
    /// <param name="maxIter">Iteration limit (default: the constructor's).</param>
    /// <param name="logger">Called with the state after every step.</param>
    /// <param name="cancellationToken">Checked before every step.</param>
    public double Minimize(double? tol = null, int? maxIter = null, Action<State>? logger = null, CancellationToken cancellationToken = default) =>
        Run(tol, maxIter, logger, false, cancellationToken).MaxTorque;

    /// <summary>
    /// As <see cref="Minimize"/>, returning what the run did (upstream's <c>return_info</c>): iterations of this call,
    /// whether max |g| reached the tolerance, the final max |g|, and with <paramref name="traceEnergy"/> the total
    /// energy state.E (J) before the first step and after every step (one energy evaluation per step).
    /// </summary>
    public MinimizerResult MinimizeWithInfo(double? tol = null, int? maxIter = null, bool traceEnergy = false, Action<State>? logger = null, CancellationToken cancellationToken = default) =>
        Run(tol, maxIter, logger, traceEnergy, cancellationToken);

    /// <summary>The one-system iteration couples the members of a batch through its BB dot products: refused there.</summary>
    private void RefuseBatch(string what)
    {
        if (_state.Batch is int members)
            throw new InvalidOperationException($"EnergyMinimizer.{what} runs one Barzilai–Borwein iteration for one system; this state is a batch of {members} members: use MinimizeMany, which runs one iteration per member.");
    }

    private MinimizerResult Run(double? tol, int? maxIter, Action<State>? logger, bool traceEnergy, CancellationToken cancellationToken)
    {
        RefuseBatch("Minimize");
        double t = tol ?? Tol;
        int n = maxIter ?? MaxIter;
        CheckTol(t, nameof(tol));
        CheckMaxIter(n, nameof(maxIter));
        using var _ = _state.BeginAdvance("EnergyMinimizer.Minimize");
        _state.M.Tensor = SolverInputs.UnitMagnetization(_state, _state.M.Tensor, "EnergyMinimizer.Minimize", ref _normalizedNotice);
        double g = Tape.NoGrad(MaxDescent);
        if (!double.IsFinite(g))
            throw new InvalidOperationException("EnergyMinimizer.Minimize: max |m × (m × h)| is not finite at the start; the effective field h is not finite (check Ms, A and the other parameters for zeros, NaN or infinities).");
        var energies = new List<double>();
        double Energy() => Tape.NoGrad(() => _state.Tensor("E")).Item();
        if (traceEnergy) energies.Add(Energy());
        double g0 = g;
        int start = Iterations;
        while (Iterations < n && g > t)
        {
            cancellationToken.ThrowIfCancellationRequested();
            g = StepCore();
            logger?.Invoke(_state);
            if (traceEnergy) energies.Add(Energy());
            Progress?.Report(new SolverProgress("minimize", SolverProgress.LogFraction(g0, g, t), _state.T, Iterations - start, Iterations - start, g, t));
        }
        return new MinimizerResult(g, Iterations - start, g <= t, energies);
    }

    /// <summary>
    /// Minimizes every member of a batched state (<see cref="State.Batch"/>; upstream's <c>minimize_many</c>, there a
    /// template state and a batch of m): each member runs its own Barzilai–Borwein iteration from a fresh history
    /// (own τ, own BB1/BB2 parity, own stop at max |g| ≤ tol), exactly as <see cref="MinimizeWithInfo"/> of a new
    /// minimizer on that member alone would, while the effective field of all members is evaluated together once per
    /// iteration; converged members stay where they stopped. state.m receives the minimized batch. Returns one result
    /// per member (its iterations, convergence, final max |g|, and with <paramref name="traceEnergy"/> its energy trace).
    /// A member whose descent direction turns non-finite is stopped and reported unconverged with a NaN torque; the
    /// others go on.
    /// </summary>
    /// <param name="tol">Torque tolerance in A/m (default: the constructor's).</param>
    /// <param name="maxIter">Most iterations per member in this call (default: the constructor's).</param>
    /// <param name="traceEnergy">Record each member's energy state.E (J) before the first step and after each of its steps.</param>
    /// <param name="cancellationToken">Checked before every iteration; state.m then holds the last completed one.</param>
    public IReadOnlyList<MinimizerResult> MinimizeMany(double? tol = null, int? maxIter = null, bool traceEnergy = false, CancellationToken cancellationToken = default)
    {
        const string op = "EnergyMinimizer.MinimizeMany";
        if (_state.Batch is not int members)
            throw new InvalidOperationException($"{op} needs a batched state (new State(mesh, batch: B) with m of shape [B] + the member shape); for one system use Minimize or MinimizeWithInfo.");
        double t = tol ?? Tol;
        int n = maxIter ?? MaxIter;
        CheckTol(t, nameof(tol));
        CheckMaxIter(n, nameof(maxIter));
        using var _ = _state.BeginAdvance(op);
        return Tape.NoGrad(() => RunMany(members, t, n, traceEnergy, cancellationToken));
    }

    private IReadOnlyList<MinimizerResult> RunMany(int members, double tol, int maxIter, bool traceEnergy, CancellationToken cancellationToken)
    {
        var m = SolverInputs.UnitMagnetization(_state, _state.M.Tensor, "EnergyMinimizer.MinimizeMany", ref _normalizedNotice);
        if (m.Rank == 0 || m.GetShape()[0] != members)
            throw new ArgumentException($"EnergyMinimizer.MinimizeMany: state.m has shape {Shapes.Format(m.GetShape())}; the batch of {members} members needs [B] + the member shape (one m per member).", "m");
        _state.M.Tensor = m;
        var scalarShape = Batch.MemberScalarShape(members, m.Rank - 1);
        double[] MaxPerMember(NTensor field) => field.Norm(-1).Reshape(members, -1).Max(1).ToArray();
        var energies = Enumerable.Range(0, members).Select(_ => new List<double>()).ToArray();
        void TraceEnergy(bool[] which)
        {
            if (!traceEnergy) return;
            var e = _state.Tensor("E").ToArray();
            for (int b = 0; b < members; b++) if (which[b]) energies[b].Add(e[e.Length == members ? b : 0]);
        }
        var h = H();
        var g = Descent(m, h);
        var maxG = MaxPerMember(g);
        var active = new bool[members];
        for (int b = 0; b < members; b++) active[b] = maxG[b] > tol && maxIter > 0;
        for (int b = 0; b < members; b++)
            if (!double.IsFinite(maxG[b])) throw new InvalidOperationException($"EnergyMinimizer.MinimizeMany: max |m × (m × h)| of member {b} is not finite at the start; the effective field h is not finite (check Ms, A and the other parameters for zeros, NaN or infinities).");
        TraceEnergy(Enumerable.Repeat(true, members).ToArray());
        var iterations = new int[members];
        var tau = new double?[members];
        NTensor? mPrev = null, gPrev = null;
        var hasHistory = new bool[members];
        double g0 = maxG.Max();
        int rounds = 0; // iterations of the batch: one batched field evaluation each
        while (active.Any(a => a))
        {
            rounds++;
            cancellationToken.ThrowIfCancellationRequested();
            var taus = new double[members];
            double[]? ss = null, sy = null, yy = null;
            if (mPrev is not null && gPrev is not null)
            {
                var s = m - mPrev;
                var y = g - gPrev;
                ss = Batch.MemberSums(s * s, members).ToArray();
                sy = Batch.MemberSums(s * y, members).ToArray();
                yy = Batch.MemberSums(y * y, members).ToArray();
            }
            double[]? hMax = null;
            double Initial(int b) => InitialTau((hMax ??= MaxPerMember(h))[b]);
            for (int b = 0; b < members; b++)
            {
                if (!active[b]) continue;
                int member = b;
                taus[b] = hasHistory[b] ? BBRule(ss![b], sy![b], yy![b], iterations[b], tau[b], () => Initial(member)) : Initial(b);
                tau[b] = taus[b];
            }
            var tauT = NTensor.FromArray(taus, scalarShape, _state.DType, _state.Device);
            var moved = Move(m, h, g, x => x * tauT);
            var mask = NTensor.FromArray(active.Select(a => a ? 1.0 : 0.0).ToArray(), scalarShape, _state.DType, _state.Device);
            var mNew = active.All(a => a) ? moved : NTensor.Where(mask, moved, m);
            mPrev = m;
            gPrev = g;
            var stepped = (bool[])active.Clone();
            for (int b = 0; b < members; b++)
                if (active[b]) { hasHistory[b] = true; iterations[b]++; }
            m = mNew;
            _state.M.Tensor = m;
            h = H();
            g = Descent(m, h);
            maxG = MaxPerMember(g);
            TraceEnergy(stepped);
            for (int b = 0; b < members; b++)
            {
                if (!active[b]) continue;
                if (!double.IsFinite(maxG[b])) active[b] = false; // reported unconverged with its non-finite torque
                else if (maxG[b] <= tol || iterations[b] >= maxIter) active[b] = false;
            }
            double worst = Enumerable.Range(0, members).Where(b => active[b]).Select(b => maxG[b]).DefaultIfEmpty(tol).Max();
            Progress?.Report(new SolverProgress("minimize", SolverProgress.LogFraction(g0, worst, tol), _state.T, rounds, rounds, worst, tol));
        }
        Iterations += rounds;
        return Enumerable.Range(0, members).Select(b => new MinimizerResult(maxG[b], iterations[b], maxG[b] <= tol, energies[b])).ToArray();
    }

    /// <summary>Alias of <see cref="Minimize"/> (upstream's relax).</summary>
    public double Relax(double? tol = null, int? maxIter = null, Action<State>? logger = null, CancellationToken cancellationToken = default) =>
        Minimize(tol, maxIter, logger, cancellationToken);
}

/// <summary>What one <see cref="EnergyMinimizer.MinimizeWithInfo"/> call did.</summary>
/// <param name="MaxTorque">Final max |m × (m × h)| in A/m.</param>
/// <param name="Iterations">Steps taken by this call.</param>
/// <param name="Converged">Whether <paramref name="MaxTorque"/> reached the tolerance (otherwise the iteration limit stopped it).</param>
/// <param name="EnergyTrace">State.E in J before the first step and after each step (empty unless traced).</param>
public sealed record MinimizerResult(double MaxTorque, int Iterations, bool Converged, IReadOnlyList<double> EnergyTrace);
