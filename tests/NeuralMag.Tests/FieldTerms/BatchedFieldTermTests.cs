using NeuralMag.AD;

namespace NeuralMag.Tests.FieldTerms;

using State = NeuralMag.State;

/// <summary>
/// The batch axis of the field terms (everything but demag): a state of B members evaluates each member as a state of
/// that member alone would, bit for bit (the same code runs on each member's slice), for shared and per-member
/// material parameters and fields, nodal and cell (FIC) m, on the CPU and ILGPU's CPU accelerator, float64 and
/// float32; gradients through batched fields and energies; prepared operators built once per configuration; and the
/// Function averages, integrals and projections of a batched tensor.
/// </summary>
[TestClass]
public sealed class BatchedFieldTermTests
{
    private const int B = 3;
    private static readonly int[] N = { 4, 3, 2 };
    private static readonly double[] Dx = { 2e-9, 3e-9, 2.5e-9 };
    private static readonly string[] VolumeTerms = { "exchange", "uaniso", "caniso", "bdmi", "idmi", "LI_xyz", "external" };

    private static Mesh NewMesh() => new(N, Dx, pbc: new Pbc[] { true, false, false });

    private static Device DeviceOf(string name) => name == "cpu" ? Device.Cpu : TestDevices.GetOrSkip(name);

    /// <summary>B unit vector fields of <paramref name="pointShape"/> (points per axis), member b from seed 100 + b.</summary>
    private static double[][] RandomMembers(int[] pointShape)
    {
        int n = pointShape.Aggregate(1, (a, b) => a * b);
        var members = new double[B][];
        for (int b = 0; b < B; b++)
        {
            var rng = new Random(100 + b);
            var v = new double[3 * n];
            for (int p = 0; p < n; p++)
            {
                double x = rng.NextDouble() - 0.5, y = rng.NextDouble() - 0.5, z = rng.NextDouble() - 0.5, r = Math.Sqrt(x * x + y * y + z * z);
                v[3 * p] = x / r;
                v[3 * p + 1] = y / r;
                v[3 * p + 2] = z / r;
            }
            members[b] = v;
        }
        return members;
    }

    private static int[] PointShape(bool fic) => fic ? N : NewMesh().NodeCounts;

    private static NTensor Stacked(double[][] members, int[] memberShape, DType dtype, Device device) =>
        NTensor.FromArray(members.SelectMany(v => v).ToArray(), Batch.Prepend(members.Length, memberShape), dtype, device);

    private static double[] CellRamp(double lo, double hi) =>
        Enumerable.Range(0, N.Aggregate(1, (a, b) => a * b)).Select(c => lo + (hi - lo) * ((c * 7) % 11) / 10.0).ToArray();

    /// <summary>
    /// A state with every field term but demag (interlayer exchange for nodal m) and their total "" (h and E). The
    /// overrides replace material values or attributes by name ("h_ext" is the applied field) with a value of that
    /// state, shared or per member.
    /// </summary>
    private static State Build(Device device, DType dtype, int? batch, NTensor m, bool fic, IReadOnlyDictionary<string, Func<State, object>>? overrides = null)
    {
        var s = new State(NewMesh(), device, dtype, batch);
        s["m"] = fic ? new VectorCellFunction(s, m, "m") : new VectorFunction(s, m, "m");
        var values = new Dictionary<string, Func<State, object>>
        {
            ["material__Ms"] = st => 8e5,
            ["material__A"] = st => new CellFunction(st, tensor: st.Tensor(CellRamp(1e-11, 1.5e-11), N)),
            ["material__Ku"] = st => 4e5,
            ["material__Ku_axis"] = st => new[] { 0.6, 0, 0.8 },
            ["material__Kc"] = st => 2e4,
            ["material__Kc_axis1"] = st => new[] { 1.0, 0, 0 },
            ["material__Kc_axis2"] = st => new[] { 0, 1.0, 0 },
            ["material__Kc_axis3"] = st => new[] { 0, 0, 1.0 },
            ["material__Db"] = st => 3e-3,
            ["material__Di"] = st => 2e-3,
            ["material__Di_axis"] = st => new[] { 0, 0, 1.0 },
            ["material__Dxyz"] = st => 1e-3,
            ["material__iA"] = st => new Function(st, "ccn").Fill(1e-3),
            ["rho"] = st => new CellFunction(st, tensor: st.Tensor(CellRamp(0.5, 1.5), N)),
            ["h_ext"] = st => new[] { 1e4, -2e4, 3e4 },
        };
        if (overrides != null)
            foreach (var (k, v) in overrides) values[k] = v;
        foreach (var (k, v) in values)
            if (k != "h_ext") s[k] = v(s);
        new ExchangeField().Register(s, "exchange");
        new UniaxialAnisotropyField().Register(s, "uaniso");
        new CubicAnisotropyField().Register(s, "caniso");
        new BulkDMIField().Register(s, "bdmi");
        new InterfaceDMIField().Register(s, "idmi");
        new LIField("xyz").Register(s);
        new ExternalField(values["h_ext"](s)).Register(s, "external");
        var all = VolumeTerms.ToList();
        if (!fic)
        {
            new InterlayerExchangeField(0, 2).Register(s, "iexchange");
            all.Add("iexchange");
        }
        new TotalField(all.ToArray()).Register(s);
        return s;
    }

