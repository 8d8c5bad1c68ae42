using System.Globalization;
using System.Numerics;
using System.Text.Json;
using NeuralMag.AD;
using NeuralMag.Testing;

namespace NeuralMag.Tests.Testing;

using State = NeuralMag.State;

/// <summary>
/// The assertions of NeuralMag.Testing: each passes on a correct gradient or field and fails, with the worst entries
/// and the tolerance in its message, on a deliberately wrong one.
/// </summary>
[TestClass]
public sealed class NeuralMagAssertTests
{
    private static readonly NTensor X0 = NTensor.FromArray(new[] { 0.3, -1.2, 0.7, 2.1, -0.4, 1.5 }, new[] { 2, 3 });

    /// <summary>y = x² whose recorded VJP forgets the factor 2: the tape's gradient is x instead of 2x.</summary>
    private static NTensor SquareWithWrongVjp(NTensor x)
    {
        var y = NTensor.FromArray(x.ToArray().Select(v => v * v).ToArray(), x.GetShape());
        return Tape.Record(y, new[] { x }, g => new NTensor?[] { g * x });
    }

    [TestMethod]
    public void CentralDifferencesWithRichardsonAreAccurateToO_h4()
    {
        // d/dx sin(x) at 0.7 = cos(0.7); the extrapolated estimate with h = 1e-2 is within ~1e-11.
        var d = NumericalDerivatives.CentralDifference(v => Math.Sin(v[0]), new[] { 0.7 }, new[] { 0 }, 1e-2);
        Assert.AreEqual(Math.Cos(0.7), d[0], 1e-10);
        var c = NumericalDerivatives.ComplexStep(z => Complex.Sin(z[0]), new[] { 0.7 }, new[] { 0 }, 1e-20);
        Assert.AreEqual(Math.Cos(0.7), c[0], 1e-16);
    }

    [TestMethod]
    public void FiniteDifferenceCheckPassesOnACorrectGradient()
    {
        NeuralMagAssert.GradientMatchesFiniteDifferences(x => (x.Sin() * x.Square()).Sum(), X0);
        NeuralMagAssert.GradientMatchesFiniteDifferences((a, b) => (a * b.Exp()).Sum(), X0, X0 * 0.5);
    }

    [TestMethod]
    public void FiniteDifferenceCheckFailsOnAWrongGradientAndListsTheWorstEntries()
    {
        var e = Assert.ThrowsExactly<AssertFailedException>(() =>
            NeuralMagAssert.GradientMatchesFiniteDifferences(x => SquareWithWrongVjp(x).Sum(), X0));
        // Tape x, numeric 2x: error |x| / max|2x|, worst 0.5 at the largest entry, 2.1 at index [1, 0].
        StringAssert.Contains(e.Message, "central differences");
        StringAssert.Contains(e.Message, "tolerance 1.00e-06");
        StringAssert.Contains(e.Message, "max relative error 5.00e-01");
        StringAssert.Contains(e.Message, "worst entries (index, analytic, numeric, relative error)");
        StringAssert.Contains(e.Message, "[1, 0]  2.100000000e+00  4.200000000e+00  5.00e-01");
    }

    [TestMethod]
    public void ComplexStepCheckPassesOnACorrectGradient()
    {
        NeuralMagAssert.GradientMatchesComplexStep(
            x => ((x * 0.3).Exp() * x.Sin()).Sum(),
            z => z.Aggregate(Complex.Zero, (s, v) => s + Complex.Exp(0.3 * v) * Complex.Sin(v)),
            X0);
    }

    [TestMethod]
    public void ComplexStepCheckFailsOnAWrongGradient()
    {
        var e = Assert.ThrowsExactly<AssertFailedException>(() => NeuralMagAssert.GradientMatchesComplexStep(
            x => SquareWithWrongVjp(x).Sum(), z => z.Aggregate(Complex.Zero, (s, v) => s + v * v), X0));
        StringAssert.Contains(e.Message, "the complex step");
        StringAssert.Contains(e.Message, "tolerance 1.00e-10");
        StringAssert.Contains(e.Message, "max relative error 5.00e-01");
    }

