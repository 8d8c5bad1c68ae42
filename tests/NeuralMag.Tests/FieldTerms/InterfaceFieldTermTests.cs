using NeuralMag.AD;
using NeuralMag.Kernels.FieldTerms;
using NeuralMag.Testing;

namespace NeuralMag.Tests.FieldTerms;

/// <summary>
/// A user-defined interface density on a single node layer (layer₁ = layer₂), written only as its density: surface
/// anisotropy E = −∫_Γ Ks (m·ẑ)² dA on the top face, Ks = material.Ks in J/m² on "ccn". Checked against the closed
/// form for uniform m, against h = −dE/dm/(μ0 M), and its gradients against finite differences.
/// </summary>
[TestClass]
public sealed class InterfaceFieldTermTests
{
    private sealed class SurfaceAnisotropy(int layer) : InterfaceFieldTerm(layer, layer)
    {
        public override string DefaultName => "sanis";
        public override InterfaceEnergyDensity Density { get; } = new D();

        private sealed class D : InterfaceEnergyDensity
        {
            public override IReadOnlyList<string> Parameters { get; } = new[] { "material__Ks" };
            // On one layer m₁ = m₂ = m; the two sides' Ks are the same face value.
            public override Dual Evaluate(in InterfacePoint p) => -1.0 * p.Param(0, 0) * p.M1.Z * p.M2.Z;
        }
    }

    private static NeuralMag.State NewState(bool random)
    {
        var state = new NeuralMag.State(new Mesh(new[] { 3, 2, 2 }, new[] { 2e-9, 1e-9, 1.5e-9 }), Device.Cpu, DType.Float64);
        var rng = new Random(4);
        var shape = new[] { 4, 3, 3, 3 };
        var raw = random
            ? NTensor.FromArray(Enumerable.Range(0, 108).Select(_ => rng.NextDouble() - 0.5).ToArray(), shape)
            : NTensor.FromArray(new[] { 0.6, 0.0, 0.8 }).Expand(shape);
        state["m"] = new VectorFunction(state, raw / raw.Norm(-1).Unsqueeze(-1));
        state.Material["Ms"] = 8e5;
        state.Material["Ks"] = random
            ? new Function(state, "ccn", tensor: NTensor.FromArray(Enumerable.Range(0, 18).Select(_ => 1e-3 * (0.5 + rng.NextDouble())).ToArray(), new[] { 3, 2, 3 }))
            : new Function(state, "ccn").Fill(1e-3);
        new SurfaceAnisotropy(2).Register(state);
        return state;
    }

    [TestMethod]
    public void UniformMagnetizationGivesMinusKsCosSquaredTimesTheArea()
    {
        var state = NewState(random: false);
        double area = 6e-9 * 2e-9;
        Assert.AreEqual(-1e-3 * 0.64 * area, state.Tensor("E_sanis").Item(), 1e-14 * 1e-3 * area);
        // The field sits on the top layer only: h_z = 2 Ks m_z ∫N_i dA / (μ0 M_i) at every node of that layer.
        var h = state.Tensor("h_sanis").ToArray();
        Assert.AreEqual(0.0, h.Where((_, i) => (i / 3) % 3 != 2).Max(Math.Abs));
        // Interior top node: ∫N dA = dx dy, lumped mass M = Ms dx dy dz / 2 (4 cells of volume V, V/8 each).
        int node = ((1 * 3 + 1) * 3 + 2) * 3;
        double expected = 2 * 1e-3 * 0.8 * (2e-9 * 1e-9) / (Constants.Mu0 * 8e5 * 2e-9 * 1e-9 * 1.5e-9 / 2);
        Assert.AreEqual(expected, h[node + 2], 1e-12 * expected);
    }

    [TestMethod]
    public void FieldIsTheEnergyGradientAndTheGradientsMatchFiniteDifferences()
    {
        var state = NewState(random: true);
        NeuralMagAssert.FieldIsEnergyGradient(state, "sanis");
        foreach (var input in new[] { "m", "material__Ks" })
            NeuralMagAssert.GradientMatchesFiniteDifferences(state.Resolve("E_sanis", new[] { input }), state);
        var w = NTensor.FromArray(Enumerable.Range(0, 108).Select(i => Math.Sin(0.7 * i)).ToArray(), new[] { 4, 3, 3, 3 });
        foreach (var input in new[] { "m", "material__Ks", "material__Ms" })
        {
            var h = state.Resolve("h_sanis", new[] { input });
            NeuralMagAssert.GradientMatchesFiniteDifferences(x => (h.Invoke(x) * w).Sum(), state.Tensor(input));
        }
    }

    [TestMethod]
    public void BadSetupsAreRefused()
    {
        var flat = new NeuralMag.State(new Mesh(new[] { 2, 2 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        flat["m"] = new VectorFunction(flat).Fill(new[] { 0.0, 0.0, 1.0 });
        StringAssert.Contains(Assert.ThrowsExactly<NotSupportedException>(() => new SurfaceAnisotropy(0).Register(flat)).Message, "3D mesh");
        var state = NewState(random: false);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new SurfaceAnisotropy(3).Register(state));
        StringAssert.Contains(e.Message, "outside the 3 node layers");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new SurfaceAnisotropy(-1));
        state.Material["Ks"] = new CellFunction(state).Fill(1e-3);
        var shape = Assert.ThrowsExactly<ArgumentException>(() => state.Tensor("E_sanis"));
        StringAssert.Contains(shape.Message, "'material__Ks' has shape (3, 2, 2), expected a function on 'ccn'");
    }
}