    private static string[] Attributes(bool fic)
    {
        var a = new List<string>();
        foreach (var t in VolumeTerms) a.AddRange(new[] { "h_" + t, "e_" + t, "E_" + t });
        if (!fic) a.AddRange(new[] { "h_iexchange", "E_iexchange" });
        a.AddRange(new[] { "h", "E" });
        return a.ToArray();
    }

    private static NTensor Member(NTensor t, int b) => t.Slice(0, b, b + 1).Squeeze(0);

    /// <summary>Each attribute of the batched state, member b, equals the attribute of single state b bit for bit.</summary>
    private static void AssertMembersEqualSingles(State batched, State[] singles, IEnumerable<string> attributes)
    {
        foreach (var attr in attributes)
        {
            var all = batched.Tensor(attr);
            var one = singles[0].Tensor(attr);
            // The applied field is given, not computed from m: a shared one keeps the member shape.
            if (attr == "h_external" && Shapes.Equal(all.GetShape(), one.GetShape()))
            {
                for (int b = 0; b < B; b++) CollectionAssert.AreEqual(singles[b].Tensor(attr).ToArray(), all.ToArray(), "a shared applied field");
                continue;
            }
            CollectionAssert.AreEqual(Batch.Prepend(B, one.GetShape()), all.GetShape(), $"{attr}: shape [B] + member shape");
            Assert.AreEqual(batched.Device, all.Device, $"{attr} stays on the state's device");
            Assert.AreEqual(batched.DType, all.DType, $"{attr} keeps the state's dtype");
            for (int b = 0; b < B; b++)
            {
                var expected = singles[b].Tensor(attr).ToArray();
                var got = Member(all, b).ToArray();
                Assert.IsTrue(expected.Any(v => v != 0) || attr.StartsWith("E_", StringComparison.Ordinal), $"{attr}: a nonzero reference");
                CollectionAssert.AreEqual(expected, got, $"{attr}, member {b}: the batched value equals the single evaluation bit for bit");
            }
        }
    }

    [TestMethod]
    [DataRow("cpu", "float64", false)]
    [DataRow("cpu", "float32", false)]
    [DataRow("cpu", "float64", true)]
    [DataRow("cpu", "float32", true)]
    [DataRow("ilgpu-cpu", "float64", false)]
    [DataRow("ilgpu-cpu", "float32", false)]
    public void EveryMemberOfABatchEqualsItsSingleEvaluation(string deviceName, string dtypeName, bool fic)
    {
        var device = DeviceOf(deviceName);
        var dtype = DTypeExtensions.Parse(dtypeName);
        var points = PointShape(fic);
        var ms = RandomMembers(points);
        var mShape = points.Append(3).ToArray();
        var batched = Build(device, dtype, B, Stacked(ms, mShape, dtype, device), fic);
        var singles = Enumerable.Range(0, B).Select(b => Build(device, dtype, null, NTensor.FromArray(ms[b], mShape, dtype, device), fic)).ToArray();
        AssertMembersEqualSingles(batched, singles, Attributes(fic));
    }

