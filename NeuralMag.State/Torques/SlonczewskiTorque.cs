using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Slonczewski spin-transfer torque of a current through a spin valve or tunnel junction with a fixed layer
/// polarized along p (Slonczewski, J. Magn. Magn. Mater. 159, L1 (1996); Xiao, Zangwill and Stiles, PRB 70, 172405
/// (2004); in the form of mumax3, Vansteenkiste et al., AIP Advances 4, 107133 (2014)):
/// tau = β/(1 + α²) [ (ε − α ε') m × (p × m) − (ε' − α ε) m × p ]  (1/s),
/// β = (γ/μ0) ħ j_z / (e Ms d),  ε = P Λ² / ((Λ² + 1) + (Λ² − 1)(m · p)),
/// with j_z the z component of the current density "j" (A/m², a vector (3,), a vector cell function or a function
/// of t; the current flows through the stack along z), p = material.p (unit vector, (3,) or per cell),
/// P = material.P, Λ = material.Lambda (≥ 1 for the asymmetric angular dependence), ε' = material.eps_prime (the
/// secondary, field-like term), d = material.d (free-layer thickness in m), α = material.alpha, Ms = material.Ms and
/// γ = <see cref="Constants.Gamma"/>. For ε' = 0 and j_z > 0 the torque turns m towards p.
/// Cell parameters are carried to the nodes as moment-weighted means.
/// </summary>
public sealed class SlonczewskiTorque : TorqueTerm
{
    /// <summary>"slonczewski": attribute dmdt_slonczewski.</summary>
    public override string DefaultName => "slonczewski";

    /// <summary>The torque as a function of m, j, material.p, P, Lambda, eps_prime, d, alpha, Ms and rho.</summary>
    public override NamedFunction Torque(State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        NodalOperators.RequireNodalM(state, nameof(SlonczewskiTorque));
        return new NamedFunction(new[] { "m", "j", "material__p", "material__P", "material__Lambda", "material__eps_prime", "material__d", "material__alpha", "material__Ms", "rho" }, a =>
        {
            NTensor m = a[0], j = a[1], p = a[2], pol = a[3], lambda = a[4], epsPrime = a[5], d = a[6], alpha = a[7], ms = a[8], rho = a[9];
            var w = NodalOperators.MomentWeights(state, ms, rho);
            var jz = CurrentZ(state, j);
            // β on the cells (or uniform), then on the nodes.
            var beta = NodalOperators.ToNodes(state, jz * NodalOperators.SafeReciprocal(ms * d) * (Constants.Gamma / Constants.Mu0 * Constants.ReducedPlanck / Constants.ElementaryCharge), w, 1, "beta = (gamma/mu0) hbar j_z / (e Ms d)");
            var pN = NodalOperators.ToNodes(state, p, w, 3, "material__p");
            var polN = NodalOperators.ToNodes(state, pol, w, 1, "material__P");
            var l2 = NodalOperators.ToNodes(state, lambda, w, 1, "material__Lambda").Square();
            var epsP = NodalOperators.ToNodes(state, epsPrime, w, 1, "material__eps_prime");
            var alphaN = NodalOperators.ToNodes(state, alpha, w, 1, "material__alpha");
            var mp = NTensor.Dot(m, pN.Expand(m.GetShape())).Unsqueeze(-1);
            var eps = polN * l2 / (l2 + 1.0 + (l2 - 1.0) * mp);
            var mxp = NTensor.Cross(m, pN);
            var mxpxm = NTensor.Cross(mxp, m); // m × (p × m) = (m × p) × m
            var scale = beta / (alphaN.Square() + 1.0);
            return scale * ((eps - alphaN * epsP) * mxpxm - (epsP - alphaN * eps) * mxp);
        });
    }

    /// <summary>The z component of j: a scalar for a uniform (3,) current, a cell tensor for one vector per cell.</summary>
    internal static NTensor CurrentZ(State state, NTensor j)
    {
        if (j.Rank == 1 && j.Size == 3) return j.Slice(0, 2, 3).Reshape();
        if (NodalOperators.IsCellShaped(state, j, 3)) return j.Slice(j.Rank - 1, 2, 3).Squeeze(-1);
        throw new ArgumentException($"SlonczewskiTorque: the current density 'j' has shape {Shapes.Format(j.GetShape())}; expected (3,) or one vector per cell {Shapes.Format(state.Mesh.N.Append(3).ToArray())}.", "j");
    }
}
