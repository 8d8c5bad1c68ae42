namespace NeuralMag.Testing;

/// <summary>
/// Settings of a gradient check. Errors are measured per argument tensor as
/// |analytic_k − numeric_k| / max_j |numeric_j| (the max-norm of the argument's numerical gradient), so entries that
/// are small compared with the largest one are not judged by their own tiny magnitude.
/// </summary>
public sealed record GradientCheckOptions
{
    /// <summary>
    /// Largest allowed relative error. Null: 1e-6 for central differences, 1e-10 for the complex step (both in
    /// float64; a check of a float32 function needs a looser tolerance).
    /// </summary>
    public double? Tolerance { get; init; }

    /// <summary>
    /// Step of the central differences relative to the argument's scale: h = RelativeStep · max_j |x_j| (or
    /// RelativeStep when the argument is all zeros). Default 1e-3: with Richardson extrapolation the truncation error is
    /// O(h^4) ≈ 1e-12 relative, round-off about eps·|f| / (h |∂f|). Must be positive.
    /// </summary>
    public double RelativeStep { get; init; } = 1e-3;

    /// <summary>
    /// Step of the complex step relative to the argument's scale (default 1e-20): Im f(x + i h e_k) / h has no
    /// subtractive cancellation, so h can be far below the round-off step. Must be positive.
    /// </summary>
    public double ComplexStep { get; init; } = 1e-20;

    /// <summary>
    /// Most entries checked per argument tensor (default 256; 0 or less: all). Larger tensors are checked at evenly spaced
    /// entries plus the entry of largest analytic gradient. Each checked entry costs 4 evaluations of f with central
    /// differences (2 steps, Richardson), 1 with the complex step.
    /// </summary>
    public int MaxEntries { get; init; } = 256;

    /// <summary>Worst entries listed in a failure message (default 5).</summary>
    public int ReportedEntries { get; init; } = 5;

    internal void Validate()
    {
        if (!(RelativeStep > 0)) throw new ArgumentOutOfRangeException(nameof(RelativeStep), RelativeStep, "RelativeStep must be positive.");
        if (!(ComplexStep > 0)) throw new ArgumentOutOfRangeException(nameof(ComplexStep), ComplexStep, "ComplexStep must be positive.");
        if (Tolerance is { } t && !(t > 0)) throw new ArgumentOutOfRangeException(nameof(Tolerance), t, "Tolerance must be positive.");
        if (ReportedEntries < 1) throw new ArgumentOutOfRangeException(nameof(ReportedEntries), ReportedEntries, "ReportedEntries must be at least 1.");
    }
}