    /// <summary>Per-member Ms, A, Ku, Ku_axis, iA (one scalar per member or a full cell tensor per member) and applied field.</summary>
    [TestMethod]
    [DataRow("cpu", "float64")]
    [DataRow("cpu", "float32")]
    [DataRow("ilgpu-cpu", "float64")]
    public void PerMemberParametersAndFieldsEqualSingleEvaluations(string deviceName, string dtypeName)
    {
        var device = DeviceOf(deviceName);
        var dtype = DTypeExtensions.Parse(dtypeName);
        var points = PointShape(false);
        var mShape = points.Append(3).ToArray();
        var ms = RandomMembers(points);
        double[] msOf = { 8e5, 6e5, 1e6 }, kuOf = { 4e5, -1e5, 2.5e5 }, iaOf = { 1e-3, -2e-3, 5e-4 };
        double[][] aOf = { CellRamp(1e-11, 1.5e-11), CellRamp(2e-11, 1e-11), CellRamp(0.5e-11, 0.7e-11) };
        double[][] axisOf = { new[] { 0.6, 0, 0.8 }, new[] { 0, 1.0, 0 }, new[] { 0.8, 0.6, 0 } };
        double[][] hOf = { new[] { 1e4, -2e4, 3e4 }, new[] { 0, 0, 5e4 }, new[] { -3e4, 1e3, 0 } };
        NTensor PerMember(State st, double[] v, params int[] memberShape) => st.Tensor(v, Batch.Prepend(B, memberShape));
        var batchedOverrides = new Dictionary<string, Func<State, object>>
        {
            ["material__Ms"] = st => PerMember(st, msOf, 1, 1, 1),
            ["material__A"] = st => PerMember(st, aOf.SelectMany(v => v).ToArray(), N),
            ["material__Ku"] = st => PerMember(st, kuOf, 1, 1, 1),
            ["material__Ku_axis"] = st => PerMember(st, axisOf.SelectMany(v => v).ToArray(), 1, 1, 1, 3),
            ["material__iA"] = st => PerMember(st, iaOf, 1, 1, 1),
            ["h_ext"] = st => PerMember(st, hOf.SelectMany(v => v).ToArray(), 1, 1, 1, 3),
        };
        var batched = Build(device, dtype, B, Stacked(ms, mShape, dtype, device), false, batchedOverrides);
        var singles = Enumerable.Range(0, B).Select(b => Build(device, dtype, null, NTensor.FromArray(ms[b], mShape, dtype, device), false,
            new Dictionary<string, Func<State, object>>
            {
                ["material__Ms"] = st => msOf[b],
                ["material__A"] = st => new CellFunction(st, tensor: st.Tensor(aOf[b], N)),
                ["material__Ku"] = st => kuOf[b],
                ["material__Ku_axis"] = st => axisOf[b],
                ["material__iA"] = st => new Function(st, "ccn").Fill(iaOf[b]),
                ["h_ext"] = st => hOf[b],
            })).ToArray();
        AssertMembersEqualSingles(batched, singles, Attributes(false));

        // A per-member density rho (shared parameters: the members share the element operators, not the mass).
        double[][] rhoOf = { CellRamp(0.5, 1.5), CellRamp(1, 2), CellRamp(0.2, 0.9) };
        var rhoBatched = Build(device, dtype, B, Stacked(ms, mShape, dtype, device), false,
            new Dictionary<string, Func<State, object>> { ["rho"] = st => PerMember(st, rhoOf.SelectMany(v => v).ToArray(), N) });
        var rhoSingles = Enumerable.Range(0, B).Select(b => Build(device, dtype, null, NTensor.FromArray(ms[b], mShape, dtype, device), false,
            new Dictionary<string, Func<State, object>> { ["rho"] = st => st.Tensor(rhoOf[b], N) })).ToArray();
        AssertMembersEqualSingles(rhoBatched, rhoSingles, new[] { "h_exchange", "E_exchange", "e_exchange", "h_uaniso", "E_uaniso", "h_caniso", "E_external" });
        Assert.AreEqual(1L, rhoBatched.PreparedBuilds["UniaxialAnisotropyField.operator"], "rho per member: the shared Ku builds one operator for all members");
    }

