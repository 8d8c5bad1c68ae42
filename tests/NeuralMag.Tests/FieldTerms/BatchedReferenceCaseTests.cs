using NeuralMag.AD;
using NeuralMag.IO;
using NeuralMag.Verification;

namespace NeuralMag.Tests.FieldTerms;

using State = NeuralMag.State;

/// <summary>
/// The shared reference cases (every root <see cref="ReferenceCase.AllCaseFolders()"/> finds) through the batch axis:
/// cases that differ only in m are stacked into one batch; a case without such a partner is batched with perturbed
/// copies of its own m. Each case's member matches upstream's field and energy at the single-case tolerance
/// (<see cref="ReferenceVerifier.DefaultTolerance"/>, float64 rel 1e-10 on the max-norm), and every member equals a
/// single evaluation of its m bit for bit. Demag (batched by its own operator) and totals that include it are left out.
/// </summary>
[TestClass]
public sealed class BatchedReferenceCaseTests
{
    private const int PerturbedCopies = 2;

    /// <summary>Case folders grouped by identical configuration (everything in inputs.json except m).</summary>
    public static IEnumerable<object[]> Groups()
    {
        var cases = ReferenceCase.AllCaseFolders().Select(c => ReferenceCase.Load(c.Directory)).ToList();
        foreach (var g in cases.GroupBy(ConfigurationKey))
            yield return new object[] { string.Join("+", g.Select(c => c.Name)), g.Select(c => c.Directory).ToArray() };
    }

