using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Brown's thermal field (W. F. Brown, Phys. Rev. 130, 1677 (1963)): a Gaussian white-noise field with
/// ⟨h_i,k(t) h_j,l(t')⟩ = 2 α k_B T / (γ μ0 M_i) δ_ij δ_kl δ(t − t'), which a step of length Δt samples as
/// h_th,i = sqrt(2 α k_B T / (γ μ0 M_i Δt)) ξ_i with ξ_i standard normal per node and component  (A/m).
/// M_i = Σ_c Ms_c ρ_c V_c / 2^d is node i's moment (A m²), the lumped mass of the nodal finite differences that also
/// defines the deterministic field h_i = −(μ0 M_i)⁻¹ ∂E/∂m_i, so each node is a macrospin of moment M_i (for a
/// uniform magnet Ms times the node's volume V/2^d per adjacent cell: a full cell volume inside, half of it on a
/// face, V/8 at a corner of a 3D mesh). α T on the node is the moment-weighted mean of the cells' α_c T_c;
/// T = attribute "T" in K (a scalar, a cell function or a function of t; not the time property State.T),
/// α = material.alpha, γ = <see cref="Constants.Gamma"/>, k_B = <see cref="Constants.Boltzmann"/>.
/// Registered as the field h_thermal and the torque dmdt_thermal = −γ' m × h_th − α γ' m × (m × h_th) (the
/// precession/damping torque of h_th, so that the total is that of h + h_th). The noise ξ/sqrt(Δt) is the attribute
/// "thermal_noise" (1/sqrt(s), zeros outside a run), drawn each step by <see cref="StochasticLLGSolver"/> from a
/// counter-based generator; the adaptive <see cref="LLGSolver"/> refuses a state with a thermal field.
/// </summary>
public sealed class ThermalField : TorqueTerm
{
    /// <summary>The attribute holding ξ/sqrt(Δt) of the current step (1/sqrt(s)).</summary>
    public const string NoiseAttribute = "thermal_noise";

    /// <summary>"thermal": attributes h_thermal and dmdt_thermal.</summary>
    public override string DefaultName => "thermal";

    /// <summary>
    /// Adds h_name (the thermal field), thermal_noise (zeros) when missing, and the torque dmdt_name. The temperature
    /// attribute "T" must exist when a solver resolves the right-hand side.
    /// </summary>
    public override void Register(State state, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!state.Has("m"))
            throw new InvalidOperationException("ThermalField.Register: the state has no magnetization 'm'; assign state.M before registering the thermal field.");
        NodalOperators.RequireNodalM(state, nameof(ThermalField));
        name ??= DefaultName;
        _name = name;
        if (!state.Has(NoiseAttribute)) state.SetTyped(NoiseAttribute, state.Zeros(state.M.TensorShape), state.M.Spaces, new[] { 3 });
        state.SetTyped($"h_{name}", Field(state), state.M.Spaces, new[] { 3 });
        base.Register(state, name);
    }

    /// <summary>h_th = sqrt(2 k_B (αT)_i / (γ μ0 M_i)) · thermal_noise in A/m; 0 on nodes without moment.</summary>
    public static NamedFunction Field(State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new NamedFunction(new[] { NoiseAttribute, "T", "material__alpha", "material__Ms", "rho" }, a =>
        {
            NTensor noise = a[0], temperature = a[1], alpha = a[2], ms = a[3], rho = a[4];
            var w = NodalOperators.MomentWeights(state, ms, rho);
            var alphaT = NodalOperators.ToNodes(state, alpha * temperature, w, 1, "material__alpha * T");
            var moment = NodalOperators.NodeMoment(state, ms, rho).Unsqueeze(-1);
            var variance = alphaT * NodalOperators.SafeReciprocal(moment) * (2 * Constants.Boltzmann / (Constants.Gamma * Constants.Mu0));
            var has = variance.Gt(0.0);
            var sigma = NTensor.Where(has, NTensor.Where(has, variance, 1.0).Sqrt(), 0.0);
            return sigma * noise;
        });
    }

    /// <summary>The precession/damping torque of h_name (1/s).</summary>
    public override NamedFunction Torque(State state) =>
        new(new[] { "m", $"h_{_name ?? DefaultName}", "material__alpha" }, a => PrecessionDampingTorque.Of(a[0], a[1], a[2]));

    private string? _name;

    /// <summary>Throws when <paramref name="state"/> has a thermal field: <paramref name="solver"/> cannot integrate white noise.</summary>
    internal static void Refuse(State state, string solver)
    {
        if (state.Has(NoiseAttribute))
            throw new InvalidOperationException(
                $"{solver}: the state has a thermal field (attribute '{NoiseAttribute}'); its white noise needs a fixed step that sets the noise " +
                "amplitude sqrt(2 alpha k_B T / (gamma mu0 M dt)), which an adaptive or deterministic integrator does not have. Use StochasticLLGSolver " +
                $"(stochastic Heun), or remove the thermal field (state.Remove(\"{NoiseAttribute}\") and re-register the other torque terms).");
    }
}
