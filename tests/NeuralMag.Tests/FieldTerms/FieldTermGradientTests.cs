using NeuralMag.AD;
using NeuralMag.Kernels.FieldTerms;
using NeuralMag.Testing;

namespace NeuralMag.Tests.FieldTerms;

using State = NeuralMag.State;

/// <summary>
/// Field-term VJPs against central differences (through <see cref="NeuralMagAssert"/>), fields against the tape's
/// dE/dm, and analytic fields.
/// </summary>
[TestClass]
public sealed class FieldTermGradientTests
{
    private static State NewState(out NTensor m, int seed = 5)
    {
        var state = new State(new Mesh(new[] { 4, 3, 2 }, new[] { 2e-9, 3e-9, 2.5e-9 }), Device.Cpu, DType.Float64);
        var rng = new Random(seed);
        var raw = NTensor.FromArray(Enumerable.Range(0, 5 * 4 * 3 * 3).Select(_ => rng.NextDouble() - 0.5).ToArray(), new[] { 5, 4, 3, 3 });
        m = raw / raw.Norm(-1).Unsqueeze(-1);
        state["m"] = new VectorFunction(state, m);
        state.Material["Ms"] = new CellFunction(state).Fill(8e5);
        state.Material["A"] = new CellFunction(state).Fill(1.3e-11);
        state.Material["Ku"] = new CellFunction(state).Fill(4e5);
        state.Material["Ku_axis"] = new VectorCellFunction(state).Fill(new[] { 0.6, 0, 0.8 });
        state.Material["Db"] = new CellFunction(state).Fill(3e-3);
        state.Material["Di"] = new CellFunction(state).Fill(2e-3);
        state.Material["Di_axis"] = new VectorCellFunction(state).Fill(new[] { 0, 0, 1.0 });
        return state;
    }

    /// <summary>Entries checked per tensor: evenly spaced ones plus the largest gradient entry (4 evaluations each).</summary>
    private static readonly GradientCheckOptions Sampled = new() { MaxEntries = 32 };

    [TestMethod]
    [DataRow("exchange")]
    [DataRow("uaniso")]
    [DataRow("bdmi")]
    [DataRow("idmi")]
    public void FieldVjpWithRespectToMMatchesFiniteDifferences(string term)
    {
        var state = NewState(out var m);
        FieldTerm t = term switch
        {
            "exchange" => new ExchangeField(),
            "uaniso" => new UniaxialAnisotropyField(),
            "bdmi" => new BulkDMIField(),
            _ => new InterfaceDMIField(),
        };
        t.Register(state, term);
        var h = state.Resolve("h_" + term, new[] { "m" });
        var w = NTensor.FromArray(Enumerable.Range(0, m.Size).Select(i => Math.Sin(i)).ToArray(), m.GetShape());
        NeuralMagAssert.GradientMatchesFiniteDifferences(x => (h.Invoke(x) * w).Sum(), m, Sampled);
    }

    [TestMethod]
    [DataRow("exchange")]
    [DataRow("uaniso")]
    [DataRow("bdmi")]
    [DataRow("idmi")]
    [DataRow("caniso")]
    public void FieldIsMinusTheEnergyGradientOverMu0TimesTheLumpedMass(string term)
    {
        var state = NewState(out _);
        state.Material["Kc"] = new CellFunction(state).Fill(2e4);
        state.Material["Kc_axis1"] = new VectorCellFunction(state).Fill(new[] { 1.0, 0, 0 });
        state.Material["Kc_axis2"] = new VectorCellFunction(state).Fill(new[] { 0, 1.0, 0 });
        state.Material["Kc_axis3"] = new VectorCellFunction(state).Fill(new[] { 0, 0, 1.0 });
        FieldTerm t = term switch
        {
            "exchange" => new ExchangeField(),
            "uaniso" => new UniaxialAnisotropyField(),
            "bdmi" => new BulkDMIField(),
            "caniso" => new CubicAnisotropyField(),
            _ => new InterfaceDMIField(),
        };
        t.Register(state, term);
        NeuralMagAssert.FieldIsEnergyGradient(state, term);
    }

    [TestMethod]
    public void EnergyGradientsWithRespectToParametersMatchFiniteDifferences()
    {
        var state = NewState(out _);
        new UniaxialAnisotropyField().Register(state, "uaniso");
        new InterfaceDMIField().Register(state, "idmi");
        NeuralMagAssert.GradientMatchesFiniteDifferences(state.Resolve("E_uaniso", new[] { "material__Ku" }), state, Sampled);
        NeuralMagAssert.GradientMatchesFiniteDifferences(state.Resolve("E_idmi", new[] { "material__Di_axis", "m" }), state, Sampled);
    }

