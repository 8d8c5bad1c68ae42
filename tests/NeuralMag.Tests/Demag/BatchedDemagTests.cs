using NeuralMag.AD;
using NeuralMag.IO;
using NeuralMag.Kernels.Demag;
using NeuralMag.Verification;

namespace NeuralMag.Tests.Demag;

using State = NeuralMag.State;

/// <summary>
/// The demag field on a batched state (State(batch: B)): member b of h_demag equals the field of member b alone
/// (nodal and FIC m, open, pseudo-periodic and truly periodic boundaries, shared and per-member Ms and rho, CPU and
/// ilgpu-cpu, float64 and float32), its tape VJP equals the single-member VJPs, the kernel and weights are built
/// once per configuration, and a batch of the reference cases' m's reproduces upstream's fields member by member.
/// </summary>
[TestClass]
public sealed class BatchedDemagTests
{
    private const int B = 3;

    private static Device Get(string name) => name == "cpu" ? Device.Cpu : TestDevices.GetOrSkip(name);

    private sealed record Setup(int[] N, Pbc[]? Pbc, bool Fic);

    private static readonly Setup[] Setups =
    {
        new(new[] { 5, 4, 3 }, null, false),                                   // open 3D
        new(new[] { 6, 5 }, null, false),                                      // open 2D
        new(new[] { 6, 4, 2 }, new[] { Pbc.Images(2), Pbc.Open, Pbc.Open }, false), // pseudo-PBC on x
        new(new[] { 4, 4, 4 }, new[] { Pbc.True, Pbc.True, Pbc.True }, false), // true PBC
        new(new[] { 5, 3, 2 }, null, true),                                    // FIC
    };

    private static int Product(int[] s) => s.Aggregate(1, (a, b) => a * b);

    /// <summary>B random unit vectors per point (fixed seed): [B] + the shape of m.</summary>
    private static double[] RandomUnit(Random rng, int members, int points)
    {
        var v = new double[members * points * 3];
        for (int p = 0; p < members * points; p++)
        {
            double x = rng.NextDouble() - 0.5, y = rng.NextDouble() - 0.5, z = rng.NextDouble() - 0.5, n = Math.Sqrt(x * x + y * y + z * z);
            v[3 * p] = x / n;
            v[3 * p + 1] = y / n;
            v[3 * p + 2] = z / n;
        }
        return v;
    }

    private static Mesh MeshOf(Setup s) => new(s.N, new[] { 2e-9, 3e-9, 2.5e-9 }, pbc: s.Pbc);

    private static int[] MShape(State state, Setup s) => (s.Fic ? s.N : state.Mesh.NodeCounts).Append(3).ToArray();

    /// <summary>A state (batched when <paramref name="members"/> is given) with m, Ms and rho as given and demag registered.</summary>
    private static State NewState(Setup s, Device device, DType dtype, int? members, NTensor m, NTensor ms, NTensor rho)
    {
        var state = new State(MeshOf(s), device, dtype, batch: members);
        state["m"] = s.Fic ? new VectorCellFunction(state, m.Cast(dtype).To(device)) : new VectorFunction(state, m.Cast(dtype).To(device));
        state.Material["Ms"] = ms.Cast(dtype).To(device);
        state["rho"] = rho.Cast(dtype).To(device);
        new DemagField().Register(state, "demag");
        return state;
    }

    private static NTensor Member(NTensor t, int b) => t.Slice(0, b, b + 1).Squeeze(0);

    private static double MaxRel(double[] actual, double[] reference) => RelativeError.MaxNorm(actual, reference);

