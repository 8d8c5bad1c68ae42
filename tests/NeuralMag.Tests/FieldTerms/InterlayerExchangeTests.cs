using NeuralMag.AD;

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

    private static void CheckGradient(Func<NTensor, NTensor> f, NTensor x, string what)
    {
        var g = Autodiff.Grad(f)(x).ToArray();
        var xd = x.ToArray();
        double scale = g.Max(Math.Abs);
        Assert.IsTrue(scale > 0, $"{what}: zero gradient");
        for (int k = 0; k < xd.Length; k++)
        {
            double h = 1e-6 * Math.Max(Math.Abs(xd[k]), 1e-3);
            var p = (double[])xd.Clone(); p[k] += h;
            var q = (double[])xd.Clone(); q[k] -= h;
            double fd = (f(NTensor.FromArray(p, x.GetShape())).Item() - f(NTensor.FromArray(q, x.GetShape())).Item()) / (2 * h);
            Assert.AreEqual(fd, g[k], 1e-6 * scale, $"{what}: element {k}");
        }
    }

    [TestMethod]
    [DataRow("m")]
    [DataRow("material__iA")]
    [DataRow("rhoxy")]
    public void EnergyGradientsMatchFiniteDifferences(string input)
    {
        var state = RandomCoupledState();
        var e = state.Resolve("E_iexchange", new[] { input });
        CheckGradient(x => e.Invoke(x), state.Tensor(input), "E w.r.t. " + input);
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
        CheckGradient(x => (h.Invoke(x) * w).Sum(), state.Tensor(input), "h w.r.t. " + input);
    }
}
