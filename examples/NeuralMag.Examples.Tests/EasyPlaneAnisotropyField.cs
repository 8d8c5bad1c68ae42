using NeuralMag;
using NeuralMag.Kernels.FieldTerms;

namespace MyMagnetics;

/// <summary>
/// A user's own field term: easy-plane anisotropy with energy density e = Kp m_z² (J/m³), Kp = material.Kp in J/m³
/// (Kp &gt; 0 keeps m in the xy plane). Only the density is written; <see cref="FieldTerm"/> derives the nodal field
/// h = −1/(mu0 Ms) ∂E/∂m and registers h_easyplane, e_easyplane and E_easyplane.
/// </summary>
public sealed class EasyPlaneAnisotropyField : FieldTerm
{
    /// <inheritdoc/>
    public override string DefaultName => "easyplane";

    /// <inheritdoc/>
    public override EnergyDensity Density { get; } = new EasyPlaneDensity();

    private sealed class EasyPlaneDensity : EnergyDensity
    {
        public override IReadOnlyList<CellParameter> Parameters { get; } = new[] { new CellParameter("material__Kp", 1) };

        public override Dual Evaluate(in QuadPoint q) => q.Param(0) * q.M.Z.Square();
    }
}
