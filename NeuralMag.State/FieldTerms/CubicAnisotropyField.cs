using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>
/// Cubic anisotropy: E = -∫ Kc [(m·e1)²(m·e2)² + (m·e2)²(m·e3)² + (m·e3)²(m·e1)²] dV, with Kc = material.Kc in
/// J/m³ and orthogonal unit axes material.Kc_axis1..3. As upstream, one Gauss point per cell by default.
/// </summary>
public sealed class CubicAnisotropyField : FieldTerm
{
    /// <summary>"caniso": attributes h_caniso, e_caniso, E_caniso.</summary>
    public override string DefaultName => "caniso";
    /// <summary>The energy density (J/m^3) integrated by the finite-element assembly.</summary>
    public override EnergyDensity Density { get; } = new CubicDensity();

    private sealed class CubicDensity : EnergyDensity
    {
        public override IReadOnlyList<CellParameter> Parameters { get; } = new[]
        {
            new CellParameter("material__Kc", 1), new CellParameter("material__Kc_axis1", 3),
            new CellParameter("material__Kc_axis2", 3), new CellParameter("material__Kc_axis3", 3),
        };

        public override int DefaultGaussPoints => 1;

        public override Dual Evaluate(in QuadPoint q)
        {
            var m = q.M;
            var a1 = Vec3.Dot(m, q.ParamVector(1)).Square();
            var a2 = Vec3.Dot(m, q.ParamVector(2)).Square();
            var a3 = Vec3.Dot(m, q.ParamVector(3)).Square();
            return -q.Param(0) * (a1 * a2 + a2 * a3 + a3 * a1);
        }
    }
}