    /// <summary>The batch's inputs: B m's, a per-member Ms ([B] + cells, or [B, 1, ...] one scalar per member) or a shared one, and rho.</summary>
    private static (NTensor M, NTensor Ms, NTensor Rho) Inputs(Setup s, string msKind, bool perMemberRho, int seed)
    {
        var rng = new Random(seed);
        var probe = new State(MeshOf(s));
        var mShape = MShape(probe, s);
        var m = NTensor.FromArray(RandomUnit(rng, B, Product(mShape) / 3), Batch.Prepend(B, mShape));
        int nc = Product(s.N);
        NTensor ms = msKind switch
        {
            "cells" => NTensor.FromArray(Enumerable.Range(0, B * nc).Select(_ => 4e5 + 4e5 * rng.NextDouble()).ToArray(), Batch.Prepend(B, s.N)),
            "scalar" => NTensor.FromArray(new[] { 8e5, 5e5, 1.1e6 }, Batch.MemberScalarShape(B, s.N.Length)),
            _ => NTensor.FromArray(Enumerable.Range(0, nc).Select(_ => 4e5 + 4e5 * rng.NextDouble()).ToArray(), s.N),
        };
        var rho = perMemberRho
            ? NTensor.FromArray(Enumerable.Range(0, B * nc).Select(c => c % 7 == 0 ? 1e-6 : 0.5 + 0.5 * rng.NextDouble()).ToArray(), Batch.Prepend(B, s.N))
            : NTensor.FromArray(Enumerable.Range(0, nc).Select(c => c % 5 == 0 ? 1e-6 : 1.0).ToArray(), s.N);
        return (m, ms, rho);
    }

    private static NTensor MemberParameter(NTensor t, int[] cells, int b) =>
        Batch.Members(t, cells, "p") > 0 ? Batch.Full(Member(t, b), cells, 0) : t;

    /// <summary>
    /// Member b of the batched h_demag equals h_demag of a state holding member b alone, to rel 1e-12 (float64: the
    /// same cell means and gathers, a batched FFT plan that may order its operations differently). On ilgpu-cpu the
    /// members share one prepared device convolution (shared weights).
    /// </summary>
    [TestMethod]
    [DataRow("cpu", "cells", false)]
    [DataRow("cpu", "scalar", true)]
    [DataRow("cpu", "shared", false)]
    [DataRow("ilgpu-cpu", "cells", false)]
    [DataRow("cuda", "cells", false)]
    public void BatchEqualsEachMemberAlone(string deviceName, string msKind, bool perMemberRho)
    {
        var device = Get(deviceName);
        double worst = 0;
        foreach (var s in Setups)
        {
            var (m, ms, rho) = Inputs(s, msKind, perMemberRho, 21);
            var batched = NewState(s, device, DType.Float64, B, m, ms, rho);
            var h = batched.Tensor("h_demag");
            var mShape = MShape(batched, s);
            CollectionAssert.AreEqual(Batch.Prepend(B, mShape), h.GetShape(), $"{Describe(s)}: shape of the batched h");
            for (int b = 0; b < B; b++)
            {
                var single = NewState(s, device, DType.Float64, null, Member(m, b), MemberParameter(ms, s.N, b), MemberParameter(rho, s.N, b));
                double rel = MaxRel(Member(h, b).ToArray(), single.Tensor("h_demag").ToArray());
                Assert.IsTrue(rel <= 1e-12, $"{Describe(s)}, {deviceName}, Ms {msKind}: member {b} differs from its single evaluation by rel {rel:E2}");
                worst = Math.Max(worst, rel);
            }
        }
        Console.WriteLine($"largest relative difference of a member from its single evaluation: {worst:E2}");
    }

    private static string Describe(Setup s) => $"n = ({string.Join(", ", s.N)}){(s.Pbc != null ? ", pbc" : "")}{(s.Fic ? ", FIC" : "")}";

