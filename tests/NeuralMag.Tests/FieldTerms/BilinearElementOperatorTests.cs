using NeuralMag.AD;
using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag.Tests.FieldTerms;

/// <summary>
/// <see cref="BilinearElementOperator"/>: for the Zeeman and demag densities, E(m, n) = ½ mᵀ K n and its gradients
/// against the generic dual-number assembly of the density itself; densities that are not bilinear and symmetric in
/// (m, n) are refused.
/// </summary>
[TestClass]
public sealed class BilinearElementOperatorTests
{
    private static readonly GridGeometry Geo = new(new[] { 4, 3, 2 }, new[] { false, true, false }, new[] { 2e-9, 3e-9, 2.5e-9 });

    private static double[] Random(int count, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => 2 * rng.NextDouble() - 1).ToArray();
    }

    /// <summary>Ms of two materials (so two element operators) and a rho with an empty cell.</summary>
    private static (double[][] Parameters, double[] Rho) Material()
    {
        var ms = Enumerable.Range(0, Geo.NumCells).Select(c => c % 3 == 0 ? 6e5 : 8e5).ToArray();
        var rho = Enumerable.Range(0, Geo.NumCells).Select(c => c == 5 ? 0 : 0.5 + 0.1 * (c % 4)).ToArray();
        return (new[] { ms }, rho);
    }

    [TestMethod]
    [DataRow("zeeman", 2)]
    [DataRow("zeeman", 3)]
    [DataRow("demag", 2)]
    public void TheEnergyAndItsGradientsEqualTheGenericAssembly(string term, int gauss)
    {
        EnergyDensity density = term == "zeeman" ? new ExternalField(new[] { 1.0, 0, 0 }).Density : new DemagField().Density;
        var asm = new ElementAssembler(Geo, gauss);
        var (p, rho) = Material();
        var k = BilinearElementOperator.TryBuild(asm, density, p, rho) ?? throw new AssertFailedException($"{term} is bilinear and symmetric in (m, h)");
        int values = Geo.NumNodes * 3;
        var m = Random(values, 1);
        var n = Random(values, 2);
        var generic = asm.Assemble(density, m, p, new[] { n }, rho, ElementAssembler.Mode.MGradient);
        var kn = asm.AssembleQuadratic(k, n, rho, gradient: true, energy: false).DEdm!;
        var km = asm.AssembleQuadratic(k, m, rho, gradient: true, energy: false).DEdm!;
        double energy = 0.5 * m.Zip(kn, (a, b) => a * b).Sum();
        Assert.AreNotEqual(0.0, generic.Energy);
        Assert.AreEqual(generic.Energy, energy, 1e-13 * Math.Abs(generic.Energy));
        // dE/dm = ½ K n; dE/dn = ½ K m, against the generic pass with the roles of m and n exchanged (e is symmetric).
        var dEdn = asm.Assemble(density, n, p, new[] { m }, rho, ElementAssembler.Mode.MGradient).DEdm!;
        double scale = generic.DEdm!.Max(Math.Abs);
        for (int i = 0; i < values; i++)
        {
            Assert.AreEqual(generic.DEdm[i], 0.5 * kn[i], 1e-13 * scale, $"dE/dm element {i}");
            Assert.AreEqual(dEdn[i], 0.5 * km[i], 1e-13 * scale, $"dE/dn element {i}");
        }
    }

    [TestMethod]
    public void DensitiesThatAreNotBilinearAndSymmetricAreRefused()
    {
        var asm = new ElementAssembler(Geo, 2);
        var (p, rho) = Material();
        // m·n + |n|² (not linear in m), m_x n_y (not symmetric), (∂x m)·n (reads grad m), two nodal fields.
        Assert.IsNull(BilinearElementOperator.TryBuild(asm, new Custom((in QuadPoint q) => Vec3.Dot(q.M, q.Nodal(0)) + Vec3.Dot(q.Nodal(0), q.Nodal(0))), p, rho));
        Assert.IsNull(BilinearElementOperator.TryBuild(asm, new Custom((in QuadPoint q) => q.M.X * q.Nodal(0).Y), p, rho));
        Assert.IsNull(BilinearElementOperator.TryBuild(asm, new Custom((in QuadPoint q) => Vec3.Dot(q.D(0), q.Nodal(0))), p, rho));
        Assert.IsNull(BilinearElementOperator.TryBuild(asm, new Custom((in QuadPoint q) => Vec3.Dot(q.M, q.Nodal(0)), fields: 2), p, rho));
        // The accepted form, written by hand: Ms m·n (symmetric, bilinear).
        Assert.IsNotNull(BilinearElementOperator.TryBuild(asm, new Custom((in QuadPoint q) => q.Param(0) * Vec3.Dot(q.M, q.Nodal(0))), p, rho));
    }

    private static NeuralMag.State NewState(bool elementOperators, DType dtype)
    {
        var state = new NeuralMag.State(new Mesh(new[] { 5, 4, 2 }, new[] { 2e-9, 3e-9, 2.5e-9 }), Device.Cpu, dtype);
        int cells = 5 * 4 * 2;
        state.Material["Ms"] = new CellFunction(state, tensor: state.Tensor(Enumerable.Range(0, cells).Select(c => c % 3 == 0 ? 6e5 : 8e5).ToArray(), new[] { 5, 4, 2 }));
        var raw = state.Tensor(Random(6 * 5 * 3 * 3, 5), new[] { 6, 5, 3, 3 });
        state["m"] = new VectorFunction(state, raw / raw.Norm(-1).Unsqueeze(-1));
        new DemagField { ElementOperators = elementOperators }.Register(state, "demag");
        new ExternalField(new[] { 2e4, -1e4, 5e3 }) { ElementOperators = elementOperators }.Register(state, "external");
        return state;
    }

    [TestMethod]
    [DataRow("float64")]
    [DataRow("float32")]
    public void OnTheCpuTheEnergiesAndTheirMGradientsEqualTheDualPath(string dtypeName)
    {
        // E_demag and E_external through ½ m·(K h) (default) against the dual-number assembly (ElementOperators = false),
        // through Resolve as a user calls them; gradients in m and in Ms (the latter by the dual path in both).
        var dtype = dtypeName == "float64" ? DType.Float64 : DType.Float32;
        double tol = dtype == DType.Float64 ? 1e-12 : 1e-5;
        var fast = NewState(true, dtype);
        var dual = NewState(false, dtype);
        foreach (var name in new[] { "E_demag", "E_external" })
        {
            foreach (var wrt in new[] { "m", "material__Ms" })
            {
                var (ef, gf) = Autodiff.ValueAndGrad(x => fast.Resolve(name, new[] { wrt }).Invoke(x))(fast.Tensor(wrt));
                var (ed, gd) = Autodiff.ValueAndGrad(x => dual.Resolve(name, new[] { wrt }).Invoke(x))(dual.Tensor(wrt));
                Assert.AreEqual(ed.Item(), ef.Item(), tol * Math.Abs(ed.Item()), $"{name} ({wrt} recorded)");
                var (a, b) = (gf.ToArray(), gd.ToArray());
                double scale = b.Max(Math.Abs);
                Assert.IsTrue(scale > 0, $"d{name}/d{wrt}");
                for (int i = 0; i < a.Length; i++) Assert.AreEqual(b[i], a[i], tol * scale, $"d{name}/d{wrt} element {i}");
            }
            Assert.AreEqual(dual.Resolve(name, new[] { "m" }).Invoke(dual.Tensor("m")).Item(), fast.Resolve(name, new[] { "m" }).Invoke(fast.Tensor("m")).Item(),
                tol * Math.Abs(dual.Tensor(name).Item()), $"{name} off the tape");
        }
        var builds = fast.PreparedBuilds;
        Assert.AreEqual(1L, builds.GetValueOrDefault("DemagField.bilinear"), string.Join(", ", builds));
        Assert.AreEqual(1L, builds.GetValueOrDefault("ExternalField.bilinear"), string.Join(", ", builds));
        Assert.IsFalse(dual.PreparedBuilds.ContainsKey("DemagField.bilinear"));
    }

    private delegate Dual Body(in QuadPoint q);

    private sealed class Custom : EnergyDensity
    {
        private readonly Body _body;
        public Custom(Body body, int fields = 1)
        {
            _body = body;
            NodalFields = Enumerable.Range(0, fields).Select(i => $"h{i}").ToArray();
        }
        public override IReadOnlyList<CellParameter> Parameters { get; } = new[] { new CellParameter("material__Ms", 1) };
        public override IReadOnlyList<string> NodalFields { get; }
        public override Dual Evaluate(in QuadPoint q) => _body(q);
    }
}