    [TestMethod]
    public void UniformMagnetizationHasNoExchangeField()
    {
        var state = NewState(out _);
        state["m"] = new VectorFunction(state).Fill(new[] { 0.6, 0.0, 0.8 });
        new ExchangeField().Register(state, "exchange");
        // Zero up to round-off relative to the field scale 2A/(mu0 Ms dx^2) ~ 7e9 A/m of a one-cell twist.
        double scale = 2 * 1.3e-11 / (Constants.Mu0 * 8e5 * 2e-9 * 2e-9);
        Assert.AreEqual(0.0, state.Tensor("h_exchange").Abs().Max().Item() / scale, 1e-15);
        // The generic dual-number path gives the same zero.
        var generic = NewState(out _);
        generic["m"] = new VectorFunction(generic).Fill(new[] { 0.6, 0.0, 0.8 });
        new ExchangeField { ElementOperators = false }.Register(generic, "exchange");
        Assert.AreEqual(0.0, generic.Tensor("h_exchange").Abs().Max().Item() / scale, 1e-15);
    }

    [TestMethod]
    public void HelixHasTheBulkExchangeField()
    {
        // m = (cos kx, sin kx, 0): h = -2A k^2/(mu0 Ms) m away from the boundaries, up to the O((k dx)^2) FE error.
        int n = 200;
        double dx = 1e-9, k = 2 * Math.PI / (50 * dx), a = 1.3e-11, ms = 8e5;
        var state = new State(new Mesh(new[] { n }, new[] { dx, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        var x = state.Coordinates("n")[0].ToArray();
        state["m"] = new VectorFunction(state, NTensor.FromArray(x.SelectMany(v => new[] { Math.Cos(k * v), Math.Sin(k * v), 0 }).ToArray(), new[] { n + 1, 3 }));
        state.Material["A"] = a;
        state.Material["Ms"] = ms;
        new ExchangeField().Register(state, "exchange");
        var h = state.Tensor("h_exchange");
        double expected = -2 * a * k * k / (Constants.Mu0 * ms);
        var mid = h[n / 2].ToArray();
        Assert.AreEqual(expected * Math.Cos(k * x[n / 2]), mid[0], 2e-3 * Math.Abs(expected));
        Assert.AreEqual(expected * Math.Sin(k * x[n / 2]), mid[1], 2e-3 * Math.Abs(expected));
    }

    [TestMethod]
    public void UniaxialFieldAlongTheAxisIs2KuOverMu0Ms()
    {
        var state = NewState(out _);
        state["m"] = new VectorFunction(state).Fill(new[] { 0.6, 0, 0.8 });
        new UniaxialAnisotropyField().Register(state, "uaniso");
        var h = state.Tensor("h_uaniso")[2, 2, 1].ToArray();
        double expected = 2 * 4e5 / (Constants.Mu0 * 8e5);
        Assert.AreEqual(expected * 0.6, h[0], 1e-9 * expected);
        Assert.AreEqual(expected * 0.8, h[2], 1e-9 * expected);
    }

    /// <summary>A term defined in this test by its energy density alone: an easy-plane anisotropy K m_z^2.</summary>
    private sealed class EasyPlane : FieldTerm
    {
        public override string DefaultName => "easyplane";
        public override EnergyDensity Density { get; } = new D();

        private sealed class D : EnergyDensity
        {
            public override IReadOnlyList<CellParameter> Parameters { get; } = new[] { new CellParameter("material__Kp", 1) };
            public override Dual Evaluate(in QuadPoint q) => q.Param(0) * q.M.Z.Square();
        }
    }

    [TestMethod]
    public void ANewTermFromItsEnergyDensityAloneGivesTheRightField()
    {
        var state = NewState(out _);
        state["m"] = new VectorFunction(state).Fill(new[] { 0.6, 0, 0.8 });
        state.Material["Kp"] = 1e5;
        new EasyPlane().Register(state);
        // e = Kp m_z^2 -> h = -2 Kp m_z / (mu0 Ms) e_z.
        var h = state.Tensor("h_easyplane")[1, 1, 1].ToArray();
        Assert.AreEqual(0.0, h[0], 1e-9);
        Assert.AreEqual(-2 * 1e5 * 0.8 / (Constants.Mu0 * 8e5), h[2], 1e-6);
        Assert.AreEqual(1e5 * 0.64 * 8e-9 * 9e-9 * 5e-9, state.Tensor("E_easyplane").Item(), 1e-30);
    }
}