    /// <summary>
    /// float32 (libfftw3f batched plans on the CPU): member b against its single float32 evaluation to rel 1e-5. The
    /// two FFT plans round differently, so the members agree to a few float32 ulps of the largest field value
    /// (float32 eps = 1.2e-7, times the log2 of the grid for the transforms' accumulated rounding).
    /// </summary>
    [TestMethod]
    public void Float32BatchEqualsEachMemberAlone()
    {
        var s = Setups[0];
        var (m, ms, rho) = Inputs(s, "cells", false, 22);
        var batched = NewState(s, Device.Cpu, DType.Float32, B, m, ms, rho);
        var h = batched.Tensor("h_demag");
        Assert.AreEqual(DType.Float32, h.DType);
        for (int b = 0; b < B; b++)
        {
            var single = NewState(s, Device.Cpu, DType.Float32, null, Member(m, b), MemberParameter(ms, s.N, b), rho);
            double rel = MaxRel(Member(h, b).ToArray(), single.Tensor("h_demag").ToArray());
            Assert.IsTrue(rel <= 1e-5, $"float32 member {b}: rel {rel:E2}");
            Console.WriteLine($"float32 member {b}: rel {rel:E2}");
        }
    }

    /// <summary>
    /// The tape VJP of the batched field with respect to m, a per-member Ms and a shared rho: the gradient of
    /// L = Σ_b Σ w_b · h_b equals, per member, the single-member gradient of Σ w_b · h_b (m, Ms), and for the shared rho
    /// the sum of the single-member gradients.
    /// </summary>
    /// <remarks>float32 (CPU, the VJP in float32): to rel 1e-5, the tolerance of <see cref="Float32BatchEqualsEachMemberAlone"/>,
    /// since the kept fields of the batched forward differ from the single ones at float32 round-off.</remarks>
    [TestMethod]
    [DataRow(false, "cpu", false)]
    [DataRow(true, "cpu", false)]
    [DataRow(false, "ilgpu-cpu", false)]
    [DataRow(false, "cpu", true)]
    public void GradientsEqualTheSingleMemberGradients(bool fic, string deviceName, bool float32)
    {
        var device = Get(deviceName);
        var s = fic ? Setups[4] : Setups[0];
        var dtype = float32 ? DType.Float32 : DType.Float64;
        double tol = float32 ? 1e-5 : 1e-12;
        var (m, ms, rho) = Inputs(s, "cells", false, 23);
        var batched = NewState(s, device, dtype, B, m, ms, rho);
        var names = new[] { "m", "material__Ms", "rho" };
        var h = batched.Resolve("h_demag", names);
        var x = names.Select(batched.Tensor).ToArray();
        var rng = new Random(5);
        var hShape = h.Invoke(x).GetShape();
        var w = NTensor.FromArray(Enumerable.Range(0, Product(hShape)).Select(_ => rng.NextDouble() - 0.5).ToArray(), hShape, dtype, device);
        var grads = Autodiff.Grads(v => (h.Invoke(v) * w).Sum())(x);
        var rhoSum = new double[Product(s.N)];
        for (int b = 0; b < B; b++)
        {
            var single = NewState(s, device, dtype, null, Member(m, b), Member(ms, b), rho);
            var hs = single.Resolve("h_demag", names);
            var xs = names.Select(single.Tensor).ToArray();
            var wb = Member(w, b);
            var gs = Autodiff.Grads(v => (hs.Invoke(v) * wb).Sum())(xs);
            Assert.IsTrue(MaxRel(Member(grads[0], b).ToArray(), gs[0].ToArray()) <= tol, $"dL/dm of member {b}: rel {MaxRel(Member(grads[0], b).ToArray(), gs[0].ToArray()):E2}");
            Assert.IsTrue(MaxRel(Member(grads[1], b).ToArray(), gs[1].ToArray()) <= tol, $"dL/dMs of member {b}: rel {MaxRel(Member(grads[1], b).ToArray(), gs[1].ToArray()):E2}");
            var gr = gs[2].ToArray();
            for (int c = 0; c < rhoSum.Length; c++) rhoSum[c] += gr[c];
        }
        CollectionAssert.AreEqual(s.N, grads[2].GetShape(), "the shared rho gets a gradient of its own shape");
        Assert.IsTrue(MaxRel(grads[2].ToArray(), rhoSum) <= tol, $"dL/drho (shared) is the sum of the members' gradients: rel {MaxRel(grads[2].ToArray(), rhoSum):E2}");
    }

