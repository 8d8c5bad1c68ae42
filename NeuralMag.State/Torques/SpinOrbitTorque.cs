using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Spin–orbit torque of a charge current j in an adjacent heavy-metal layer that injects a spin current polarized
/// along p (spin Hall effect; the damping-like/field-like form of magnum.np and of Manchon et al., Rev. Mod. Phys. 91,
/// 035004 (2019)). It acts like the Gilbert-form field
/// h_SOT = H_j (η_DL m × p + η_FL p),  H_j = ħ j / (2 e μ0 Ms d)  (A/m),
/// so the explicit torque is tau = −γ' m × h_SOT − α γ' m × (m × h_SOT), γ' = γ/(1 + α²)  (1/s), the precession/damping
/// operator of <see cref="PrecessionDampingTorque"/> applied to h_SOT. j = attribute "j_sot" (A/m², a scalar, a cell
/// function or a function of t), p = material.p_sot (unit vector, (3,) or per cell), η_DL = material.eta_damp and
/// η_FL = material.eta_field (dimensionless efficiencies, e.g. the spin Hall angle), d = material.d (free-layer
/// thickness in m), α = material.alpha, Ms = material.Ms. For η_DL j &gt; 0 the damping-like torque turns m towards p.
/// </summary>
public sealed class SpinOrbitTorque : TorqueTerm
{
    /// <summary>"sot": attribute dmdt_sot.</summary>
    public override string DefaultName => "sot";

    /// <summary>The torque as a function of m, j_sot, material.p_sot, eta_damp, eta_field, d, alpha, Ms and rho.</summary>
    public override NamedFunction Torque(State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        NodalOperators.RequireNodalM(state, nameof(SpinOrbitTorque));
        return new NamedFunction(new[] { "m", "j_sot", "material__p_sot", "material__eta_damp", "material__eta_field", "material__d", "material__alpha", "material__Ms", "rho" }, a =>
        {
            NTensor m = a[0], j = a[1], p = a[2], etaDamp = a[3], etaField = a[4], d = a[5], alpha = a[6], ms = a[7], rho = a[8];
            var w = NodalOperators.MomentWeights(state, ms, rho);
            var hj = NodalOperators.ToNodes(state, j * NodalOperators.SafeReciprocal(ms * d) * (Constants.ReducedPlanck / (2 * Constants.ElementaryCharge * Constants.Mu0)), w, 1, "H_j = hbar j / (2 e mu0 Ms d)");
            var pN = NodalOperators.ToNodes(state, p, w, 3, "material__p_sot");
            var dl = NodalOperators.ToNodes(state, etaDamp, w, 1, "material__eta_damp");
            var fl = NodalOperators.ToNodes(state, etaField, w, 1, "material__eta_field");
            var alphaN = NodalOperators.ToNodes(state, alpha, w, 1, "material__alpha");
            var h = hj * (dl * NTensor.Cross(m, pN.Expand(m.GetShape())) + fl * pN);
            return PrecessionDampingTorque.Of(m, h, alphaN);
        });
    }
}
