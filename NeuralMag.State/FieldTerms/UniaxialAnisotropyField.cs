using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>
/// Uniaxial anisotropy: E = -∫ Ku (m · e_u)² dV, with Ku = material.Ku in J/m³ and the unit axis
/// e_u = material.Ku_axis (cell vector function or one vector).
/// </summary>
public sealed class UniaxialAnisotropyField : FieldTerm
{
    /// <summary>"uaniso": attributes h_uaniso, e_uaniso, E_uaniso.</summary>
    public override string DefaultName => "uaniso";
    /// <summary>The energy density (J/m^3) integrated by the finite-element assembly.</summary>
    public override EnergyDensity Density { get; } = new UniaxialDensity();

    private sealed class UniaxialDensity : EnergyDensity
    {
        public override IReadOnlyList<CellParameter> Parameters { get; } =
            new[] { new CellParameter("material__Ku", 1), new CellParameter("material__Ku_axis", 3) };

        public override Dual Evaluate(in QuadPoint q) => -q.Param(0) * Vec3.Dot(q.M, q.ParamVector(1)).Square();
    }
}
