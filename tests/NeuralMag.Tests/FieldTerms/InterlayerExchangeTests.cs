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
    public void FieldIsMinusTheEnergyGradientOverMu0TimesTheLumpedMass()
    {
        // Holds for the random, different couplings of the two layers too (upstream's field, built from each layer's
        // own coupling, satisfies it only where the couplings agree).
        NeuralMagAssert.FieldIsEnergyGradient(RandomCoupledState(), "iexchange");
    }

    [TestMethod]
    public void WithEqualCouplingsTheFieldIsUpstreamsCouplingOfEachLayerToTheOther()
    {
        // Upstream's field at layer k: h_i = (μ0 M_i)⁻¹ Σ_faces iA ρxy ∫ N_i m_other dA with the bilinear face mass
        // ∫ N_a N_b dA = A/36 (4 same corner, 2 edge neighbours, 1 diagonal), written out here on its own.
        var state = RandomCoupledState();
        foreach (var name in new[] { "material__iA", "rhoxy" })
        {
            var v = state.Tensor(name).ToArray();
            for (int face = 0; face < 6; face++) v[face * 5 + 3] = v[face * 5 + 1];
            state[name] = new Function(state, "ccn", tensor: NTensor.FromArray(v, new[] { 3, 2, 5 }));
        }
        var m = state.Tensor("m").ToArray();
        var iA = state.Tensor("material__iA").ToArray();
        var rhoxy = state.Tensor("rhoxy").ToArray();
        var ms = state.Tensor("material__Ms").ToArray();
        var rho = state.Tensor("rho").ToArray();
        int Node(int i, int j, int k) => (i * 3 + j) * 5 + k;
        var mass = new double[4 * 3 * 5];
        double share = 1e-9 * 2e-9 * 1.5e-9 / 8;
        for (int cx = 0; cx < 3; cx++) for (int cy = 0; cy < 2; cy++) for (int cz = 0; cz < 4; cz++)
            for (int a = 0; a < 8; a++) mass[Node(cx + (a & 1), cy + (a >> 1 & 1), cz + (a >> 2))] += ms[(cx * 2 + cy) * 4 + cz] * rho[(cx * 2 + cy) * 4 + cz] * share;
        var expected = new double[m.Length];
        double area = 1e-9 * 2e-9;
        foreach (var (k, other) in new[] { (1, 3), (3, 1) })
            for (int cx = 0; cx < 3; cx++) for (int cy = 0; cy < 2; cy++)
            {
                double w = iA[(cx * 2 + cy) * 5 + k] * rhoxy[(cx * 2 + cy) * 5 + k];
                for (int a = 0; a < 4; a++) for (int b = 0; b < 4; b++)
                {
                    int same = ((a & 1) == (b & 1) ? 1 : 0) + ((a >> 1) == (b >> 1) ? 1 : 0);
                    double mab = area / 36 * (same == 2 ? 4 : same == 1 ? 2 : 1);
                    int na = Node(cx + (a & 1), cy + (a >> 1), k), nb = Node(cx + (b & 1), cy + (b >> 1), other);
                    for (int c = 0; c < 3; c++) expected[na * 3 + c] += w * mab * m[nb * 3 + c] / (Constants.Mu0 * mass[na]);
                }
            }
        var h = state.Tensor("h_iexchange").ToArray();
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < h.Length; i++) Assert.AreEqual(expected[i], h[i], 1e-12 * scale, $"entry {i}");
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