    /// <summary>
    /// Shared Ms and rho build the weights once for all members, a per-member Ms once per member; evaluations with new
    /// m's (and on ilgpu-cpu the device convolution) rebuild nothing.
    /// </summary>
    [TestMethod]
    [DataRow("cpu", "shared", 1)]
    [DataRow("cpu", "cells", B)]
    [DataRow("ilgpu-cpu", "shared", 1)]
    [DataRow("cuda", "cells", B)]
    public void PreparedOperatorsAreBuiltOncePerConfiguration(string deviceName, string msKind, int expected)
    {
        var device = Get(deviceName);
        var s = Setups[0];
        var (m, ms, rho) = Inputs(s, msKind, false, 24);
        var state = NewState(s, device, DType.Float64, B, m, ms, rho);
        var rng = new Random(3);
        for (int call = 0; call < 3; call++)
        {
            state["m"] = new VectorFunction(state, NTensor.FromArray(RandomUnit(rng, B, Product(state.Mesh.NodeCounts)), m.GetShape(), DType.Float64, device));
            Assert.AreEqual(B, state.Tensor("h_demag").GetShape()[0]);
        }
        var builds = new Dictionary<string, long>(state.PreparedBuilds);
        Assert.AreEqual(expected, builds.GetValueOrDefault("demag.weights"), $"weight builds: {string.Join(", ", builds)}");
        if (!device.IsCpu) Assert.AreEqual(expected, builds.GetValueOrDefault("demag.device"), $"device builds: {string.Join(", ", builds)}");
    }

    /// <summary>
    /// The reference cases as batches, member by member against upstream's demag fields at rel 1e-10 (as
    /// ReferenceCaseTests): the two cases on the 8 x 6 x 4 mesh (A: uniform Ms; B: Ms and rho by domain) stacked into
    /// one batch with per-member Ms and rho, and every other demag case batched with its m reversed, whose field is
    /// exactly the negated reference (the convolution and the transfers are linear in m, and negation is exact).
    /// </summary>
    [TestMethod]
    [DataRow("cpu")]
    [DataRow("ilgpu-cpu")]
    public void BatchesOfTheReferenceCasesMatchUpstreamMemberByMember(string deviceName)
    {
        var device = Get(deviceName);
        var verifier = new ReferenceVerifier(device, DType.Float64);
        var cases = ReferenceCase.AllCaseFolders()
            .Select(c => ReferenceCase.Load(c.Directory))
            .Where(c => File.Exists(Path.Combine(c.Directory, "demag.json")))
            .ToList();
        Assert.IsTrue(cases.Count >= 2, "the reference data hold demag cases");
        var groups = cases.GroupBy(c => $"{string.Join(",", c.N)}|{string.Join(",", c.Dx)}|{c.Fic}|{string.Join(",", c.Pbc)}").ToList();
        int checkedMembers = 0;
        foreach (var group in groups)
        {
            var members = group.ToList();
            var singles = members.Select(verifier.BuildState).ToList();
            var ms = singles.Select(st => st.Tensor("material__Ms")).ToList();
            var rho = singles.Select(st => st.Tensor("rho")).ToList();
            var m = singles.Select(st => st.Tensor("m")).ToList();
            var expected = members.Select(c => c.LoadTerm("demag").H).ToList();
            if (members.Count == 1)
            {
                m.Add(-m[0]);
                ms.Add(ms[0]);
                rho.Add(rho[0]);
                expected.Add(expected[0].Select(v => -v).ToArray());
            }
            var c0 = members[0];
            var state = new State(c0.CreateMesh(), device, DType.Float64, batch: m.Count);
            var mAll = NTensor.Stack(0, m.ToArray());
            state["m"] = c0.Fic ? new VectorCellFunction(state, mAll) : new VectorFunction(state, mAll);
            state.Material["Ms"] = NTensor.Stack(0, ms.Select(t => Batch.Full(t, c0.N, 0)).ToArray());
            state["rho"] = NTensor.Stack(0, rho.Select(t => Batch.Full(t, c0.N, 0)).ToArray());
            new DemagField().Register(state, "demag");
            var h = state.Tensor("h_demag");
            for (int b = 0; b < m.Count; b++)
            {
                double rel = MaxRel(Member(h, b).ToArray(), expected[b]);
                Assert.IsTrue(rel <= verifier.Tolerance, $"{group.Key} member {b} ({(b < members.Count ? members[b].Name : members[0].Name + " reversed")}): rel {rel:E2} vs upstream");
                checkedMembers++;
            }
        }
        Console.WriteLine($"{checkedMembers} batch members in {groups.Count} batches checked against upstream's demag fields");
    }

