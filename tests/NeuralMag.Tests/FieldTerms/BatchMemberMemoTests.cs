using NeuralMag.AD;

namespace NeuralMag.Tests.FieldTerms;

using State = NeuralMag.State;

/// <summary>
/// The member memo of the batched field terms: a member whose inputs are unchanged bit for bit since its last
/// evaluation takes its last field instead of being computed again (a converged member of a batched relaxation), and
/// the fields are those of a fresh evaluation bit for bit. Exchange and uniaxial anisotropy share their parameters
/// (one batched assembly), interface DMI has a D per member (one member operator per member).
/// </summary>
[TestClass]
public sealed class BatchMemberMemoTests
{
    private const int B = 3;

    private static readonly Mesh Film = new(new[] { 5, 4, 2 }, new[] { 2e-9, 2e-9, 2e-9 });
    private static readonly double[] D = { 1e-3, 2e-3, 3e-3 };

    /// <summary>The batch (<paramref name="member"/> null) or member <paramref name="member"/> alone, with m.</summary>
    private static State Build(DType dtype, NTensor m, int? member = null)
    {
        var state = new State(Film, Device.Cpu, dtype, batch: member == null ? B : null);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["Ku"] = 4e5;
        state.Material["Ku_axis"] = new[] { 0.0, 0, 1 };
        state.Material["Di_axis"] = new[] { 0.0, 0, 1 };
        state.Material["Di"] = member is int b ? state.Scalar(D[b]) : state.Tensor(D, new[] { B, 1, 1, 1 });
        state["m"] = new VectorFunction(state, m);
        new ExchangeField().Register(state, "exchange");
        new UniaxialAnisotropyField().Register(state, "uaniso");
        new InterfaceDMIField().Register(state, "idmi");
        new TotalField("exchange", "uaniso", "idmi").Register(state);
        return state;
    }

