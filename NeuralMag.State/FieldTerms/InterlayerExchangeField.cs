using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>
/// Interlayer (RKKY-type) exchange between the xy node layers idx1 and idx2 of a 3D mesh (upstream's
/// InterlayerExchangeField), an interface density in J/m²:
/// E = −∫_Γ ½ (iA₁ ρxy₁ + iA₂ ρxy₂) m₁ · m₂ dA,
/// with m₁, m₂ the magnetization on the two layers at the same (x, y), the coupling iA = material.iA in J/m² and the
/// face density rhoxy, both functions on "ccn" (cells in x and y, node layers in z) read on each layer's faces. This
/// is upstream's E = −½ Σ_layers ∫ iA m · m_other dA. The field h = −(μ0 M)⁻¹ ∂E/∂m acts on both layers; where the
/// two layers' couplings iA ρxy agree it is upstream's field, otherwise it is the exact gradient of E (upstream's
/// uses each layer's own coupling, which is not). h and E are differentiable with respect to m, iA, rhoxy, Ms, rho.
/// </summary>
public sealed class InterlayerExchangeField : InterfaceFieldTerm
{
    /// <param name="idx1">z index of the first coupled node layer.</param>
    /// <param name="idx2">z index of the second coupled node layer.</param>
    public InterlayerExchangeField(int idx1, int idx2) : base(idx1, idx2)
    {
        if (idx1 == idx2) throw new ArgumentException($"The two coupled layers must differ (both are {idx1}).", nameof(idx2));
    }

    /// <summary>"iexchange": attributes h_iexchange, E_iexchange.</summary>
    public override string DefaultName => "iexchange";

    /// <summary>e = −½ (iA₁ ρxy₁ + iA₂ ρxy₂) m₁ · m₂ in J/m².</summary>
    public override InterfaceEnergyDensity Density { get; } = new CouplingDensity();

    private sealed class CouplingDensity : InterfaceEnergyDensity
    {
        public override IReadOnlyList<string> Parameters { get; } = new[] { "material__iA", "rhoxy" };

        public override Dual Evaluate(in InterfacePoint p) =>
            -0.5 * (p.Param(0, 0) * p.Param(1, 0) + p.Param(0, 1) * p.Param(1, 1)) * Vec3.Dot(p.M1, p.M2);
    }
}
