namespace NeuralMag;

/// <summary>
/// A progress report of a long solver call (<see cref="LLGSolver.Step"/>, <see cref="LLGSolver.Solve(double, AD.NTensor?, IReadOnlyList{AD.NTensor}?, CancellationToken)"/>,
/// <see cref="LLGSolver.Relax"/>, <see cref="EnergyMinimizer.Minimize"/>), passed to an <see cref="IProgress{T}"/>.
/// </summary>
/// <param name="Operation">What runs: "step", "solve", "relax" or "minimize".</param>
/// <param name="Fraction">Estimated fraction done, in [0, 1]: simulated time for integrations; for relaxation and
/// minimization the logarithmic progress of the residual from its start value towards the tolerance.</param>
/// <param name="Time">Simulated time in s (integrations and relaxation; 0 for the minimizer).</param>
/// <param name="Steps">Accepted integrator steps, relaxation intervals or minimizer iterations so far in this call.</param>
/// <param name="Evaluations">Effective-field (right-hand-side) evaluations so far in this call.</param>
/// <param name="Residual">Relaxation: max |dm/dt| in rad/s; minimization: max |m × (m × h)| in A/m; else NaN.</param>
/// <param name="Tolerance">The residual at which the call stops (NaN for integrations).</param>
public sealed record SolverProgress(string Operation, double Fraction, double Time, long Steps, long Evaluations,
    double Residual = double.NaN, double Tolerance = double.NaN)
{
    /// <summary>One line for a log, e.g. "relax 43% t = 1.2E-010 s, 12 steps, 530 evaluations, residual 3.1E+008 (tol 6.3E+007)".</summary>
    public override string ToString()
    {
        var line = $"{Operation} {Fraction * 100:F0}% t = {Time:E4} s, {Steps} steps, {Evaluations} evaluations";
        return double.IsNaN(Residual) ? line : $"{line}, residual {Residual:E3} (tol {Tolerance:E3})";
    }

    /// <summary>
    /// Fraction of the way from <paramref name="start"/> down to <paramref name="tol"/> on a log scale (0 at the start,
    /// 1 at or below the tolerance), for residuals that decrease by orders of magnitude.
    /// </summary>
    public static double LogFraction(double start, double current, double tol)
    {
        if (!(current > tol)) return 1;
        if (!(start > tol) || !(current > 0)) return 0;
        return Math.Clamp(Math.Log(start / current) / Math.Log(start / tol), 0, 1);
    }
}

/// <summary>
/// An <see cref="IProgress{T}"/> that writes each report as one line to a <see cref="TextWriter"/>, at most once per
/// <see cref="Interval"/> of wall time (the final report of a call, Fraction = 1, is always written). Reports arrive
/// on the solver's thread, synchronously.
/// </summary>
public sealed class TextProgress : IProgress<SolverProgress>
{
    private readonly TextWriter _writer;
    private DateTime _last = DateTime.MinValue;

    /// <param name="writer">Where the lines go, e.g. <c>Console.Error</c>.</param>
    /// <param name="interval">Least wall time between two lines (default one second).</param>
    public TextProgress(TextWriter writer, TimeSpan? interval = null)
    {
        _writer = writer ?? throw new ArgumentNullException(nameof(writer));
        Interval = interval ?? TimeSpan.FromSeconds(1);
        if (Interval < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(interval), interval, "The interval between progress lines must not be negative.");
    }

    /// <summary>Least wall time between two lines.</summary>
    public TimeSpan Interval { get; }

    /// <summary>Lines written so far.</summary>
    public int Lines { get; private set; }

    /// <inheritdoc />
    public void Report(SolverProgress value)
    {
        var now = DateTime.UtcNow;
        if (value.Fraction < 1 && now - _last < Interval) return;
        _last = now;
        Lines++;
        _writer.WriteLine($"[NeuralMag] {value}");
    }
}
