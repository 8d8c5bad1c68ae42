using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>
/// Exchange: E = ∫ A (|∂x m|² + |∂y m|² + |∂z m|²) dV, with the exchange constant A = material.A in J/m
/// (cell function). Reads material.Ms for the field's mass.
/// </summary>
public sealed class ExchangeField : FieldTerm
{
    /// <summary>"exchange": attributes h_exchange, e_exchange, E_exchange.</summary>
    public override string DefaultName => "exchange";
    /// <summary>The energy density (J/m^3) integrated by the finite-element assembly.</summary>
    public override EnergyDensity Density { get; } = new ExchangeDensity();

    private sealed class ExchangeDensity : EnergyDensity
    {
        public override IReadOnlyList<CellParameter> Parameters { get; } = new[] { new CellParameter("material__A", 1) };

        public override Dual Evaluate(in QuadPoint q) =>
            q.Param(0) * (Vec3.Dot(q.D(0), q.D(0)) + Vec3.Dot(q.D(1), q.D(1)) + Vec3.Dot(q.D(2), q.D(2)));
    }
}