    private static string ConfigurationKey(ReferenceCase c) => string.Join(";",
        string.Join(",", c.N), string.Join(",", c.Dx.Select(v => v.ToString("R"))), string.Join(",", c.Pbc.Select(p => p.ToString())), c.Fic,
        string.Join(",", c.Params.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + string.Join(" ", p.Value.Select(v => v.ToString("R"))))),
        c.Domains == null ? "" : string.Join(",", c.Domains), string.Join(",", c.Terms));

    /// <summary>
    /// The state of a case as <see cref="ReferenceVerifier.BuildState"/> makes it (mesh, materials as shared cell
    /// functions, domains, the README's fixed axes), with a batch axis and the given m (one member or [B] + m's shape).
    /// </summary>
    private static State BuildState(ReferenceCase c, int? batch, NTensor m)
    {
        var state = new State(c.CreateMesh(), Device.Cpu, DType.Float64, batch);
        state["m"] = c.Fic ? new VectorCellFunction(state, m, "m") : new VectorFunction(state, m, "m");
        if (c.Domains != null)
            state["domains"] = new CellFunction(state, tensor: NTensor.FromArray(c.Domains.Select(d => (double)d).ToArray(), c.N), name: "domains");
        foreach (var (key, value) in c.Params)
        {
            if (key.EndsWith("_by_domain", StringComparison.Ordinal)) state.Material[key[..^"_by_domain".Length]] = new CellFunction(state).FillByDomain(value);
            else if (key == "h_ext") continue;
            else if (value.Length == 1)
            {
                if (!c.Params.ContainsKey(key + "_by_domain")) state.Material[key] = new CellFunction(state).Fill(value[0]);
            }
            else state.Material[key] = new VectorCellFunction(state).Fill(value);
        }
        if (c.Params.ContainsKey("Kc"))
        {
            state.Material["Kc_axis1"] = new VectorCellFunction(state).Fill(new[] { 1.0, 0, 0 });
            state.Material["Kc_axis2"] = new VectorCellFunction(state).Fill(new[] { 0, 1.0, 0 });
            state.Material["Kc_axis3"] = new VectorCellFunction(state).Fill(new[] { 0, 0, 1.0 });
        }
        if (c.Params.ContainsKey("Di") && !c.Params.ContainsKey("Di_axis"))
            state.Material["Di_axis"] = new VectorCellFunction(state).Fill(new[] { 0, 0, 1.0 });
        return state;
    }

    /// <summary>The case's terms this test covers, and the total when none of its parts is demag.</summary>
    private static List<string> Checked(ReferenceCase c, out string[]? totalParts)
    {
        var terms = c.Terms.Where(t => t != "demag").ToList();
        totalParts = null;
        if (File.Exists(Path.Combine(c.Directory, "total.json")) && c.LoadTerm("total").Terms is { } parts && !parts.Contains("demag"))
            totalParts = parts;
        return terms;
    }

    private static void Register(State state, ReferenceCase c, IEnumerable<string> terms, string[]? totalParts)
    {
        foreach (var t in terms.Concat(totalParts ?? Array.Empty<string>()).Distinct())
            if (!state.Has("E_" + t))
                switch (ReferenceVerifier.KnownTerms[t](c))
                {
                    case FieldTerm ft: ft.Register(state, t); break;
                    case var other: throw new AssertFailedException($"term '{t}' is a {other.GetType().Name}, not a FieldTerm");
                }
        if (totalParts != null) new TotalField(totalParts).Register(state, "total");
    }

    /// <summary>m plus a fixed-seed perturbation, renormalized (points with m = 0 stay 0).</summary>
    private static double[] Perturbed(double[] m, int seed)
    {
        var rng = new Random(seed);
        var p = (double[])m.Clone();
        for (int i = 0; i < p.Length; i += 3)
        {
            double r0 = Math.Sqrt(m[i] * m[i] + m[i + 1] * m[i + 1] + m[i + 2] * m[i + 2]);
            if (r0 == 0) continue;
            for (int k = 0; k < 3; k++) p[i + k] += 0.4 * (rng.NextDouble() - 0.5);
            double r = Math.Sqrt(p[i] * p[i] + p[i + 1] * p[i + 1] + p[i + 2] * p[i + 2]);
            for (int k = 0; k < 3; k++) p[i + k] *= r0 / r;
        }
        return p;
    }

    [TestMethod]
    [DynamicData(nameof(Groups))]
    public void BatchedCasesMatchUpstreamAndTheirSingleEvaluations(string label, string[] directories)
    {
        var cases = directories.Select(ReferenceCase.Load).ToList();
        var first = cases[0];
        var terms = Checked(first, out var totalParts);
        if (terms.Count == 0 && totalParts == null) Assert.Inconclusive($"{label}: only demag terms, which this test leaves to the demag batch tests");
        // Members: the cases' own m's (compared with upstream), then perturbed copies when the group has one case.
        var members = cases.Select(c => c.M).ToList();
        int references = members.Count;
        if (references == 1)
            for (int k = 1; k <= PerturbedCopies; k++) members.Add(Perturbed(first.M, 17 * k));
        int batch = members.Count;
        var batched = BuildState(first, batch, NTensor.FromArray(members.SelectMany(v => v).ToArray(), Batch.Prepend(batch, first.MShape)));
        Register(batched, first, terms, totalParts);
        double tol = ReferenceVerifier.DefaultTolerance(DType.Float64);
        var names = terms.Select(t => (File: t, H: "h_" + t, E: "E_" + t)).ToList();
        if (totalParts != null) names.Add(("total", "h_total", "E_total"));
        var singles = members.Select(v =>
        {
            var single = BuildState(first, null, NTensor.FromArray(v, first.MShape));
            Register(single, first, terms, totalParts);
            return single;
        }).ToArray();
        int compared = 0;
        foreach (var (file, hName, eName) in names)
        {
            var h = batched.Tensor(hName);
            var e = batched.Tensor(eName);
            // The applied field is given, not computed from m: shared by the members, it keeps m's member shape.
            if (hName == "h_external" && Shapes.Equal(h.GetShape(), first.MShape)) h = h.Unsqueeze(0).Expand(Batch.Prepend(batch, first.MShape));
            CollectionAssert.AreEqual(Batch.Prepend(batch, first.MShape), h.GetShape(), $"{label} {hName}: [B] + m's shape");
            CollectionAssert.AreEqual(new[] { batch }, e.GetShape(), $"{label} {eName}: one energy per member");
            for (int b = 0; b < batch; b++)
            {
                var hb = h.Slice(0, b, b + 1).ToArray();
                double eb = e.ToArray()[b];
                if (b < references)
                {
                    var reference = cases[b].LoadTerm(file);
                    double relH = RelativeError.MaxNorm(hb, reference.H), relE = RelativeError.Scalar(eb, reference.E);
                    Assert.IsTrue(relH <= tol && relE <= tol, $"{cases[b].Name} {file}, member {b} of {batch}: rel_h {relH:E2}, rel_E {relE:E2} (tolerance {tol:E0})");
                }
                var single = singles[b];
                CollectionAssert.AreEqual(single.Tensor(hName).ToArray(), hb, $"{label} {hName}, member {b}: equals the single evaluation bit for bit");
                Assert.AreEqual(single.Tensor(eName).Item(), eb, 0.0, $"{label} {eName}, member {b}");
                compared++;
            }
        }
        Assert.IsTrue(compared > 0, $"{label}: nothing compared");
    }
}
