using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>
/// Interface Dzyaloshinskii–Moriya interaction: E = ∫ D [m · ∇(e_D · m) - (∇ · m)(e_D · m)] dV, with D = material.Di
/// in J/m² and the interface normal e_D = material.Di_axis (unit vector).
/// </summary>
public sealed class InterfaceDMIField : FieldTerm
{
    /// <summary>"idmi": attributes h_idmi, e_idmi, E_idmi.</summary>
    public override string DefaultName => "idmi";
    /// <summary>The energy density (J/m^3) integrated by the finite-element assembly.</summary>
    public override EnergyDensity Density { get; } = new InterfaceDmiDensity();

    private sealed class InterfaceDmiDensity : EnergyDensity
    {
        public override IReadOnlyList<CellParameter> Parameters { get; } =
            new[] { new CellParameter("material__Di", 1), new CellParameter("material__Di_axis", 3) };

        public override Dual Evaluate(in QuadPoint q)
        {
            var m = q.M;
            var axis = q.ParamVector(1);
            // ∇(e_D · m)_k = e_D · ∂_k m, since e_D is constant in a cell.
            var gradEm = new Vec3(Vec3.Dot(axis, q.D(0)), Vec3.Dot(axis, q.D(1)), Vec3.Dot(axis, q.D(2)));
            var div = q.Grad(0, 0) + q.Grad(1, 1) + q.Grad(2, 2);
            return q.Param(0) * (Vec3.Dot(m, gradEm) - div * Vec3.Dot(axis, m));
        }
    }
}
