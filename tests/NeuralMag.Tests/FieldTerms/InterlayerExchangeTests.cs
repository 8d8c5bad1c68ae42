using NeuralMag.AD;
using NeuralMag.Testing;

namespace NeuralMag.Tests.FieldTerms;

using State = NeuralMag.State;

[TestClass]
public sealed class InterlayerExchangeTests
{
    [TestMethod]
    public void FieldAcrossASpacerIsTwoIAOverDz()
    {
        // Upstream's test: two layers (m along x below, along y above) separated by an empty cell layer, coupled
        // between node layers 2 and 3; mu0 Ms = 1, so h = 2 iA / dz m_other at the coupled layers.
        var state = new State(new Mesh(new[] { 2, 2, 5 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        var m = new double[3 * 3 * 6 * 3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 6; k++) m[((i * 3 + j) * 6 + k) * 3 + (k < 3 ? 0 : 1)] = 1.0;
        state["m"] = new VectorFunction(state, NTensor.FromArray(m, new[] { 3, 3, 6, 3 }));
        state.Material["Ms"] = 1 / Constants.Mu0;
        state.Material["iA"] = new Function(state, "ccn").Fill(0.005);
        var rho = Enumerable.Repeat(1.0, 20).ToArray();
        for (int i = 0; i < 2; i++) for (int j = 0; j < 2; j++) rho[(i * 2 + j) * 5 + 2] = state.Eps;
        state["rho"] = new CellFunction(state, tensor: NTensor.FromArray(rho, new[] { 2, 2, 5 }));
        new InterlayerExchangeField(2, 3).Register(state);
        var h = state.Tensor("h_iexchange");
        var top = h[.., .., 3].Mean(0).Mean(0).ToArray();
        var bottom = h[.., .., 2].Mean(0).Mean(0).ToArray();
        double expected = 2 * 0.005 / 1e-9;
        Assert.AreEqual(expected, top[0], 1e-9 * expected);
        Assert.AreEqual(0.0, top[1], 1e-9 * expected);
        Assert.AreEqual(expected, bottom[1], 1e-9 * expected);
        Assert.AreEqual(0.0, bottom[0], 1e-9 * expected);
        // Orthogonal layers: no coupling energy.
        Assert.AreEqual(0.0, state.Tensor("E_iexchange").Item(), 1e-30);
    }

    [TestMethod]
    public void ParallelLayersHaveEnergyMinusIATimesArea()
    {
        var state = new State(new Mesh(new[] { 3, 2, 3 }, new[] { 2e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        state["m"] = new VectorFunction(state).Fill(new[] { 0.0, 0, 1 });
        state.Material["Ms"] = 8e5;
        state.Material["iA"] = new Function(state, "ccn").Fill(1e-3);
        new InterlayerExchangeField(1, 2).Register(state);
        // E = -iA m1.m2 * interface area (6 nm x 2 nm = 1.2e-17 m^2), rhoxy = 1 everywhere.
        Assert.AreEqual(-1e-3 * 1.2e-17, state.Tensor("E_iexchange").Item(), 1e-12 * 1.2e-20);
    }

    private static State RandomCoupledState()
    {
        var state = new State(new Mesh(new[] { 3, 2, 4 }, new[] { 1e-9, 2e-9, 1.5e-9 }), Device.Cpu, DType.Float64);
        var rng = new Random(11);
        var raw = NTensor.FromArray(Enumerable.Range(0, 4 * 3 * 5 * 3).Select(_ => rng.NextDouble() - 0.5).ToArray(), new[] { 4, 3, 5, 3 });
        state["m"] = new VectorFunction(state, raw / raw.Norm(-1).Unsqueeze(-1));
        state.Material["Ms"] = new CellFunction(state, tensor: NTensor.FromArray(Enumerable.Range(0, 24).Select(_ => 5e5 + 5e5 * rng.NextDouble()).ToArray(), new[] { 3, 2, 4 }));
        // Different couplings on the two layers make the coupling operator non-symmetric.
        state.Material["iA"] = new Function(state, "ccn", tensor: NTensor.FromArray(Enumerable.Range(0, 30).Select(_ => 1e-3 * (rng.NextDouble() - 0.3)).ToArray(), new[] { 3, 2, 5 }));
        state["rho"] = new CellFunction(state, tensor: NTensor.FromArray(Enumerable.Range(0, 24).Select(_ => 0.5 + rng.NextDouble()).ToArray(), new[] { 3, 2, 4 }));
        state["rhoxy"] = new Function(state, "ccn", tensor: NTensor.FromArray(Enumerable.Range(0, 30).Select(_ => 0.5 + rng.NextDouble()).ToArray(), new[] { 3, 2, 5 }));
        new InterlayerExchangeField(1, 3).Register(state);
        return state;
    }

    [TestMethod]
    [DataRow("m")]
    [DataRow("material__iA")]
    [DataRow("rhoxy")]
    public void EnergyGradientsMatchFiniteDifferences(string input)
    {
        var state = RandomCoupledState();
        NeuralMagAssert.GradientMatchesFiniteDifferences(state.Resolve("E_iexchange", new[] { input }), state);
    }

    [TestMethod]
    public void FieldIsMinusTheEnergyGradientOverMu0TimesTheLumpedMassForEqualCouplingsOnBothLayers()
    {
        // h at layer k is built from that layer's coupling iA·rhoxy alone, while E = −½ Σ_k ∫ iA rhoxy m·m_other dA
        // averages both layers: h = −dE/dm/(mu0 M) when the couplings of the two layers agree (upstream's convention).
        var state = RandomCoupledState();
        foreach (var name in new[] { "material__iA", "rhoxy" })
        {
            var v = state.Tensor(name).ToArray();
            for (int face = 0; face < 6; face++) v[face * 5 + 3] = v[face * 5 + 1];
            state[name] = new Function(state, "ccn", tensor: NTensor.FromArray(v, new[] { 3, 2, 5 }));
        }
        NeuralMagAssert.FieldIsEnergyGradient(state, "iexchange");
        // With the random, different couplings of RandomCoupledState the relation does not hold.
        Assert.ThrowsExactly<AssertFailedException>(() => NeuralMagAssert.FieldIsEnergyGradient(RandomCoupledState(), "iexchange"));
    }

    [TestMethod]
    [DataRow("m")]
    [DataRow("material__iA")]
    [DataRow("material__Ms")]
    [DataRow("rho")]
    [DataRow("rhoxy")]
    public void FieldVjpsMatchFiniteDifferences(string input)
    {
        var state = RandomCoupledState();
        var h = state.Resolve("h_iexchange", new[] { input });
        var w = NTensor.FromArray(Enumerable.Range(0, 4 * 3 * 5 * 3).Select(i => Math.Cos(0.3 * i)).ToArray(), new[] { 4, 3, 5, 3 });
        NeuralMagAssert.GradientMatchesFiniteDifferences(x => (h.Invoke(x) * w).Sum(), state.Tensor(input));
    }
}
