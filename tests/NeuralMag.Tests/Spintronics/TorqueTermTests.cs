using NeuralMag.AD;

namespace NeuralMag.Tests.Spintronics;

[TestClass]
public sealed class TorqueTermTests
{
    [TestMethod]
    public void WithoutTorqueTermsTheRightHandSideIsThePrecessionDampingTorque()
    {
        var state = SpintronicsSetup.Strip(0.1, cells: 20, x0: 20e-9);
        Assert.AreSame(PrecessionDampingTorque.Function, TorqueTerm.RightHandSide(state));
        Assert.AreSame(LLGSolver.Rhs, PrecessionDampingTorque.Function);
        Assert.AreEqual(0, TorqueTerm.Registered(state).Count);
    }

    [TestMethod]
    public void AZeroCurrentLeavesTheTrajectoryUnchangedBitForBit()
    {
        // dmdt = dmdt_llg + dmdt_zhangli with j = 0: the sum adds exact zeros, so every step repeats the plain LLG's.
        var plain = SpintronicsSetup.Strip(0.1, cells: 20, x0: 20e-9);
        var driven = SpintronicsSetup.Strip(0.1, cells: 20, x0: 20e-9);
        driven["j"] = new[] { 0.0, 0, 0 };
        driven.Material["P"] = 1.0;
        driven.Material["xi"] = 0.05;
        new ZhangLiTorque().Register(driven);
        new ZhangLiTorque().Register(driven); // registering again replaces, not duplicates
        CollectionAssert.AreEqual(new[] { "dmdt_llg", "dmdt_zhangli" }, TorqueTerm.Registered(driven).ToArray());
        var a = new LLGSolver(plain).Solve(2e-11).ToArray();
        var b = new LLGSolver(driven).Solve(2e-11).ToArray();
        CollectionAssert.AreEqual(a, b);
    }

    [TestMethod]
    public void UniformAdvectionOfAUniformMagnetIsZeroAndCellCurrentsAreAccepted()
    {
        // (u · ∇) m vanishes for uniform m whatever u is; a current given per cell takes the same path as a uniform one.
        var state = SpintronicsSetup.Strip(0.1, cells: 20, x0: 20e-9);
        state["m"] = new VectorFunction(state).Fill(new[] { 0.6, 0.8, 0 });
        state["j"] = new VectorCellFunction(state).Fill(new[] { 1e12, 2e11, 0 });
        state.Material["P"] = 0.7;
        state.Material["xi"] = 0.05;
        new ZhangLiTorque().Register(state);
        var torque = state.Tensor("dmdt_zhangli").ToArray();
        Assert.AreEqual(0, torque.Max(Math.Abs), 1e-20);
    }

    [TestMethod]
    public void BadCurrentShapeAndCellMagnetizationAreRefusedWithTheirNames()
    {
        var state = SpintronicsSetup.Strip(0.1, cells: 20, x0: 20e-9);
        state["j"] = new[] { 1.0, 2.0 };
        state.Material["P"] = 1.0;
        state.Material["xi"] = 0.0;
        new ZhangLiTorque().Register(state);
        var e = Assert.ThrowsExactly<ArgumentException>(() => state.Tensor("dmdt"));
        StringAssert.Contains(e.Message, "'j'");
        var fic = new NeuralMag.State(new Mesh(new[] { 4 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        fic["m"] = new VectorCellFunction(fic).Fill(new[] { 1.0, 0, 0 });
        var n = Assert.ThrowsExactly<NotSupportedException>(() => new SlonczewskiTorque().Register(fic));
        StringAssert.Contains(n.Message, "nodal");
        Assert.ThrowsExactly<ArgumentException>(() => new ZhangLiTorque().Register(state, ""));
    }
}