    [TestMethod]
    public void ComplexStepCheckRefusesAComplexImplementationOfAnotherFunction()
    {
        var e = Assert.ThrowsExactly<AssertFailedException>(() => NeuralMagAssert.GradientMatchesComplexStep(
            x => x.Square().Sum(), z => z.Aggregate(Complex.Zero, (s, v) => s + v * v * v), X0));
        StringAssert.Contains(e.Message, "does not agree with the NTensor one");
    }

    [TestMethod]
    public void ResolvedFunctionsAreCheckedAtTheStateValuesOfTheirParameters()
    {
        var state = new State(new Mesh(new[] { 3, 2, 2 }, new[] { 2e-9, 3e-9, 2e-9 }), Device.Cpu, DType.Float64);
        state["m"] = new VectorFunction(state).Fill(new[] { 0.6, 0, 0.8 });
        state.Material["Ms"] = 8e5;
        state.Material["Ku"] = new CellFunction(state).Fill(4e5);
        state.Material["Ku_axis"] = new VectorCellFunction(state).Fill(new[] { 0, 0, 1.0 });
        new UniaxialAnisotropyField().Register(state, "uaniso");
        NeuralMagAssert.GradientMatchesFiniteDifferences(state.Resolve("E_uaniso", new[] { "material__Ku", "m" }), state);
        // dE/dKu = -(m·e)^2 V per cell: the complex-step reference written out by hand.
        double v = 2e-9 * 3e-9 * 2e-9;
        NeuralMagAssert.GradientMatchesComplexStep(state.Resolve("E_uaniso", new[] { "material__Ku" }),
            z => z[0].Aggregate(Complex.Zero, (s, ku) => s - ku * 0.64 * v), new[] { state.Tensor("material__Ku") });
    }