    [TestMethod]
    [DataRow("cpu")]
    [DataRow("ilgpu-cpu")]
    public void PreparedOperatorsAreBuiltOncePerConfigurationAndNotRebuilt(string deviceName)
    {
        var device = DeviceOf(deviceName);
        var points = PointShape(false);
        var mShape = points.Append(3).ToArray();
        var m = Stacked(RandomMembers(points), mShape, DType.Float64, device);
        var shared = Build(device, DType.Float64, B, m, false);
        var perMember = Build(device, DType.Float64, B, m, false,
            new Dictionary<string, Func<State, object>> { ["material__Ku"] = st => st.Tensor(new[] { 4e5, 1e5, -2e5 }, new[] { B, 1, 1, 1 }) });
        for (int i = 0; i < 10; i++)
            foreach (var s in new[] { shared, perMember })
            {
                s.Tensor("h_exchange");
                s.Tensor("h_uaniso");
                s.Tensor("E_uaniso");
            }
        Assert.AreEqual(1L, shared.PreparedBuilds["ExchangeField.operator"], "shared A: one exchange operator for all members");
        Assert.AreEqual(1L, shared.PreparedBuilds["UniaxialAnisotropyField.operator"], "shared Ku: one anisotropy operator for all members");
        Assert.AreEqual(1L, perMember.PreparedBuilds["ExchangeField.operator"], "A stays shared beside a per-member Ku");
        Assert.AreEqual((long)B, perMember.PreparedBuilds["UniaxialAnisotropyField.operator"], "per-member Ku: one operator per member, none rebuilt");
        if (!device.IsCpu)
        {
            Assert.AreEqual(1L, shared.PreparedBuilds["ExchangeField.device"], "one device operator serves the whole batch (one kernel)");
            Assert.AreEqual((long)B, perMember.PreparedBuilds["UniaxialAnisotropyField.device"], "one device operator per member");
        }
    }

    [TestMethod]
    public void APerMemberValueWithAnotherMemberCountIsRefusedByName()
    {
        var points = PointShape(false);
        var m = Stacked(RandomMembers(points), points.Append(3).ToArray(), DType.Float64, Device.Cpu);
        var s = Build(Device.Cpu, DType.Float64, B, m, false,
            new Dictionary<string, Func<State, object>> { ["material__Ku"] = st => st.Tensor(new[] { 1e5, 2e5 }, new[] { 2, 1, 1, 1 }) });
        var e = Assert.ThrowsExactly<ArgumentException>(() => s.Tensor("h_uaniso"));
        StringAssert.Contains(e.Message, "'material__Ku' has 2 members");
        StringAssert.Contains(e.Message, "the batch has 3");
        var wrongField = new State(NewMesh(), Device.Cpu, DType.Float64, B);
        wrongField["m"] = new VectorFunction(wrongField, m, "m");
        wrongField.Material["Ms"] = 8e5;
        var h = Assert.ThrowsExactly<ArgumentException>(() => new ExternalField(NTensor.Zeros(new[] { B, 2, 1, 1, 3 })).Register(wrongField));
        Assert.AreEqual("h", h.ParamName);
    }

    private static double MaxAbs(double[] v) => v.Max(Math.Abs);

    private static void AssertClose(double[] expected, double[] got, double rtol, string what)
    {
        Assert.AreEqual(expected.Length, got.Length, what);
        double scale = MaxAbs(expected);
        Assert.IsTrue(scale > 0, $"{what}: a nonzero reference");
        for (int i = 0; i < got.Length; i++) Assert.AreEqual(expected[i], got[i], rtol * scale, $"{what}, entry {i}");
    }

