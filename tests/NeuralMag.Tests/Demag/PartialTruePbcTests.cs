using NeuralMag.AD;

namespace NeuralMag.Tests.Demag;

using State = NeuralMag.State;

/// <summary>
/// True PBC for demag is the Fourier-space Poisson solve, which needs periodicity on every axis: a mesh that is truly
/// periodic on some axes only is refused when the DemagField registers, with each axis' setting in the message.
/// </summary>
[TestClass]
public sealed class PartialTruePbcTests
{
    private static ArgumentException Register(int[] n, Pbc[] pbc)
    {
        var state = new State(new Mesh(n, new[] { 1e-9, 1e-9, 1e-9 }, pbc: pbc), Device.Cpu, DType.Float64);
        state["m"] = new VectorFunction(state).Fill(new[] { 0.0, 0, 1 });
        state.Material["Ms"] = 8e5;
        return Assert.ThrowsExactly<ArgumentException>(() => new DemagField().Register(state));
    }

    [TestMethod]
    public void TrueOnTwoOfThreeAxesIsRefused()
    {
        var e = Register(new[] { 4, 4, 4 }, new Pbc[] { true, true, 0 });
        Assert.AreEqual("state", e.ParamName);
        StringAssert.Contains(e.Message, "partial true PBC");
        StringAssert.Contains(e.Message, "(x = true, y = true, z = open)");
        StringAssert.Contains(e.Message, "all three axes truly periodic");
    }

    [TestMethod]
    public void TrueBesidePseudoIsRefused()
    {
        var e = Register(new[] { 4, 4, 4 }, new Pbc[] { true, 2, true });
        StringAssert.Contains(e.Message, "(x = true, y = 2 images, z = true)");
    }

    [TestMethod]
    public void TwoDimensionalMeshWithOneTrueAxisIsRefused()
    {
        var e = Register(new[] { 4, 4 }, new Pbc[] { true, 0 });
        StringAssert.Contains(e.Message, "partial true PBC");
        StringAssert.Contains(e.Message, "(x = true, y = open)");
    }

    [TestMethod]
    public void AllTrueOnThreeAxesAndPseudoMixesRegister()
    {
        foreach (var pbc in new[] { new Pbc[] { true, true, true }, new Pbc[] { 2, 0, 1 } })
        {
            var state = new State(new Mesh(new[] { 3, 3, 3 }, new[] { 1e-9, 1e-9, 1e-9 }, pbc: pbc), Device.Cpu, DType.Float64);
            state["m"] = new VectorFunction(state).Fill(new[] { 0.0, 0, 1 });
            state.Material["Ms"] = 8e5;
            new DemagField().Register(state);
            Assert.IsTrue(state.Tensor("h_demag").ToArray().All(double.IsFinite), string.Join(", ", pbc));
        }
    }
}
