using NeuralMag.AD;

namespace NeuralMag.Tests.FieldTerms;

using State = NeuralMag.State;

/// <summary>
/// Field terms with cells of Ms = 0 or rho = 0 (they behave as empty cells: finite h, e and E, h = 0 at nodes whose
/// adjacent cells are all empty, gradients still exact), and bad term arguments.
/// </summary>
[TestClass]
public sealed class FieldTermBadInputTests
{
    private static readonly int[] Cells = { 4, 3, 2 };
    private static readonly string[] Terms = { "exchange", "uaniso", "caniso", "bdmi", "idmi", "external", "demag", "iexchange", "LI_xyz" };

    /// <summary>A 4x3x2 state with random unit m, every term's parameters and the given Ms and rho per cell.</summary>
    private static State NewState(double[] ms, double[] rho, bool fic = false)
    {
        var state = new State(new Mesh(Cells, new[] { 2e-9, 3e-9, 2.5e-9 }), Device.Cpu, DType.Float64);
        var rng = new Random(3);
        var shape = fic ? new[] { 4, 3, 2, 3 } : new[] { 5, 4, 3, 3 };
        var raw = NTensor.FromArray(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => rng.NextDouble() - 0.5).ToArray(), shape);
        state["m"] = fic ? new VectorCellFunction(state, raw / raw.Norm(-1).Unsqueeze(-1)) : new VectorFunction(state, raw / raw.Norm(-1).Unsqueeze(-1));
        state.Material["Ms"] = new CellFunction(state, tensor: NTensor.FromArray(ms, Cells));
        state["rho"] = new CellFunction(state, tensor: NTensor.FromArray(rho, Cells));
        state.Material["A"] = 1.3e-11;
        state.Material["Ku"] = 4e5;
        state.Material["Ku_axis"] = new VectorCellFunction(state).Fill(new[] { 0.6, 0, 0.8 });
        state.Material["Kc"] = 1e5;
        state.Material["Kc_axis1"] = new VectorCellFunction(state).Fill(new[] { 1.0, 0, 0 });
        state.Material["Kc_axis2"] = new VectorCellFunction(state).Fill(new[] { 0, 1.0, 0 });
        state.Material["Kc_axis3"] = new VectorCellFunction(state).Fill(new[] { 0, 0, 1.0 });
        state.Material["Db"] = 3e-3;
        state.Material["Di"] = 2e-3;
        state.Material["Di_axis"] = new VectorCellFunction(state).Fill(new[] { 0, 0, 1.0 });
        state.Material["Dxyz"] = 1e-3;
        state.Material["iA"] = new Function(state, "ccn").Fill(1e-3);
        new ExchangeField().Register(state);
        new UniaxialAnisotropyField().Register(state);
        new CubicAnisotropyField().Register(state);
        new BulkDMIField().Register(state);
        new InterfaceDMIField().Register(state);
        new ExternalField(new[] { 1e5, 2e4, 0 }).Register(state);
        new DemagField { UpstreamFloat32Mass = false }.Register(state);
        if (!fic) new InterlayerExchangeField(0, 2).Register(state);
        new LIField("xyz").Register(state);
        return state;
    }

    private static double[] Filled(double v) => Enumerable.Repeat(v, 24).ToArray();

    private static double[] WithCell0(double v, double rest)
    {
        var a = Filled(rest);
        a[0] = v;
        return a;
    }

    private static void AssertFinite(State state, bool fic = false)
    {
        foreach (var t in Terms)
        {
            if (fic && t == "iexchange") continue;
            var h = state.Tensor("h_" + t).ToArray();
            Assert.IsTrue(h.All(double.IsFinite), $"h_{t} has a non-finite value");
            if (t != "iexchange") Assert.IsTrue(state.Tensor("e_" + t).ToArray().All(double.IsFinite), $"e_{t} has a non-finite value");
            Assert.IsTrue(double.IsFinite(state.Tensor("E_" + t).Item()), $"E_{t} is not finite");
        }
    }

    [TestMethod]
    public void MsZeroInOneCellGivesFiniteFieldsAndZeroFieldAtItsOwnCorner()
    {
        var state = NewState(WithCell0(0, 8e5), Filled(1));
        AssertFinite(state);
        // Node (0,0,0) touches only cell 0: no magnetic moment there, so every computed field vanishes at it.
        foreach (var t in Terms.Where(t => t != "external"))
        {
            var h0 = state.Tensor("h_" + t)[0, 0, 0].ToArray();
            CollectionAssert.AreEqual(new[] { 0.0, 0, 0 }, h0, $"h_{t} at the corner of the Ms = 0 cell");
        }
        // The neighbouring node (1,0,0) still has magnetic cells around it and a nonzero exchange field.
        Assert.IsTrue(state.Tensor("h_exchange")[1, 0, 0].Norm(-1).Item() > 0);
    }

    [TestMethod]
    public void MsZeroEverywhereGivesZeroFieldsAndFiniteEnergy()
    {
        var state = NewState(Filled(0), Filled(1));
        AssertFinite(state);
        foreach (var t in Terms.Where(t => t != "external"))
            Assert.AreEqual(0.0, state.Tensor("h_" + t).Abs().Max().Item(), $"h_{t}");
        Assert.AreEqual(0.0, state.Tensor("E_demag").Item());
        Assert.AreEqual(0.0, state.Tensor("E_external").Item());
        Assert.IsTrue(state.Tensor("E_exchange").Item() > 0, "exchange energy of A > 0 cells is still counted");
    }

    [TestMethod]
    public void RhoZeroInOneCellOrEverywhereGivesFiniteFields()
    {
        var one = NewState(Filled(8e5), WithCell0(0, 1));
        AssertFinite(one);
        foreach (var t in Terms.Where(t => t != "external"))
            CollectionAssert.AreEqual(new[] { 0.0, 0, 0 }, one.Tensor("h_" + t)[0, 0, 0].ToArray(), $"h_{t} at the corner of the rho = 0 cell");
        var all = NewState(Filled(8e5), Filled(0));
        AssertFinite(all);
        foreach (var t in Terms.Where(t => t is not ("external" or "iexchange")))
            Assert.AreEqual(0.0, all.Tensor("h_" + t).Abs().Max().Item(), $"h_{t}");
        var fic = NewState(Filled(8e5), WithCell0(0, 1), fic: true);
        AssertFinite(fic, fic: true);
        Assert.IsTrue(NewState(Filled(0), Filled(0), fic: true).Tensor("h_demag").ToArray().All(double.IsFinite));
    }

    private static void CheckGradient(Func<NTensor, NTensor> f, NTensor x, double h, string what)
    {
        var g = Autodiff.Grad(f)(x).ToArray();
        Assert.IsTrue(g.All(double.IsFinite), $"{what}: non-finite gradient");
        var xd = x.ToArray();
        double scale = Math.Max(g.Max(Math.Abs), 1e-300);
        for (int k = 0; k < xd.Length; k += Math.Max(1, xd.Length / 13))
        {
            var p = (double[])xd.Clone(); p[k] += h;
            var q = (double[])xd.Clone(); q[k] -= h;
            double fd = (f(NTensor.FromArray(p, x.GetShape())).Item() - f(NTensor.FromArray(q, x.GetShape())).Item()) / (2 * h);
            Assert.AreEqual(fd, g[k], 1e-6 * scale, $"{what}: element {k}");
        }
    }

    [TestMethod]
    [DataRow("exchange")]
    [DataRow("uaniso")]
    [DataRow("demag")]
    [DataRow("iexchange")]
    public void GradientsStayExactWithAnEmptyCell(string term)
    {
        // Cell 0 (a mesh corner) has Ms = 0, cell 8 (x, y interior) has rho = 0: the field's VJP in m and the
        // energy's derivative in rho (linear in each cell's rho, also at rho = 0) match central differences. (A rho = 0
        // cell at a mesh corner would leave its corner node without mass; see docs/errors-core.md for that limit.)
        var ms = WithCell0(0, 8e5);
        var rho = Filled(1);
        rho[8] = 0;
        var state = NewState(ms, rho);
        var m = state.M.Tensor;
        var h = state.Resolve("h_" + term, new[] { "m" });
        var w = NTensor.FromArray(Enumerable.Range(0, m.Size).Select(i => Math.Sin(i)).ToArray(), m.GetShape());
        CheckGradient(x => (h.Invoke(x) * w).Sum(), m, 1e-6, "h_" + term);
        if (term != "iexchange")
        {
            var e = state.Resolve("E_" + term, new[] { "rho" });
            CheckGradient(x => e.Invoke(x), state.Tensor("rho"), 1e-3, "E_" + term + " in rho");
        }
    }

    [TestMethod]
    public void FieldGradientInRhoIsFiniteAtRhoZero()
    {
        var rho = Filled(1);
        rho[5] = 0;
        var state = NewState(Filled(8e5), rho);
        var h = state.Resolve("h_uaniso", new[] { "rho" });
        var w = NTensor.FromArray(Enumerable.Range(0, 60 * 3).Select(i => Math.Cos(i)).ToArray(), new[] { 5, 4, 3, 3 });
        // h is linear in each rho_c through the density and rational through the mass; check at rho_5 = 0 from above.
        var g = Autodiff.Grad(x => (h.Invoke(x) * w).Sum())(state.Tensor("rho")).ToArray();
        Assert.IsTrue(g.All(double.IsFinite));
        var p = (double[])rho.Clone(); p[5] = 1e-7;
        var q = (double[])rho.Clone(); q[5] = 2e-7;
        double Value(double[] r) => (h.Invoke(NTensor.FromArray(r, Cells)) * w).Sum().Item();
        double fd = (Value(q) - Value(p)) / 1e-7;
        Assert.AreEqual(fd, g[5], 1e-4 * Math.Abs(fd) + 1e-9);
    }

    [TestMethod]
    public void NonFiniteOrNegativeMaterialValuesAreRefusedByName()
    {
        var ms = Filled(8e5);
        ms[7] = double.NaN;
        var state = NewState(ms, Filled(1));
        var e = Assert.ThrowsExactly<ArgumentException>(() => state.Tensor("h_exchange"));
        Assert.AreEqual("material__Ms", e.ParamName);
        StringAssert.Contains(e.Message, "NaN in cell 7");
        Assert.ThrowsExactly<ArgumentException>(() => state.Tensor("h_demag"));
        var negative = NewState(WithCell0(-0.5, 8e5), Filled(1));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => negative.Tensor("h_uaniso")).Message, "'material__Ms' is -0.5 in cell 0");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => negative.Tensor("h_demag")).Message, "'material__Ms' is -0.5");
        var rhoNaN = NewState(Filled(8e5), WithCell0(double.NaN, 1));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => rhoNaN.Tensor("h_exchange")).Message, "'rho' is NaN");
        var ku = NewState(Filled(8e5), Filled(1));
        ku.Material["Ku"] = double.PositiveInfinity;
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ku.Tensor("E_uaniso")).Message, "material__Ku");
    }

    [TestMethod]
    public void BadTermArgumentsAreRefused()
    {
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ExchangeField { NGauss = 0 }).Message, "n_gauss");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ExchangeField { NGauss = -3 }).Message, "-3");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new DemagField(double.NaN)).Message, "NaN");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new DemagField(-1)).Message, "-1");
        Assert.ThrowsExactly<ArgumentNullException>(() => new ExternalField(null!));
        Assert.ThrowsExactly<ArgumentException>(() => new LIField("xy"));
        Assert.ThrowsExactly<ArgumentException>(() => new InterlayerExchangeField(1, 1));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new InterlayerExchangeField(-1, 1));
        Assert.ThrowsExactly<ArgumentException>(() => new TotalField());
        var state = NewState(Filled(8e5), Filled(1));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new InterlayerExchangeField(0, 9).Register(state)).Message, "9");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new ExternalField(new[] { 1.0, 2.0 }).Register(state)).Message, "(2,)");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => new TotalField("exchange", "exchnge").Register(state)).Message, "exchnge");
        Assert.ThrowsExactly<ArgumentNullException>(() => new ExchangeField().Register(null!));
        state.Material["iA"] = new CellFunction(state).Fill(1e-3);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => state.Tensor("h_iexchange")).Message, "(4, 3, 2)");
        state.Material["A"] = new[] { 1.0, 2.0 };
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => state.Tensor("h_exchange")).Message, "material__A");
    }
}
