using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// A one-step integrator of y' = f(t, y) as the LLG solver drives it: runs from t0 to t1 (one or several
/// output times), single steps that repeat an accepted step bit for bit (for checkpointed and binomial gradients), and
/// the counters and hooks for progress and checkpoints. Implemented by the adaptive <see cref="DormandPrince"/> and
/// by <see cref="FixedStepRungeKutta"/> (Euler, midpoint, Heun, RK4) and by the implicit and IMEX <see cref="ImplicitRungeKutta"/>.
/// </summary>
public interface IStepIntegrator
{
    /// <summary>Relative tolerance of the step control (adaptive methods; fixed-step ones keep it for the solver's relaxation).</summary>
    double RTol { get; }

    /// <summary>Absolute tolerance of the step control (as <see cref="RTol"/>).</summary>
    double ATol { get; }

    /// <summary>Most steps one call may take.</summary>
    int MaxSteps { get; }

    /// <summary>Right-hand-side evaluations so far.</summary>
    long Evaluations { get; }

    /// <summary>Accepted steps so far.</summary>
    long AcceptedSteps { get; }

    /// <summary>Rejected steps so far (0 for fixed-step methods).</summary>
    long RejectedSteps { get; }

    /// <summary>Called after each accepted step with (t, t1) in integrator units.</summary>
    Action<double, double>? OnStep { get; set; }

    /// <summary>Called after each accepted step with the new (t, y).</summary>
    Action<double, NTensor>? OnAccepted { get; set; }

    /// <summary>Called after each accepted step with (t, h, y1, f1): start time and size of the step, the new y and f(t + h, y1).</summary>
    Action<double, double, NTensor, NTensor>? OnAcceptedStep { get; set; }

    /// <summary>f(t, y), counted in <see cref="Evaluations"/>.</summary>
    NTensor Evaluate(double t, NTensor y);

    /// <summary>y(t1) from y(t0) = y0; the step size is chosen afresh (adaptive) or fixed.</summary>
    NTensor Integrate(NTensor y0, double t0, double t1, CancellationToken cancellationToken = default);

    /// <summary>y(t1) from y(t0) = y0, starting with the trial step <paramref name="stepSize"/> (0: choose) and handing back the next one.</summary>
    NTensor Integrate(NTensor y0, double t0, double t1, ref double stepSize, CancellationToken cancellationToken = default);

    /// <summary>y at each of <paramref name="times"/> in one run.</summary>
    NTensor[] Integrate(NTensor y0, double t0, IReadOnlyList<double> times, ref double stepSize, CancellationToken cancellationToken = default);

    /// <summary>One step of size h from (t, y) with fy = f(t, y): the new y and f(t + h, y1), the next step's first stage.</summary>
    (NTensor Y, NTensor F) TakeStep(NTensor y, NTensor fy, double t, double h);
}

/// <summary>The argument rules of <see cref="IStepIntegrator.TakeStep"/>, shared by its implementations.</summary>
internal static class StepArguments
{
    /// <summary>Throws unless y and fy are given and of one shape, t is finite and h positive and finite.</summary>
    public static void Check(NTensor y, NTensor fy, double t, double h)
    {
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(fy);
        if (!double.IsFinite(t)) throw new ArgumentOutOfRangeException(nameof(t), t, "The step's start time must be finite.");
        if (!(h > 0) || !double.IsFinite(h)) throw new ArgumentOutOfRangeException(nameof(h), h, "The step size must be positive and finite.");
        if (!fy.Shape.SequenceEqual(y.Shape))
            throw new ArgumentException($"fy has shape ({string.Join(", ", fy.Shape)}), y has ({string.Join(", ", y.Shape)}); fy must be f(t, y).", nameof(fy));
    }
}
