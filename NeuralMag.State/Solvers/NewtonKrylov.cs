using NeuralMag.AD;

namespace NeuralMag;

/// <summary>Preconditioner of the Newton–GMRES stage solves of <see cref="ImplicitRungeKutta"/> (see <see cref="ImplicitSolverOptions.Preconditioner"/>).</summary>
public enum StagePreconditioner
{
    /// <summary>Plain GMRES on I − hγ J.</summary>
    None,

    /// <summary>
    /// Block Jacobi, from the right: M = I − hγ D, D the c × c diagonal blocks of J at each node of a state shaped
    /// [n_1, …, n_k, c] (c ≤ 8, e.g. the 3 components of m), found by J v on coloured unit vectors (2^k c products, 24
    /// on a 3-d mesh) at the first Newton iteration of each step and kept for all its stages. Exact blocks for terms
    /// that couple only nodes sharing a cell (exchange, DMI, anisotropy, Zeeman); approximate for demag when it is
    /// implicit (Kvaerno). The transposed stage solves of the backward pass use Mᵀ of the same blocks (kept on the tape: 9 numbers a node a step). The
    /// default: on the stiff 0.5 nm film (`llg stiff` bench) it halves the GMRES products and cuts the wall time 1.5–2.4x.
    /// </summary>
    BlockJacobi,

    /// <summary>
    /// Band LU, from the right: M = I − hγ J̃, J̃ the couplings of J between nodes within one index along each axis
    /// (all of J for exchange, DMI, anisotropy, Zeeman; demag, when implicit, only approximately), found by J v on
    /// coloured unit vectors (3^k c products, 54 for a film one cell thick) at the first Newton iteration of each step
    /// and factorized once per step (~n w² multiply–adds, w = c(Σ node strides + 1) − 1 the band's half-width); GMRES
    /// then needs a few products per Newton iteration (on the `llg stiff` film 17x fewer J v than plain GMRES), but each
    /// application, ~4 n w multiply–adds, costs there as much as 7–30 J v (memory-bound: more under load), so block Jacobi stays the default. Where the band is too large (more than 2e9 multiply–adds or 2.5e7
    /// entries) or its LU without pivoting breaks down, <see cref="BlockJacobi"/> is used instead.
    /// </summary>
    Banded,
}

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

    /// <summary>
    /// Preconditioner of the forward and transposed stage solves (default <see cref="StagePreconditioner.BlockJacobi"/>;
    /// <see cref="StagePreconditioner.None"/> turns it off). Applied from the right, so GMRES's tolerance is still on the
    /// true residual of (I − hγ J) δ = r and the Newton iterates converge to the same stage values.
    /// </summary>
    public StagePreconditioner Preconditioner { get; init; } = StagePreconditioner.BlockJacobi;

    /// <summary>Throws unless every setting is in range.</summary>
    internal void Check()
    {
        if (!(NewtonTolerance > 0) || !double.IsFinite(NewtonTolerance)) throw new ArgumentOutOfRangeException(nameof(NewtonTolerance), NewtonTolerance, "The Newton tolerance must be positive and finite.");
        if (MaxNewtonIterations < 1) throw new ArgumentOutOfRangeException(nameof(MaxNewtonIterations), MaxNewtonIterations, "At least one Newton iteration is needed.");
        if (!(KrylovTolerance > 0 && KrylovTolerance < 1)) throw new ArgumentOutOfRangeException(nameof(KrylovTolerance), KrylovTolerance, "The Krylov tolerance must lie in (0, 1).");
        if (KrylovRestart < 1) throw new ArgumentOutOfRangeException(nameof(KrylovRestart), KrylovRestart, "GMRES needs at least one Krylov vector before a restart.");
        if (MaxKrylovIterations < 1) throw new ArgumentOutOfRangeException(nameof(MaxKrylovIterations), MaxKrylovIterations, "At least one GMRES iteration is needed.");
        if (!(AdjointKrylovTolerance > 0 && AdjointKrylovTolerance < 1)) throw new ArgumentOutOfRangeException(nameof(AdjointKrylovTolerance), AdjointKrylovTolerance, "The adjoint Krylov tolerance must lie in (0, 1).");
        if (!Enum.IsDefined(Preconditioner)) throw new ArgumentOutOfRangeException(nameof(Preconditioner), Preconditioner, $"Unknown stage preconditioner; use one of {string.Join(", ", Enum.GetNames<StagePreconditioner>())}.");
        if (MaxAdjointKrylovIterations < 1) throw new ArgumentOutOfRangeException(nameof(MaxAdjointKrylovIterations), MaxAdjointKrylovIterations, "At least one adjoint GMRES iteration is needed.");
    }
}