    private static State ExchangeState(bool emptyCells)
    {
        var state = new State(new Mesh(new[] { 4, 3, 2 }, new[] { 2e-9, 3e-9, 2.5e-9 }), Device.Cpu, DType.Float64);
        var rng = new Random(11);
        var raw = NTensor.FromArray(Enumerable.Range(0, 5 * 4 * 3 * 3).Select(_ => rng.NextDouble() - 0.5).ToArray(), new[] { 5, 4, 3, 3 });
        state["m"] = new VectorFunction(state, raw / raw.Norm(-1).Unsqueeze(-1));
        // With empty cells: Ms = 0 on the x index 0 layer of cells, so the nodes of the x = 0 face have no mass.
        var ms = Enumerable.Range(0, 4 * 3 * 2).Select(c => emptyCells && c / 6 == 0 ? 0.0 : 8e5 + 1e4 * c).ToArray();
        state.Material["Ms"] = new CellFunction(state, tensor: NTensor.FromArray(ms, new[] { 4, 3, 2 }));
        state.Material["A"] = new CellFunction(state).Fill(1.3e-11);
        new ExchangeField().Register(state, "exchange");
        return state;
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void ExchangeFieldIsTheEnergyGradientAtTheNodes(bool emptyCells) =>
        NeuralMagAssert.FieldIsEnergyGradient(ExchangeState(emptyCells), "exchange");

    [TestMethod]
    public void FieldEnergyCheckFailsOnAFieldOffByOnePercent()
    {
        var state = ExchangeState(false);
        state["h_wrong"] = (Func<NTensor, NTensor>)(h_exchange => h_exchange * 1.01);
        state["E_wrong"] = (Func<NTensor, NTensor>)(E_exchange => E_exchange);
        var e = Assert.ThrowsExactly<AssertFailedException>(() => NeuralMagAssert.FieldIsEnergyGradient(state, "wrong"));
        StringAssert.Contains(e.Message, "h_wrong is not -1/(mu0 M_i) dE/dm_i of E_wrong");
        StringAssert.Contains(e.Message, "max relative error 1.00e-02");
        StringAssert.Contains(e.Message, "tolerance 1.00e-10");
    }

    /// <summary>
    /// A reference case written from the closed form of uniaxial anisotropy for uniform m: h = 2 Ku/(mu0 Ms) (m·e) e at
    /// every node, E = −Ku (m·e)² V_total.
    /// </summary>
    private static string WriteUniaxialCase()
    {
        var dir = Path.Combine(Path.GetTempPath(), "nm-assert-" + Guid.NewGuid().ToString("N"), "uniform_uaniso");
        Directory.CreateDirectory(dir);
        int[] n = { 3, 2, 1 };
        double[] dx = { 2e-9, 3e-9, 4e-9 };
        double ms = 8e5, ku = 4e5;
        double[] axis = { 0.6, 0, 0.8 }, m = { 0, 0.6, 0.8 };
        double ma = m.Zip(axis, (a, b) => a * b).Sum();
        double s = 2 * ku / (Constants.Mu0 * ms) * ma;
        object Nodal(double[] v) => Enumerable.Range(0, n[0] + 1).Select(_ => Enumerable.Range(0, n[1] + 1).Select(_ => Enumerable.Range(0, n[2] + 1).Select(_ => v).ToArray()).ToArray()).ToArray();
        var inputs = new Dictionary<string, object>
        {
            ["n"] = n, ["dx"] = dx, ["params"] = new Dictionary<string, object> { ["Ms"] = ms, ["Ku"] = ku, ["Ku_axis"] = axis },
            ["m"] = Nodal(m), ["terms"] = new[] { "uaniso" },
        };
        double energy = -ku * ma * ma * dx[0] * dx[1] * dx[2] * n[0] * n[1] * n[2];
        File.WriteAllText(Path.Combine(dir, "inputs.json"), JsonSerializer.Serialize(inputs));
        File.WriteAllText(Path.Combine(dir, "uaniso.json"), JsonSerializer.Serialize(new { h = Nodal(axis.Select(a => s * a).ToArray()), E = energy }));
        return dir;
    }

    [TestMethod]
    public void TermMatchesAReferenceCaseFolderAndFailsOnAWrongOne()
    {
        var dir = WriteUniaxialCase();
        try
        {
            NeuralMagAssert.TermMatchesReference(dir, new UniaxialAnisotropyField());
            NeuralMagAssert.CaseMatchesReference(dir);
            // The same numbers with the field halved (the factor 2 of d(m·e)²/dm forgotten).
            var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "uaniso.json"))).RootElement;
            var halved = reference.GetProperty("h").EnumerateArray().Select(i => i.EnumerateArray().Select(j => j.EnumerateArray()
                .Select(k => k.EnumerateArray().Select(c => c.GetDouble() / 2).ToArray()).ToArray()).ToArray()).ToArray();
            File.WriteAllText(Path.Combine(dir, "uaniso_half.json"), JsonSerializer.Serialize(new { h = halved, E = reference.GetProperty("E").GetDouble() }));
            var e = Assert.ThrowsExactly<AssertFailedException>(() => NeuralMagAssert.TermMatchesReference(dir, new UniaxialAnisotropyField(), "uaniso_half"));
            // Ours is twice the reference: max|h - h_ref| / max|h_ref| = 1.
            StringAssert.Contains(e.Message, "rel_h = 1.00e+00");
            StringAssert.Contains(e.Message, "tolerance 1.00e-10");
            StringAssert.Contains(e.Message, "worst entries (index, ours, reference, relative error)");
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(dir)!, recursive: true);
        }
    }

    [TestMethod]
    public void WrongArgumentsAreRejectedWithTheirNames()
    {
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            NeuralMagAssert.GradientMatchesFiniteDifferences(x => x.Sum(), X0, new GradientCheckOptions { RelativeStep = 0 }));
        Assert.AreEqual("RelativeStep", e.ParamName);
        var state = ExchangeState(false);
        var missing = Assert.ThrowsExactly<ArgumentException>(() => NeuralMagAssert.FieldIsEnergyGradient(state, "demag"));
        StringAssert.Contains(missing.Message, "'h_demag'");
        Assert.ThrowsExactly<ArgumentException>(() => NeuralMagAssert.TermMatchesReference(
            Path.Combine(Path.GetTempPath(), "no-such-case-" + Guid.NewGuid().ToString("N")), new ExchangeField()));
    }
}
