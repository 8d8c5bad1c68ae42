using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Zhang–Li spin-transfer torque of a current flowing through the magnet (Zhang and Li, PRL 93, 127204 (2004);
/// Thiaville et al., Europhys. Lett. 69, 990 (2005)). In the Gilbert form
/// dm/dt = … − (u · ∇) m + ξ m × (u · ∇) m, with the spin-drift velocity u = P g μ_B j / (2 e Ms) in m/s;
/// written as the explicit (Landau–Lifshitz) torque added to the right-hand side:
/// tau = 1/(1 + α²) [ (1 + αξ) m × (m × (u · ∇) m) + (ξ − α) m × (u · ∇) m ]  (1/s),
/// with j = attribute "j" (A/m², a vector (3,), a vector cell function or a function of t), P = material.P
/// (polarization), ξ = material.xi (non-adiabaticity), α = material.alpha, Ms = material.Ms (A/m), g = 2 and
/// μ_B/e from <see cref="Constants"/>. Walls move along u (for ξ = α with exactly the velocity u), so j is the
/// direction of the electrons' drift; a conventional current density enters with the opposite sign.
/// u is formed on the cells and carried to the nodes as the moment-weighted (Ms ρ) mean of the cells around each
/// node; (u · ∇) m by central differences of the nodal m (one-sided at open boundaries).
/// </summary>
public sealed class ZhangLiTorque : TorqueTerm
{
    /// <summary>Electron g-factor in u = P g μ_B j / (2 e Ms) (the free-electron value 2, as Thiaville et al. 2005).</summary>
    public const double GFactor = 2.0;

    /// <summary>"zhangli": attribute dmdt_zhangli.</summary>
    public override string DefaultName => "zhangli";

    /// <summary>The torque as a function of m, j, material.P, material.xi, material.alpha, material.Ms and rho.</summary>
    public override NamedFunction Torque(State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        NodalOperators.RequireNodalM(state, nameof(ZhangLiTorque));
        return new NamedFunction(new[] { "m", "j", "material__P", "material__xi", "material__alpha", "material__Ms", "rho" }, a =>
        {
            NTensor m = a[0], j = a[1], p = a[2], xi = a[3], alpha = a[4], ms = a[5], rho = a[6];
            var weights = NodalOperators.MomentWeights(state, ms, rho);
            var u = NodalOperators.ToNodes(state, DriftVelocity(state, j, p, ms), weights, 3, "u = P g mu_B j / (2 e Ms)");
            var xiN = NodalOperators.ToNodes(state, xi, weights, 1, "material__xi");
            var alphaN = NodalOperators.ToNodes(state, alpha, weights, 1, "material__alpha");
            var v = NodalOperators.Advection(state, m, u);
            var mxv = NTensor.Cross(m, v);
            var scale = (alphaN.Square() + 1.0).Reciprocal();
            return scale * ((alphaN * xiN + 1.0) * NTensor.Cross(m, mxv) + (xiN - alphaN) * mxv);
        });
    }

    /// <summary>u = P g μ_B j / (2 e Ms) in m/s on the cells (or one vector when everything is uniform); 0 where Ms = 0.</summary>
    internal static NTensor DriftVelocity(State state, NTensor j, NTensor p, NTensor ms)
    {
        var factor = p * NodalOperators.SafeReciprocal(ms) * (GFactor * Constants.BohrMagneton / (2 * Constants.ElementaryCharge));
        if (j.Size == 3 && j.Rank == 1)
        {
            if (factor.Size == 1) return j * factor.Reshape();
            return j * (NodalOperators.IsCellShaped(state, factor) ? factor : factor.Reshape().Expand(state.Mesh.N)).Unsqueeze(-1);
        }
        if (!NodalOperators.IsCellShaped(state, j, 3))
            throw new ArgumentException($"ZhangLiTorque: the current density 'j' has shape {Shapes.Format(j.GetShape())}; expected (3,) or one vector per cell {Shapes.Format(state.Mesh.N.Append(3).ToArray())}.", "j");
        return j * (factor.Size == 1 ? factor.Reshape() : factor.Unsqueeze(-1));
    }
}