    /// <summary>
    /// Gradients through batched h and E with respect to m (per member), a shared parameter (the sum over members of
    /// the single gradients) and a per-member one (each member's own), against the single states' tape gradients.
    /// rel 1e-12: the batched tape adds the members' shared-parameter gradients in another order than the test's sum.
    /// </summary>
    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void GradientsThroughBatchedFieldsAndEnergiesMatchSingleMembers(bool fic)
    {
        var points = PointShape(fic);
        var mShape = points.Append(3).ToArray();
        var ms = RandomMembers(points);
        var m = Stacked(ms, mShape, DType.Float64, Device.Cpu);
        double[] kuOf = { 4e5, 1e5, -2e5 };
        var batched = Build(Device.Cpu, DType.Float64, B, m, fic,
            new Dictionary<string, Func<State, object>> { ["material__Ku"] = st => st.Tensor(kuOf, new[] { B, 1, 1, 1 }) });
        var singles = Enumerable.Range(0, B).Select(b => Build(Device.Cpu, DType.Float64, null, NTensor.FromArray(ms[b], mShape), fic,
            new Dictionary<string, Func<State, object>> { ["material__Ku"] = st => st.Tensor(Enumerable.Repeat(kuOf[b], N.Aggregate(1, (x, y) => x * y)).ToArray(), N) })).ToArray();
        var rng = new Random(5);
        var w = NTensor.FromArray(Enumerable.Range(0, B * mShape.Aggregate(1, (x, y) => x * y)).Select(_ => rng.NextDouble() - 0.5).ToArray(), Batch.Prepend(B, mShape));
        double[] c = { 1e18, -2e18, 0.5e18 };
        var a = batched.Tensor("material__A");
        var ku = batched.Tensor("material__Ku");

        // L = Σ_b [w_b · (h_exchange + h_uaniso + h_caniso)_b + c_b (E_exchange + E_uaniso)_b]
        NTensor Loss(State s, NTensor mm, NTensor aa, NTensor kk, NTensor ww, NTensor cc)
        {
            var h = s.Resolve("h_exchange", new[] { "m", "material__A" }).Invoke(mm, aa)
                    + s.Resolve("h_uaniso", new[] { "m", "material__Ku" }).Invoke(mm, kk)
                    + s.Resolve("h_caniso", new[] { "m" }).Invoke(mm);
            var e = s.Resolve("E_exchange", new[] { "m", "material__A" }).Invoke(mm, aa) + s.Resolve("E_uaniso", new[] { "m", "material__Ku" }).Invoke(mm, kk);
            return (h * ww).Sum() + (e * cc).Sum();
        }
        var g = Autodiff.Grads(x => Loss(batched, x[0], x[1], x[2], w, NTensor.FromArray(c)))(new[] { m, a, ku });
        CollectionAssert.AreEqual(Batch.Prepend(B, mShape), g[0].GetShape());
        CollectionAssert.AreEqual(new[] { B, 1, 1, 1 }, g[2].GetShape(), "per-member Ku: one gradient per member");
        var gA = new double[a.Size];
        for (int b = 0; b < B; b++)
        {
            var s = singles[b];
            var gs = Autodiff.Grads(x => Loss(s, x[0], x[1], x[2], Member(w, b), NTensor.Scalar(c[b])))(
                new[] { s.Tensor("m"), s.Tensor("material__A"), s.Tensor("material__Ku") });
            AssertClose(gs[0].ToArray(), Member(g[0], b).ToArray(), 1e-12, $"dL/dm member {b}");
            var gKu = gs[2].ToArray().Sum();
            Assert.AreEqual(gKu, g[2].ToArray()[b], 1e-12 * Math.Abs(gKu), $"dL/dKu member {b}");
            var ga = gs[1].ToArray();
            for (int i = 0; i < ga.Length; i++) gA[i] += ga[i];
        }
        AssertClose(gA, g[1].ToArray(), 1e-12, "dL/dA (shared): the sum over members");
    }

