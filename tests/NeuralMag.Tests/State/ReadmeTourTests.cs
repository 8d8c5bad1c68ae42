using NeuralMag.AD;

namespace NeuralMag.Tests.State;

using State = NeuralMag.State;

/// <summary>The README's quick tour, run as written (on a smaller mesh and a shorter step).</summary>
[TestClass]
public sealed class ReadmeTourTests
{
    [TestMethod]
    public void QuickTourRuns()
    {
        var state = new State(new Mesh(new[] { 20, 5, 1 }, new[] { 5e-9, 5e-9, 3e-9 }));
        state["T"] = 200.0;
        state.Material["Ms"] = (NTensor T) => 8e5 * (1.0 - T / 400.0).Pow(1.5);
        state.Material["A"] = 1.3e-11;
        state.Material["alpha"] = 0.02;
        state["m"] = new VectorFunction(state).Fill(new[] { 1.0, 0.25, 0.1 });
        new ExchangeField().Register(state, "exchange");
        new DemagField().Register(state, "demag");
        new TotalField("exchange", "demag").Register(state);
        var hDemag = state.Resolve("h_demag", new[] { "material__Ms" });
        var dE = Autodiff.Grad(ms => state.Resolve("E", new[] { "material__Ms" }).Invoke(ms).Sum());
        new LLGSolver(state).Step(1e-13);

        var ms = state.Tensor("material__Ms");
        Assert.AreEqual(8e5 * Math.Pow(0.5, 1.5), ms.Item(), 1e-6);
        CollectionAssert.AreEqual(new[] { 21, 6, 2, 3 }, hDemag.Invoke(ms).GetShape());
        // E is linear (exchange: independent) and quadratic (demag) in Ms: dE/dMs = 2 E_demag / Ms for a uniform Ms.
        var g = dE(ms).Item();
        Assert.AreEqual(2 * state.Tensor("E_demag").Item() / ms.Item(), g, 1e-9 * Math.Abs(g));
        Assert.AreEqual(1e-13, state.T, 1e-27);
    }

    [TestMethod]
    public void DemagGradientMatchesFiniteDifferences()
    {
        // d/d rho of a component of h_demag (the seed's topology-optimization objective), tape vs central differences.
        var state = new State(new Mesh(new[] { 4, 3, 2 }, new[] { 2e-9, 2e-9, 2e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = 8e5;
        var rng = new Random(3);
        var m = NTensor.FromArray(Enumerable.Range(0, 5 * 4 * 3 * 3).Select(_ => rng.NextDouble() - 0.5).ToArray(), new[] { 5, 4, 3, 3 });
        state["m"] = new VectorFunction(state, m / m.Norm(-1).Unsqueeze(-1));
        state["rho_m"] = new CellFunction(state).Fill(0.7);
        state["rho"] = new CellFunction(state, tensor: (NTensor rho_m) => rho_m);
        // The exact float64 projection: upstream's float32 mass rounding is a staircase that finite differences see.
        new DemagField { UpstreamFloat32Mass = false }.Register(state, "demag");
        var h = state.Resolve("h_demag", new[] { "rho_m" });
        NTensor Loss(NTensor r) => -(h.Invoke(r.Pow(3))[2, 1, 1, 2].Square());
        var x = NTensor.FromArray(Enumerable.Range(0, 24).Select(_ => 0.3 + 0.6 * rng.NextDouble()).ToArray(), new[] { 4, 3, 2 });
        var grad = Autodiff.Grad(Loss)(x).ToArray();
        var xd = x.ToArray();
        for (int k = 0; k < xd.Length; k += 5)
        {
            const double eps = 1e-6;
            var p = (double[])xd.Clone(); p[k] += eps;
            var q = (double[])xd.Clone(); q[k] -= eps;
            double fd = (Loss(NTensor.FromArray(p, new[] { 4, 3, 2 })).Item() - Loss(NTensor.FromArray(q, new[] { 4, 3, 2 })).Item()) / (2 * eps);
            Assert.AreEqual(fd, grad[k], 1e-6 * Math.Max(Math.Abs(fd), 1e-3 * grad.Max(Math.Abs)), $"cell {k}");
        }
    }
}
