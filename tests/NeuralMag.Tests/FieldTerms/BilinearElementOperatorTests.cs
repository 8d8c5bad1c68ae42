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