/// <summary>
/// GMRES on tensors of any shape: flattens them for the restarted GMRES of <see cref="ImplicitGradient"/> (Saad and
/// Schultz, SIAM J. Sci. Stat. Comput. 7 (1986) 856; Arnoldi with modified Gram–Schmidt, Givens rotations, x0 = 0)
/// and, when asked, measures the true residual of its result (one more product). With a right preconditioner M⁻¹ it
/// runs GMRES on A M⁻¹ u = b and returns x = M⁻¹ u: the residual it tests, b − A M⁻¹ u, is that of x.
/// </summary>
internal static class Gmres
{
    /// <summary>The solution, the GMRES iterations, ‖b − A x‖/‖b‖ when measured (else 0; NaN for a non-finite x) and whether the tolerance was met.</summary>
    public readonly record struct Result(NTensor X, int Iterations, double RelativeResidual, bool Converged);

    /// <summary>Solves A x = b until ‖b − A x‖ ≤ rtol ‖b‖ or <paramref name="maxIterations"/> products of A; <paramref name="rightPreconditioner"/> (v ↦ M⁻¹ v on the flattened entries) when not null.</summary>
    public static Result Solve(Func<NTensor, NTensor> apply, NTensor b, double rtol, int restart, int maxIterations, bool trueResidual,
        Func<double[], double[]>? rightPreconditioner = null) =>
        Run(v => apply(v).ToArray(), b, rtol, restart, maxIterations, trueResidual, rightPreconditioner);

    /// <summary>
    /// As <see cref="Solve"/> for A = I − <paramref name="shift"/> J, J v by <paramref name="jacobianTimes"/>: the
    /// identity and the scaling are applied to the host arrays GMRES works on, one tensor product per iteration.
    /// </summary>
    public static Result SolveShifted(Func<NTensor, NTensor> jacobianTimes, double shift, NTensor b, double rtol, int restart, int maxIterations, bool trueResidual,
        Func<double[], double[]>? rightPreconditioner = null) =>
        Run(v =>
        {
            var jv = jacobianTimes(v).ToArray();
            var x = v.ToArray();
            for (int k = 0; k < jv.Length; k++) jv[k] = x[k] - shift * jv[k];
            return jv;
        }, b, rtol, restart, maxIterations, trueResidual, rightPreconditioner);

    private static Result Run(Func<NTensor, double[]> apply, NTensor b, double rtol, int restart, int maxIterations, bool trueResidual,
        Func<double[], double[]>? rightPreconditioner)
    {
        var shape = b.Shape.ToArray();
        var bArr = b.ToArray();
        double bNorm = Math.Sqrt(bArr.Sum(e => e * e));
        if (bNorm == 0) return new Result(NTensor.ZerosLike(b), 0, 0, true);
        if (!double.IsFinite(bNorm)) return new Result(NTensor.ZerosLike(b), 0, double.NaN, false);
        NTensor Tensor(double[] v) => NTensor.FromArray(v, shape, b.DType, b.Device);
        var m = rightPreconditioner;
        var (u, iterations) = ImplicitGradient.Gmres(v => apply(Tensor(m is null ? v : m(v))), bArr, bNorm, rtol, maxIterations, restart);
        var x = m is null ? u : m(u);
        var xt = Tensor(x);
        if (!trueResidual) return new Result(xt, iterations, x.All(double.IsFinite) ? 0 : double.NaN, iterations < maxIterations);
        var ax = apply(xt);
        double rr = 0;
        for (int k = 0; k < ax.Length; k++) rr += (bArr[k] - ax[k]) * (bArr[k] - ax[k]);
        double rel = Math.Sqrt(rr) / bNorm;
        if (!double.IsFinite(rel)) return new Result(xt, iterations, double.NaN, false);
        return new Result(xt, iterations, rel, rel <= rtol * (1 + 1e-6));
    }
}