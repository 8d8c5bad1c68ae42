using NeuralMag.AD;

namespace NeuralMag.Tests.Solvers;

/// <summary>
/// A batch through the whole stack (exchange, demag, uniaxial anisotropy, Zeeman; energies, LLG, minimizer): each
/// member of a batched state equals the same system alone. Demag's batched FFT plans may round differently from the
/// single plan, so members are compared to rel 1e-10 (measured: equal).
/// </summary>
[TestClass]
public sealed class BatchedPhysicsTests
{
    private static NeuralMag.State Film(int[] members, bool batched)
    {
        var state = new NeuralMag.State(new Mesh(new[] { 10, 5, 2 }, new[] { 3e-9, 3e-9, 3e-9 }), Device.Cpu, DType.Float64, batch: batched ? members.Length : null);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["alpha"] = 0.1;
        var ku = members.Select(b => 1e5 * (b + 1)).ToArray();
        state.Material["Ku"] = batched ? state.Tensor(ku, new[] { members.Length, 1, 1, 1 }) : state.Scalar(ku[0]);
        state.Material["Ku_axis"] = new[] { 0.0, 0, 1 };
        var nodes = state.Mesh.NodeCounts.Append(3).ToArray();
        var m = members.Select(b =>
        {
            var rng = new Random(10 + b);
            var t = NTensor.FromArray(Enumerable.Range(0, Shapes.Product(nodes)).Select(_ => rng.NextDouble() - 0.5).ToArray(), nodes);
            return t / t.Norm(-1).Unsqueeze(-1);
        }).ToArray();
        state["m"] = new VectorFunction(state, batched ? NTensor.Stack(0, m) : m[0]);
        var fields = members.SelectMany(b => new[] { 1e4 * b, 0, 2e4 }).ToArray();
        new ExchangeField().Register(state, "exchange");
        new DemagField().Register(state, "demag");
        new UniaxialAnisotropyField().Register(state, "aniso");
        new ExternalField(batched ? state.Tensor(fields, new[] { members.Length, 1, 1, 1, 3 }) : state.Tensor(fields)).Register(state, "external");
        new TotalField("exchange", "demag", "aniso", "external").Register(state);
        return state;
    }

    private static void AssertClose(double[] expected, double[] actual, double rel, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, what);
        double scale = expected.Max(Math.Abs);
        double diff = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second));
        Assert.IsTrue(diff <= rel * scale, $"{what}: max difference {diff:E2} of scale {scale:E2}");
    }

    [TestMethod]
    public void FieldsEnergiesAndAnLlgStepOfEachMemberAreThoseOfTheMemberAlone()
    {
        int[] all = { 0, 1, 2 };
        var batch = Film(all, true);
        var h = batch.Tensor("h");
        CollectionAssert.AreEqual(new[] { 3, 11, 6, 3, 3 }, h.GetShape());
        var energies = new[] { "E_exchange", "E_demag", "E_aniso", "E_external", "E" }.ToDictionary(n => n, n => batch.Tensor(n).ToArray());
        Assert.AreEqual(3, energies["E"].Length, "one energy per member");
        new LLGSolver(batch).Step(5e-12);
        foreach (int b in all)
        {
            var alone = Film(new[] { b }, false);
            AssertClose(alone.Tensor("h").ToArray(), h.Slice(0, b, b + 1).ToArray(), 1e-10, $"h of member {b}");
            foreach (var (name, values) in energies)
                AssertClose(new[] { alone.Tensor(name).Item() }, new[] { values[b] }, 1e-10, $"{name} of member {b}");
            new LLGSolver(alone).Step(5e-12);
            AssertClose(alone.M.Tensor.ToArray(), batch.M.Tensor.Slice(0, b, b + 1).ToArray(), 1e-9, $"m of member {b} after 5 ps");
        }
    }

    [TestMethod]
    public void MinimizeManyRelaxesEachMemberAsAlone()
    {
        int[] all = { 0, 1 };
        var batch = Film(all, true);
        var results = new EnergyMinimizer(batch, tol: 1e2, maxIter: 300).MinimizeMany(traceEnergy: true);
        foreach (int b in all)
        {
            var alone = Film(new[] { b }, false);
            var single = new EnergyMinimizer(alone, tol: 1e2, maxIter: 300).MinimizeWithInfo(traceEnergy: true);
            Assert.AreEqual(single.Iterations, results[b].Iterations, $"member {b}: iterations");
            Assert.AreEqual(single.Converged, results[b].Converged, $"member {b}");
            AssertClose(single.EnergyTrace.ToArray(), results[b].EnergyTrace.ToArray(), 1e-9, $"energy trace of member {b}");
            AssertClose(alone.M.Tensor.ToArray(), batch.M.Tensor.Slice(0, b, b + 1).ToArray(), 1e-8, $"m of member {b}");
        }
        Assert.IsTrue(results[1].EnergyTrace[^1] < results[1].EnergyTrace[0], "the energy fell");
    }

    [TestMethod]
    public void FaceDensitiesAndEntryMeansArePerMember()
    {
        var batch = Film(new[] { 0, 1 }, true);
        var rng = new Random(3);
        var rho = NTensor.FromArray(Enumerable.Range(0, 2 * 100).Select(_ => rng.NextDouble()).ToArray(), new[] { 2, 10, 5, 2 });
        batch["rho"] = rho;
        foreach (var name in new[] { "rhoxy", "rhoxz", "rhoyz" })
        {
            var faces = batch.Tensor(name);
            for (int b = 0; b < 2; b++)
            {
                var alone = Film(new[] { b }, false);
                alone["rho"] = rho.Slice(0, b, b + 1).Squeeze(0);
                CollectionAssert.AreEqual(alone.Tensor(name).ToArray(), faces.Slice(0, b, b + 1).ToArray(), $"{name} of member {b}");
            }
        }
        var means = batch.M.EntryMean();
        CollectionAssert.AreEqual(new[] { 2, 3 }, means.GetShape());
        for (int b = 0; b < 2; b++)
            AssertClose(Film(new[] { b }, false).M.EntryMean().ToArray(), means.Slice(0, b, b + 1).ToArray(), 1e-14, $"entry mean of member {b}");
    }
}