    /// <summary>
    /// The batched convolution itself against the single one per member: FFTW's batched plans to rel 1e-12 (float64),
    /// the managed FFT (grid by grid over the same transform) bit for bit, both on open and pseudo-periodic grids, and a
    /// batch larger than one cache-sized chunk (members in several chunks) as well as a localized member (pruned slabs).
    /// </summary>
    [TestMethod]
    [DataRow(FftBackend.Fftw)]
    [DataRow(FftBackend.Managed)]
    public void BatchedConvolutionEqualsTheSingleOnePerMember(FftBackend backend)
    {
        if (backend == FftBackend.Fftw && !FftwNative.Available) Assert.Inconclusive($"libfftw3 is not available: {FftwNative.LoadError}");
        var rng = new Random(27);
        foreach (var (cells, images, members, slabs) in new[]
                 {
                     (new[] { 6, 5, 3 }, new[] { 0, 0, 0 }, 4, false), (new[] { 6, 4, 1 }, new[] { 2, 0, 0 }, 3, false),
                     (new[] { 64, 64, 1 }, new[] { 0, 0, 0 }, 9, false), (new[] { 6, 5, 3 }, new[] { 0, 0, 0 }, 3, true),
                 })
        {
            var kernel = new DemagKernel(cells, new[] { 2e-9, 3e-9, 2.5e-9 }, images, backend: backend);
            int len = Product(cells) * 3, slab = len / cells[0];
            // slabs: every member non-zero in x = 2, 3 only (the batched plans then skip the other slabs).
            var source = Enumerable.Range(0, members * len).Select(i => !slabs || i % len / slab is 2 or 3 ? 8e5 * (rng.NextDouble() - 0.5) : 0).ToArray();
            // The last member is non-zero at one cell only.
            Array.Clear(source, (members - 1) * len, len);
            source[(members - 1) * len + 2 * slab + 4] = 7e5;
            var batched = DemagConvolution.ApplyBatch(kernel, source, members);
            for (int b = 0; b < members; b++)
            {
                var single = DemagConvolution.Apply(kernel, source.AsSpan(b * len, len).ToArray());
                var member = batched.AsSpan(b * len, len).ToArray();
                if (backend == FftBackend.Managed) CollectionAssert.AreEqual(single, member, $"managed, cells ({string.Join(", ", cells)}), member {b}");
                else Assert.IsTrue(MaxRel(member, single) <= 1e-12, $"FFTW, cells ({string.Join(", ", cells)}), member {b}: rel {MaxRel(member, single):E2}");
            }
        }
    }

    /// <summary>A batch of one member equals the unbatched state bit for bit apart from the batched FFT plan (rel 1e-12), and an unbatched state is unchanged.</summary>
    [TestMethod]
    public void UnbatchedArgumentsOnABatchedStateStayOnTheSingleSystemPath()
    {
        var s = Setups[0];
        var (m, ms, rho) = Inputs(s, "shared", false, 25);
        var single = NewState(s, Device.Cpu, DType.Float64, null, Member(m, 0), ms, rho);
        // m, Ms and rho all member-shaped on a batched state: one shared system, the single-system code and bits.
        var shared = NewState(s, Device.Cpu, DType.Float64, B, Member(m, 0), ms, rho);
        CollectionAssert.AreEqual(single.Tensor("h_demag").ToArray(), shared.Tensor("h_demag").ToArray());
    }
}