    [TestMethod]
    public void InterlayerAndZeemanGradientsInPerMemberParametersMatchSingleMembers()
    {
        var points = PointShape(false);
        var mShape = points.Append(3).ToArray();
        var ms = RandomMembers(points);
        double[] iaOf = { 1e-3, -2e-3, 5e-4 }, msOf = { 8e5, 6e5, 1e6 };
        var batched = Build(Device.Cpu, DType.Float64, B, Stacked(ms, mShape, DType.Float64, Device.Cpu), false,
            new Dictionary<string, Func<State, object>>
            {
                ["material__iA"] = st => st.Tensor(iaOf, new[] { B, 1, 1, 1 }),
                ["material__Ms"] = st => st.Tensor(msOf, new[] { B, 1, 1, 1 }),
            });
        var singles = Enumerable.Range(0, B).Select(b => Build(Device.Cpu, DType.Float64, null, NTensor.FromArray(ms[b], mShape), false,
            new Dictionary<string, Func<State, object>>
            {
                ["material__iA"] = st => new Function(st, "ccn").Fill(iaOf[b]),
                ["material__Ms"] = st => new CellFunction(st).Fill(msOf[b]),
            })).ToArray();
        var rng = new Random(8);
        var w = NTensor.FromArray(Enumerable.Range(0, B * mShape.Aggregate(1, (x, y) => x * y)).Select(_ => rng.NextDouble() - 0.5).ToArray(), Batch.Prepend(B, mShape));
        var names = new[] { "m", "material__iA", "material__Ms" };
        NTensor Loss(State s, NTensor[] x, NTensor ww) =>
            (s.Resolve("h_iexchange", names).Invoke(x) * ww).Sum() + s.Resolve("E_external", new[] { "m", "material__Ms" }).Invoke(x[0], x[2]).Sum() * 1e20;
        var g = Autodiff.Grads(x => Loss(batched, x, w))(names.Select(batched.Tensor).ToArray());
        for (int b = 0; b < B; b++)
        {
            var s = singles[b];
            var gs = Autodiff.Grads(x => Loss(s, x, Member(w, b)))(names.Select(s.Tensor).ToArray());
            AssertClose(gs[0].ToArray(), Member(g[0], b).ToArray(), 1e-12, $"dL/dm member {b}");
            for (int k = 1; k < 3; k++)
            {
                double expected = gs[k].ToArray().Sum();
                Assert.AreEqual(expected, g[k].ToArray()[b], 1e-12 * Math.Abs(expected), $"dL/d{names[k]} member {b}");
            }
        }
    }

    [TestMethod]
    public void AveragesIntegralsAndProjectionsOfABatchedFunctionArePerMember()
    {
        foreach (bool fic in new[] { false, true })
        {
            var points = PointShape(fic);
            var mShape = points.Append(3).ToArray();
            var ms = RandomMembers(points);
            var batched = new State(NewMesh(), Device.Cpu, DType.Float64, B);
            var mb = Stacked(ms, mShape, DType.Float64, Device.Cpu);
            batched["m"] = fic ? new VectorCellFunction(batched, mb, "m") : new VectorFunction(batched, mb, "m");
            batched["rho"] = new CellFunction(batched, tensor: batched.Tensor(CellRamp(0.5, 1.5), N));
            batched.Material["Ms"] = new CellFunction(batched, tensor: batched.Tensor(CellRamp(5e5, 9e5), N));
            var avg = batched.M.Avg();
            var integral = batched.M.Integral();
            var projected = fic ? batched.M.ToNode(batched.Material.GetFunction("Ms")) : batched.M.ToCell();
            CollectionAssert.AreEqual(new[] { B, 3 }, avg.GetShape(), "Avg of a batched m: one vector per member");
            CollectionAssert.AreEqual(new[] { B, 3 }, integral.GetShape());
            CollectionAssert.AreEqual(Batch.Prepend(B, PointShape(!fic).Append(3).ToArray()), projected.Tensor.GetShape());
            for (int b = 0; b < B; b++)
            {
                var single = new State(NewMesh(), Device.Cpu, DType.Float64);
                var m1 = NTensor.FromArray(ms[b], mShape);
                single["m"] = fic ? new VectorCellFunction(single, m1, "m") : new VectorFunction(single, m1, "m");
                single["rho"] = new CellFunction(single, tensor: single.Tensor(CellRamp(0.5, 1.5), N));
                single.Material["Ms"] = new CellFunction(single, tensor: single.Tensor(CellRamp(5e5, 9e5), N));
                CollectionAssert.AreEqual(single.M.Avg().ToArray(), Member(avg, b).ToArray(), $"Avg member {b} (FIC {fic})");
                CollectionAssert.AreEqual(single.M.Integral().ToArray(), Member(integral, b).ToArray(), $"Integral member {b}");
                var p1 = fic ? single.M.ToNode(single.Material.GetFunction("Ms")) : single.M.ToCell();
                CollectionAssert.AreEqual(p1.Tensor.ToArray(), Member(projected.Tensor, b).ToArray(), $"projection member {b}");
            }
        }
    }
}
