using NeuralMag.AD;

namespace NeuralMag.Tests.FieldTerms;

using State = NeuralMag.State;

[TestClass]
public sealed class LIFieldTests
{
    [TestMethod]
    public void BulkDmiIsTheSumOfThreeLifshitzInvariants()
    {
        var state = new State(new Mesh(new[] { 4, 3, 2 }, new[] { 2e-9, 3e-9, 2.5e-9 }), Device.Cpu, DType.Float64);
        var rng = new Random(11);
        var raw = NTensor.FromArray(Enumerable.Range(0, 5 * 4 * 3 * 3).Select(_ => rng.NextDouble() - 0.5).ToArray(), new[] { 5, 4, 3, 3 });
        state["m"] = new VectorFunction(state, raw / raw.Norm(-1).Unsqueeze(-1));
        state.Material["Ms"] = 8e5;
        foreach (var name in new[] { "Db", "Dzyx", "Dxzy", "Dyxz" }) state.Material[name] = 3e-3;
        new BulkDMIField().Register(state, "bdmi");
        foreach (var li in new[] { "zyx", "xzy", "yxz" }) new LIField(li).Register(state);
        var sumH = state.Tensor("h_LI_zyx") + state.Tensor("h_LI_xzy") + state.Tensor("h_LI_yxz");
        double scale = state.Tensor("h_bdmi").Abs().Max().Item();
        Assert.AreEqual(0.0, (sumH - state.Tensor("h_bdmi")).Abs().Max().Item() / scale, 1e-13);
        double e = state.Tensor("E_LI_zyx").Item() + state.Tensor("E_LI_xzy").Item() + state.Tensor("E_LI_yxz").Item();
        Assert.AreEqual(state.Tensor("E_bdmi").Item(), e, 1e-13 * Math.Abs(e));
    }

    [TestMethod]
    public void MatchesUpstreamForAnInvariantWithoutBulkCounterpart()
    {
        // Numbers computed with upstream NeuralMag (torch, float64) for this m on 3x2x2 cells, material.Dxzy = 1.5e-3.
        var m = new[] { 0.2504764993122998,0.7953343557989501,0.5520007117550889,-0.5441849590291512,-0.39573998335147376,0.7397652302882424,-0.7490819939170578,0.4863746698292344,0.4497953389462238,-0.10753086245128637,-0.6605352212902775,-0.7430547322071818,-0.9756460952535185,-0.21860236430755617,0.018102572626801358,0.09256296908384708,0.857331730226767,0.5063737760792524,0.2110749936303509,0.8447201748571378,-0.4918283981769187,-0.5860940748719178,0.194117513935908,-0.7866461251308453,-0.9968522277106464,0.031964943501208536,-0.07255259123757214,0.9547206126268281,0.29574424675918803,0.03230932271488289,-0.005688391557859691,-0.45936488343831494,-0.8882294444934754,-0.6541243932191845,0.408367262951363,-0.6366768856690542,-0.21383698093363554,-0.8134061815219628,0.5409659226301116,-0.6126925455296721,-0.41208143530424884,0.6743861915326861,0.02615489576299882,0.9273674629390966,0.37323653372831816,0.5074231618362794,-0.8573593889785442,0.08635168187366225,0.019602810497209126,0.9365767007282749,-0.3499140086843478,0.21100179724481502,-0.9471872396722951,-0.24148410829997913,-0.35130500485621585,-0.6944170923194976,0.627988610929775,-0.24022941377422946,0.9540080567889956,0.1793277902037906,0.42461422520378966,0.5577517672304458,0.7131729985816204,-0.7942003111626348,-0.13574294564141867,-0.5923003616897131,-0.15592445511458672,-0.6449497104235067,0.7481493402535715,-0.734491247990959,0.44267296798611544,-0.5143571230565852,0.6807545229905988,0.29520234898227843,-0.6703945499354744,0.49796610793491775,0.6420909804481614,0.5828798574108294,0.14693578120929468,-0.7472067611793917,-0.6481449932293065,0.7975101933908363,0.09752361042807282,-0.5953710077311328,0.9249697229640198,0.340963911696356,0.1678529788850462,-0.4098777385221141,-0.29501907035677005,-0.8631129634004027,-0.7742471066447277,0.630568066671151,-0.05408633049925183,0.15290074323459366,-0.5708249898773036,0.806709485285679,-0.6982810766268086,-0.1879739201227286,-0.6907020655670568,-0.6075070306574728,0.7525587213169812,0.25414676600635805,-0.1886964580851963,0.0624086048215625,0.9800504133718467,-0.6056629676151074,0.35102470257753005,0.7141106551788858 };
        var state = new State(new Mesh(new[] { 3, 2, 2 }, new[] { 1e-9, 2e-9, 1.5e-9 }), Device.Cpu, DType.Float64);
        state["m"] = new VectorFunction(state, NTensor.FromArray(m, new[] { 4, 3, 3, 3 }));
        state.Material["Ms"] = 8e5;
        state.Material["Dxzy"] = 1.5e-3;
        new LIField("xzy").Register(state, "li");
        var h = state.Tensor("h_li");
        Assert.AreEqual(6.094208303724051e-22, state.Tensor("E_li").Item(), 1e-10 * 6.1e-22);
        Assert.AreEqual(-35077.75303213634, h[1, 1, 1, 0].Item(), 1e-10 * 868186.6344380802);
        Assert.AreEqual(868186.6344380802, h.Abs().Max().Item(), 1e-10 * 868186.6344380802);
    }

    [TestMethod]
    public void InvalidSelectionsAreRejected()
    {
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new LIField("xy")).Message, "length 3");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new LIField("axz")).Message, "invalid character 'a'");
        Assert.AreEqual("LI_yzx", new LIField("yzx").DefaultName);
    }
}
