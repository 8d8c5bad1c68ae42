using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Settings of the Newton iterations and their Krylov (GMRES) linear solves in <see cref="ImplicitRungeKutta"/>.
/// Each implicit stage solves z − h γ f_I(t, z) = r by Newton's method, (I − h γ J) δ = −(z − h γ f_I(z) − r),
/// J = ∂f_I/∂y at the current z, the linear system by restarted GMRES on Jacobian–vector products J v. Newton stops
/// when the RMS of δ, measured in the step control's units (atol + rtol |y|), is at most <see cref="NewtonTolerance"/>;
/// it fails, and the step is rejected and shrunk, when the correction grows, stays non-finite or
/// <see cref="MaxNewtonIterations"/> pass without convergence.
/// </summary>
public sealed class ImplicitSolverOptions
{
    /// <summary>Newton stops when RMS(δ / (atol + rtol |y|)) ≤ this (default 0.01: a hundredth of the local error tolerance).</summary>
    public double NewtonTolerance { get; init; } = 1e-2;

    /// <summary>Most Newton iterations per stage before the step is rejected (default 10).</summary>
    public int MaxNewtonIterations { get; init; } = 10;

    /// <summary>GMRES stops when the residual is at most this fraction of the right-hand side's norm (default 1e-3, as upstream's lineax GMRES).</summary>
    public double KrylovTolerance { get; init; } = 1e-3;

    /// <summary>Krylov vectors kept before GMRES restarts (default 30).</summary>
    public int KrylovRestart { get; init; } = 30;

    /// <summary>Most GMRES iterations (Jacobian–vector products) per linear solve (default 100); Newton goes on with the best iterate.</summary>
    public int MaxKrylovIterations { get; init; } = 100;

    /// <summary>Relative residual of the transposed stage systems solved in the backward pass (default 1e-10): the gradient is that of the discrete solution to about this accuracy.</summary>
    public double AdjointKrylovTolerance { get; init; } = 1e-10;

    /// <summary>Most GMRES iterations of one transposed stage solve in the backward pass (default 1000).</summary>
    public int MaxAdjointKrylovIterations { get; init; } = 1000;

    /// <summary>Throws unless every setting is in range.</summary>
    internal void Check()
    {
        if (!(NewtonTolerance > 0) || !double.IsFinite(NewtonTolerance)) throw new ArgumentOutOfRangeException(nameof(NewtonTolerance), NewtonTolerance, "The Newton tolerance must be positive and finite.");
        if (MaxNewtonIterations < 1) throw new ArgumentOutOfRangeException(nameof(MaxNewtonIterations), MaxNewtonIterations, "At least one Newton iteration is needed.");
        if (!(KrylovTolerance > 0 && KrylovTolerance < 1)) throw new ArgumentOutOfRangeException(nameof(KrylovTolerance), KrylovTolerance, "The Krylov tolerance must lie in (0, 1).");
        if (KrylovRestart < 1) throw new ArgumentOutOfRangeException(nameof(KrylovRestart), KrylovRestart, "GMRES needs at least one Krylov vector before a restart.");
        if (MaxKrylovIterations < 1) throw new ArgumentOutOfRangeException(nameof(MaxKrylovIterations), MaxKrylovIterations, "At least one GMRES iteration is needed.");
        if (!(AdjointKrylovTolerance > 0 && AdjointKrylovTolerance < 1)) throw new ArgumentOutOfRangeException(nameof(AdjointKrylovTolerance), AdjointKrylovTolerance, "The adjoint Krylov tolerance must lie in (0, 1).");
        if (MaxAdjointKrylovIterations < 1) throw new ArgumentOutOfRangeException(nameof(MaxAdjointKrylovIterations), MaxAdjointKrylovIterations, "At least one adjoint GMRES iteration is needed.");
    }
}

/// <summary>
/// GMRES on tensors of any shape: flattens them for the restarted GMRES of <see cref="ImplicitGradient"/> (Saad and
/// Schultz, SIAM J. Sci. Stat. Comput. 7 (1986) 856; Arnoldi with modified Gram–Schmidt, Givens rotations, x0 = 0)
/// and, when asked, measures the true residual of its result (one more product).
/// </summary>
internal static class Gmres
{
    /// <summary>The solution, the GMRES iterations, ‖b − A x‖/‖b‖ when measured (else 0; NaN for a non-finite x) and whether the tolerance was met.</summary>
    public readonly record struct Result(NTensor X, int Iterations, double RelativeResidual, bool Converged);

    /// <summary>Solves A x = b until ‖b − A x‖ ≤ rtol ‖b‖ or <paramref name="maxIterations"/> products of A.</summary>
    public static Result Solve(Func<NTensor, NTensor> apply, NTensor b, double rtol, int restart, int maxIterations, bool trueResidual)
    {
        var shape = b.Shape.ToArray();
        var bArr = b.ToArray();
        double bNorm = Math.Sqrt(bArr.Sum(e => e * e));
        if (bNorm == 0) return new Result(NTensor.ZerosLike(b), 0, 0, true);
        if (!double.IsFinite(bNorm)) return new Result(NTensor.ZerosLike(b), 0, double.NaN, false);
        NTensor Tensor(double[] v) => NTensor.FromArray(v, shape, b.DType, b.Device);
        var (x, iterations) = ImplicitGradient.Gmres(v => apply(Tensor(v)).ToArray(), bArr, bNorm, rtol, maxIterations, restart);
        var xt = Tensor(x);
        if (!trueResidual) return new Result(xt, iterations, x.All(double.IsFinite) ? 0 : double.NaN, iterations < maxIterations);
        var r = (b - apply(xt)).ToArray();
        double rel = Math.Sqrt(r.Sum(e => e * e)) / bNorm;
        if (!double.IsFinite(rel)) return new Result(xt, iterations, double.NaN, false);
        return new Result(xt, iterations, rel, rel <= rtol * (1 + 1e-6));
    }
}
