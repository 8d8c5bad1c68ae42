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
/// projected one normalizes m − τ g. Stops when max |g| ≤ tol (A/m) or after maxIter steps.
/// </summary>
public sealed class EnergyMinimizer
{
    private readonly State _state;
    private NTensor? _mPrev, _gPrev;
    private double? _tau;

    /// <summary>A minimizer of the energy of <paramref name="state"/>, driven by the state's effective field h.</summary>
    /// <param name="state">The state; m is updated in place.</param>
    /// <param name="method">Barzilai–Borwein step variant.</param>
    /// <param name="update">How m moves along the descent direction.</param>
    /// <param name="tauInit">First step size τ; null: 1/max|h|.</param>
    /// <param name="tauMin">Smallest step size (positive).</param>
    /// <param name="tauMax">Largest step size (at least <paramref name="tauMin"/>).</param>
    /// <param name="tol">Convergence threshold on max |m × (m × h)| in A/m.</param>
    /// <param name="maxIter">Most steps per minimization.</param>
    /// <exception cref="ArgumentException">Not 0 &lt; tauMin &lt;= tauMax.</exception>
    public EnergyMinimizer(State state, BBMethod method = BBMethod.Alternating, MinimizerUpdate update = MinimizerUpdate.Cayley,
        double? tauInit = null, double tauMin = 1e-18, double tauMax = 1e-4, double tol = 1e-3, int maxIter = 10000)
    {
        _state = state ?? throw new ArgumentNullException(nameof(state));
        if (!(tauMin > 0) || !(tauMax >= tauMin)) throw new ArgumentException($"Need 0 < tauMin <= tauMax, got {tauMin}, {tauMax}.");
        Method = method; Update = update; TauInit = tauInit; TauMin = tauMin; TauMax = tauMax; Tol = tol; MaxIter = maxIter;
    }

    /// <summary>Barzilai–Borwein step variant.</summary>
    public BBMethod Method { get; }
    /// <summary>How m moves along the descent direction.</summary>
    public MinimizerUpdate Update { get; }
    /// <summary>First step size τ, or null for 1/max|h|.</summary>
    public double? TauInit { get; }
    /// <summary>Smallest step size τ.</summary>
    public double TauMin { get; }
    /// <summary>Largest step size τ.</summary>
    public double TauMax { get; }
    /// <summary>Convergence threshold on max |m × (m × h)| in A/m.</summary>
    public double Tol { get; }
    /// <summary>Most steps per minimization.</summary>
    public int MaxIter { get; }

    /// <summary>Steps taken so far.</summary>
    public int Iterations { get; private set; }

    /// <summary>The step size of the last step.</summary>
    public double? Tau => _tau;

    private NTensor H() => _state.Tensor("h");

    private static NTensor Descent(NTensor m, NTensor h) => NTensor.Cross(m, NTensor.Cross(m, h));

    private static double Dot(NTensor a, NTensor b) => (a * b).Sum().Item();

    private double InitialTau(NTensor h)
    {
        double tau = TauInit ?? 1.0 / Math.Max(h.Norm(-1).Max().Item(), TauMin);
        return Math.Clamp(tau, TauMin, TauMax);
    }

    private double BBTau(NTensor m, NTensor g, NTensor h)
    {
        if (_mPrev is null || _gPrev is null) return InitialTau(h);
        var s = m - _mPrev;
        var y = g - _gPrev;
        double sy = Dot(s, y), yy = Dot(y, y), ss = Dot(s, s);
        bool bb1 = Method == BBMethod.BB1 || (Method == BBMethod.Alternating && Iterations % 2 == 1);
        double num = bb1 ? ss : sy, den = bb1 ? sy : yy;
        if (!double.IsFinite(num) || !double.IsFinite(den) || num <= 0 || den <= 0) return _tau ?? InitialTau(h);
        return Math.Clamp(num / den, TauMin, TauMax);
    }

    /// <summary>One descent step; returns max |m × (m × h)| after it (A/m).</summary>
    public double Step()
    {
        return Tape.NoGrad(() =>
        {
            var m = _state.M.Tensor;
            var h = H();
            var g = Descent(m, h);
            double tau = BBTau(m, g, h);
            _tau = tau;
            NTensor mNew;
            if (Update == MinimizerUpdate.Projected)
            {
                var mp = m - g * tau;
                mNew = mp / NTensor.Maximum(mp.Norm(-1).Unsqueeze(-1), _state.Scalar(_state.Eps));
            }
            else
            {
                var a = NTensor.Cross(m, h) * -tau;
                var a2 = (a * a).Sum(-1, true);
                mNew = (m * (1.0 - a2 * 0.25) - NTensor.Cross(a, m)) / (a2 * 0.25 + 1.0);
            }
            _mPrev = m; _gPrev = g;
            _state.M.Tensor = mNew;
            Iterations++;
            return MaxDescent();
        });
    }

    /// <summary>max |m × (m × h)| at the current state (A/m).</summary>
    public double MaxDescent() => Descent(_state.M.Tensor, H()).Norm(-1).Max().Item();

    /// <summary>Steps until max |g| ≤ tol or maxIter steps in all; returns the final max |g|.</summary>
    public double Minimize(double? tol = null, int? maxIter = null, Action<State>? logger = null)
    {
        double t = tol ?? Tol;
        int n = maxIter ?? MaxIter;
        double g = Tape.NoGrad(MaxDescent);
        while (Iterations < n && g > t)
        {
            g = Step();
            logger?.Invoke(_state);
        }
        return g;
    }

    /// <summary>Alias of <see cref="Minimize"/> (upstream's relax).</summary>
    public double Relax(double? tol = null, int? maxIter = null, Action<State>? logger = null) => Minimize(tol, maxIter, logger);
}
