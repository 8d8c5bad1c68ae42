using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>Bulk Dzyaloshinskii–Moriya interaction: E = ∫ D m · (∇ × m) dV, with D = material.Db in J/m².</summary>
public sealed class BulkDMIField : FieldTerm
{
    /// <summary>"bdmi": attributes h_bdmi, e_bdmi, E_bdmi.</summary>
    public override string DefaultName => "bdmi";
    /// <summary>The energy density (J/m^3) integrated by the finite-element assembly.</summary>
    public override EnergyDensity Density { get; } = new BulkDmiDensity();

    private sealed class BulkDmiDensity : EnergyDensity
    {
        public override IReadOnlyList<CellParameter> Parameters { get; } = new[] { new CellParameter("material__Db", 1) };

        public override Dual Evaluate(in QuadPoint q)
        {
            var m = q.M;
            var curl = new Vec3(q.Grad(2, 1) - q.Grad(1, 2), q.Grad(0, 2) - q.Grad(2, 0), q.Grad(1, 0) - q.Grad(0, 1));
            return q.Param(0) * Vec3.Dot(m, curl);
        }
    }
}