    private static NTensor RandomBatch(DType dtype, int seed, Mesh? mesh = null)
    {
        var shape = Batch.Prepend(B, (mesh ?? Film).NodeCounts.Append(3).ToArray());
        var rng = new Random(seed);
        var m = NTensor.FromArray(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => rng.NextDouble() - 0.5).ToArray(), shape, dtype, Device.Cpu);
        return m / m.Norm(-1).Unsqueeze(-1);
    }

    [TestMethod]
    [DataRow("float64")]
    [DataRow("float32")]
    public void UnchangedMembersAreServedFromTheMemoAndEqualAFreshEvaluation(string dtypeName)
    {
        var dtype = dtypeName == "float64" ? DType.Float64 : DType.Float32;
        var m0 = RandomBatch(dtype, 1);
        var state = Build(dtype, m0);
        var terms = new[] { "exchange", "uaniso", "idmi" };
        var fields = terms.Select(t => state.Resolve("h_" + t, new[] { "m" })).ToArray();
        foreach (var f in fields) f.Invoke(m0);
        var reused0 = new Dictionary<string, long>(state.MemberReuses);

        // Member 1 moves; members 0 and 2 keep their values in a new tensor (no storage is shared with m0).
        var moved = RandomBatch(dtype, 2).Slice(0, 1, 2);
        var m1 = NTensor.Concat(0, new[] { m0.Slice(0, 0, 1) * 1.0, moved, m0.Slice(0, 2, 3) * 1.0 });
        var fresh = Build(dtype, m1);
        for (int i = 0; i < terms.Length; i++)
        {
            var h = fields[i].Invoke(m1).ToArray();
            var expected = fresh.Resolve("h_" + terms[i], new[] { "m" }).Invoke(m1).ToArray();
            CollectionAssert.AreEqual(expected, h, $"h_{terms[i]} after one member moved equals a fresh evaluation bit for bit");
        }
        foreach (var (term, key) in new[] { ("exchange", "ExchangeField"), ("uaniso", "UniaxialAnisotropyField"), ("idmi", "InterfaceDMIField") })
        {
            long before = reused0.GetValueOrDefault(key), after = state.MemberReuses.GetValueOrDefault(key);
            Assert.AreEqual(2L, after - before, $"{term}: the two unchanged members are served from the memo ({string.Join(", ", state.MemberReuses)})");
        }
        Assert.IsFalse(fresh.MemberReuses.Any(), "a first evaluation reuses nothing");
    }

    /// <summary>Demag on the batch (open, pseudo-PBC along x or true PBC); Ms shared or one per member.</summary>
    private static State BuildDemag(DType dtype, NTensor m, Mesh mesh, bool perMemberMs)
    {
        var state = new State(mesh, Device.Cpu, dtype, batch: B);
        state.Material["Ms"] = perMemberMs ? state.Tensor(new[] { 8e5, 6e5, 4e5 }, new[] { B, 1, 1, 1 }) : 8e5;
        state["m"] = new VectorFunction(state, m);
        new DemagField().Register(state, "demag");
        return state;
    }

    [TestMethod]
    [DataRow("float64", "open", false)]
    [DataRow("float32", "open", false)]
    [DataRow("float64", "open", true)]
    [DataRow("float64", "pseudo", false)]
    [DataRow("float64", "true", false)]
    public void UnchangedDemagMembersSkipTheTransformsAndEqualAFreshEvaluation(string dtypeName, string boundary, bool perMemberMs)
    {
        var dtype = dtypeName == "float64" ? DType.Float64 : DType.Float32;
        var mesh = boundary switch
        {
            "open" => Film,
            "pseudo" => new Mesh(Film.N, new[] { 2e-9, 2e-9, 2e-9 }, pbc: new Pbc[] { Pbc.Images(2), Pbc.Open, Pbc.Open }),
            _ => new Mesh(Film.N, new[] { 2e-9, 2e-9, 2e-9 }, Pbc.True),
        };
        var m0 = RandomBatch(dtype, 4, mesh);
        var state = BuildDemag(dtype, m0, mesh, perMemberMs);
        var h = state.Resolve("h_demag", new[] { "m" });
        h.Invoke(m0);
        long before = state.MemberReuses.GetValueOrDefault(nameof(DemagField));
        var m1 = NTensor.Concat(0, new[] { m0.Slice(0, 0, 2) * 1.0, RandomBatch(dtype, 5, mesh).Slice(0, 2, 3) });
        var fresh = BuildDemag(dtype, m1, mesh, perMemberMs);
        CollectionAssert.AreEqual(fresh.Resolve("h_demag", new[] { "m" }).Invoke(m1).ToArray(), h.Invoke(m1).ToArray(), "h_demag after one member moved equals a fresh evaluation bit for bit");
        Assert.AreEqual(2L, state.MemberReuses.GetValueOrDefault(nameof(DemagField)) - before, "the two unchanged members are served from the memo");
        Assert.IsFalse(fresh.MemberReuses.Any(), "a first evaluation reuses nothing");
        // Every member unchanged: nothing is transformed, the field is the last one.
        CollectionAssert.AreEqual(fresh.Resolve("h_demag", new[] { "m" }).Invoke(m1).ToArray(), h.Invoke(m1 * 1.0).ToArray(), "all members from the memo");
        Assert.AreEqual(5L, state.MemberReuses.GetValueOrDefault(nameof(DemagField)) - before);
    }

    [TestMethod]
    public void MinimizeManyEqualsMembersAloneWithConvergedMembersServedFromTheMemo()
    {
        // Members close to the anisotropy axis, each with its own D: they converge after different iteration counts.
        var m0 = RandomBatch(DType.Float64, 3) * 0.2 + NTensor.FromArray(new[] { 0.0, 0, 1 });
        m0 = m0 / m0.Norm(-1).Unsqueeze(-1);
        var state = Build(DType.Float64, m0);
        var results = new EnergyMinimizer(state, tol: 1e2, maxIter: 400).MinimizeMany();
        var iterations = results.Select(r => r.Iterations).ToArray();
        for (int b = 0; b < B; b++)
        {
            var alone = Build(DType.Float64, m0.Slice(0, b, b + 1).Squeeze(0), member: b);
            var r = new EnergyMinimizer(alone, tol: 1e2, maxIter: 400).MinimizeWithInfo();
            Assert.AreEqual(r.Iterations, results[b].Iterations, $"member {b}: iterations");
            CollectionAssert.AreEqual(alone.M.Tensor.ToArray(), state.M.Tensor.Slice(0, b, b + 1).Squeeze(0).ToArray(), $"member {b}: minimized m bit for bit");
        }
        if (iterations.Distinct().Count() > 1)
            Assert.IsTrue(state.MemberReuses.Values.Sum() > 0, $"members that converged earlier ({string.Join(", ", iterations)} iterations) are served from the memo");
        else
            Assert.Inconclusive($"all members took {iterations[0]} iterations; the memo was not exercised");
    }
}
