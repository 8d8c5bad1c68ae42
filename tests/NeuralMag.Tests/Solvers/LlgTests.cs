using NeuralMag.AD;
using NeuralMag.IO;

namespace NeuralMag.Tests.Solvers;

using State = NeuralMag.State;

[TestClass]
public sealed class LlgTests
{
    [TestMethod]
    public void DormandPrinceIntegratesExponentialDecayToTolerance()
    {
        // y' = -2 y, y(0) = 1 -> y(1) = e^-2; the local error control keeps the global error near rtol.
        var dp = new DormandPrince((t, y) => y * -2.0, rtol: 1e-8, atol: 1e-10);
        var y = dp.Integrate(NTensor.FromArray(new[] { 1.0, 0.5 }), 0, 1).ToArray();
        Assert.AreEqual(Math.Exp(-2), y[0], 1e-8);
        Assert.AreEqual(0.5 * Math.Exp(-2), y[1], 1e-8);
        Assert.IsTrue(dp.AcceptedSteps > 3 && dp.Evaluations < 400, $"steps {dp.AcceptedSteps}, evaluations {dp.Evaluations}");
    }

    [TestMethod]
    public void DormandPrinceRejectsAnOverflowingTrialStepAndShrinksIt()
    {
        // y' = -y, but the 6th evaluation (a stage of the second step) returns NaN, as a trial step that overflows on a
        // stiff problem would: that step is rejected and retried smaller, and y(2) = e^-2 is still reached.
        int calls = 0;
        var dp = new DormandPrince((t, y) => ++calls == 6 ? NTensor.FullLike(y, double.NaN) : -y, rtol: 1e-8, atol: 1e-10);
        var y = dp.Integrate(NTensor.FromArray(new[] { 1.0 }), 0, 2).ToArray();
        Assert.AreEqual(Math.Exp(-2), y[0], 1e-7);
        Assert.IsTrue(dp.RejectedSteps >= 1, "the NaN step was rejected");
        // A right-hand side that is not finite at an accepted state is an error, not a reason to shrink forever.
        var broken = new DormandPrince((t, y) => y * double.NaN);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => broken.Integrate(NTensor.FromArray(new[] { 1.0 }), 0, 1));
        StringAssert.Contains(e.Message, "not finite");
    }

    [TestMethod]
    public void UndampedPrecessionHasTheLarmorFrequency()
    {
        // A single macrospin in a field h along z precesses at omega = gamma h (alpha = 0).
        var state = new State(new Mesh(new[] { 1, 1, 1 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = 8e5;
        state.Material["alpha"] = 0.0;
        state["m"] = new VectorFunction(state).Fill(new[] { 1.0, 0, 0 });
        const double h = 1e5;
        new ExternalField(new[] { 0, 0, h }).Register(state, "");
        var llg = new LLGSolver(state, rtol: 1e-9, atol: 1e-9);
        double period = 2 * Math.PI / (Constants.Gamma * h);
        llg.Step(period / 4);
        var m = state.M.Tensor[0, 0, 0].ToArray();
        // dm/dt = -gamma m x h: starting along +x the moment turns towards +y.
        Assert.AreEqual(0.0, m[0], 1e-6);
        Assert.AreEqual(1.0, m[1], 1e-6);
        Assert.AreEqual(0.0, m[2], 1e-12);
        Assert.AreEqual(period / 4, state.T, 1e-25);
    }

    [TestMethod]
    public void RelaxAlignsAMacrospinWithTheField()
    {
        var state = new State(new Mesh(new[] { 1, 1, 1 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        state.Material["Ms"] = 8e5;
        state.Material["alpha"] = 0.02;
        state["m"] = new VectorFunction(state).Fill(new[] { 1.0, 0, 0 });
        new ExternalField(new[] { 0, 0, 1e5 }).Register(state, "");
        new LLGSolver(state).Relax();
        Assert.AreEqual(1.0, state.M.Tensor[0, 0, 0, 2].Item(), 1e-3);
    }

    [TestMethod]
    public void StandardProblem4Field1FollowsOommf()
    {
        // Upstream's test: from the relaxed s-state, |<m_y> - OOMMF| < 0.04 every 10 ps. CI runs 20 ps; NM_FULL=1 runs 0.3 ns.
        var (state, Oommf) = StandardProblem4Setup.Create(1);
        var llg = new LLGSolver(state);
        int steps = Config.Full ? 30 : 2;
        for (int i = 0; i < steps; i++)
        {
            llg.Step(1e-11);
            double my = state.M.Avg().ToArray()[1];
            Assert.IsTrue(Math.Abs(my - Oommf(state.T)) < 0.04, $"t = {state.T:g} s: m_y = {my}, OOMMF {Oommf(state.T)}");
        }
        // The field switch has visibly moved the magnetization (m_y rises from 0.13).
        Assert.IsTrue(state.M.Avg().ToArray()[1] > 0.15, "m_y should have risen from its initial 0.133");
    }
}

[TestClass]
public sealed class VtiTests
{
    [TestMethod]
    public void ReadsTheSharedSStateAndRoundTrips()
    {
        var sState = ReferenceCase.FindFile(Path.Combine("oommf", "s_state_init.vti"));
        Assert.IsNotNull(sState, "oommf/s_state_init.vti not found in any reference-data root");
        var m = Vti.ReadTensor(sState, "m");
        CollectionAssert.AreEqual(new[] { 101, 26, 2, 3 }, m.GetShape());
        var norms = m.Norm(-1).ToArray();
        Assert.IsTrue(norms.All(n => Math.Abs(n - 1) < 1e-4), "s-state is made of unit vectors");
        var file = Path.Combine(Path.GetTempPath(), $"nm_vti_{Guid.NewGuid():N}.vti");
        try
        {
            var cellValues = Enumerable.Range(0, 100 * 25).Select(i => (double)i).ToArray();
            Vti.Write(file, new[] { 100, 25, 1 }, new[] { 5e-9, 5e-9, 3e-9 }, new double[3],
                new[] { ("m", m.ToArray(), 3, true), ("id", cellValues, 1, false) });
            var back = Vti.Read(file);
            CollectionAssert.AreEqual(m.ToArray(), back.Single(f => f.Name == "m").Values, "bit-identical round trip");
            CollectionAssert.AreEqual(cellValues, back.Single(f => f.Name == "id").Values);
        }
        finally { File.Delete(file); }
    }
}
