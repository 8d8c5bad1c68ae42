namespace NeuralMag.AD;

/// <summary>
/// The error measure of an embedded Runge–Kutta step (Hairer, Nørsett, Wanner, Solving ODEs I, II.4, eq. 4.11, as
/// torchdiffeq's step control uses it): for each member b of a batch (or the one system),
/// <code>ratio_b = sqrt( mean_i ( e_i / (atol_i + rtol · max(|y_i|, |y1_i|)) )² )</code>
/// over the member's entries, with e the error estimate, y the step's start and y1 its end. Computed in one pass in
/// float64 on the tensors' device (no intermediate tensor), summed in fixed chunks combined in order, the same on every
/// backend; only the B ratios come back. The step control is not differentiated: nothing is recorded on a tape.
/// </summary>
public static class StepError
{
    /// <summary>One entry's term (e / (atol + rtol max(|y|, |y1|)))², the arithmetic of every backend.</summary>
    public static double Term(double e, double y, double y1, double atol, double rtol)
    {
        double q = e / (Math.Max(Math.Abs(y), Math.Abs(y1)) * rtol + atol);
        return q * q;
    }

    /// <summary>Chunks of one member's n entries: the fixed split of the backends' full reductions.</summary>
    public static int Chunks(int n) => Math.Max(1, Math.Min(64, n / CpuBackend.ParallelThreshold));

    /// <summary>The ratio per member of equally shaped tensors on one device (B members along the leading axis, or
    /// <paramref name="members"/> = 1 for one system).</summary>
    /// <param name="error">The embedded error estimate e.</param>
    /// <param name="y">The step's start.</param>
    /// <param name="y1">The step's end.</param>
    /// <param name="rtol">Relative tolerance.</param>
    /// <param name="atol">Absolute tolerance (used when <paramref name="atolVector"/> is null).</param>
    /// <param name="atolVector">Per-entry absolute tolerance of y's shape, or null; +∞ leaves an entry out.</param>
    /// <param name="members">1, or the batch size (the leading axis).</param>
    public static double[] Ratios(NTensor error, NTensor y, NTensor y1, double rtol, double atol, NTensor? atolVector, int members)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(y1);
        foreach (var (t, name) in new[] { (y, nameof(y)), (y1, nameof(y1)), (atolVector, nameof(atolVector)) })
        {
            if (t is null) continue;
            if (!Shapes.Equal(t.GetShape(), error.GetShape()) || t.DType != error.DType || t.Device != error.Device)
                throw new ArgumentException($"StepError: {name} is {Shapes.Format(t.GetShape())} {t.DType.Name()} on '{t.Device}', the error {Shapes.Format(error.GetShape())} {error.DType.Name()} on '{error.Device}'; all must match.", name);
        }
        if (members < 1 || error.Size % members != 0)
            throw new ArgumentOutOfRangeException(nameof(members), members, $"StepError: members must be 1 or more and divide the {error.Size} entries.");
        var sums = error.Device.Backend.StepErrorSums(error.Storage, y.Storage, y1.Storage, atolVector?.Storage, rtol, atol, members);
        int n = Math.Max(error.Size / members, 1);
        var ratios = new double[members];
        for (int b = 0; b < members; b++) ratios[b] = Math.Sqrt(sums[b] / n);
        return ratios;
    }
}

/// <summary>Widening of an element to float64 inside generic loops and kernels (double or float).</summary>
/// <typeparam name="T">double or float.</typeparam>
public interface IWiden<T>
{
    /// <summary>x as a double.</summary>
    double Of(T x);
}

/// <summary>double as it is.</summary>
public struct WidenF64 : IWiden<double>
{
    /// <inheritdoc/>
    public readonly double Of(double x) => x;
}

/// <summary>float widened to double (exact).</summary>
public struct WidenF32 : IWiden<float>
{
    /// <inheritdoc/>
    public readonly double Of(float x) => x;
}
