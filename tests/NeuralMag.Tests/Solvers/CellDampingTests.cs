using NeuralMag.AD;
using NeuralMag.Testing;

namespace NeuralMag.Tests.Solvers;

/// <summary>
/// material.alpha as a cell function (e.g. an absorbing boundary layer): the precession/damping torque takes at each
/// node the mean damping of the adjacent cells; a uniform cell function gives the scalar case, and the torque is
/// differentiable in the cell values.
/// </summary>
[TestClass]
public sealed class CellDampingTests
{
    private static NeuralMag.State NewState(int[] n, Pbc[]? pbc = null)
    {
        var state = new NeuralMag.State(new Mesh(n, new[] { 2e-9, 2e-9, 2e-9 }, pbc: pbc), Device.Cpu, DType.Float64);
        var rng = new Random(2);
        var shape = state.Mesh.NodeCounts.Append(3).ToArray();
        var raw = NTensor.FromArray(Enumerable.Range(0, Shapes.Product(shape)).Select(_ => rng.NextDouble() - 0.5).ToArray(), shape);
        state["m"] = new VectorFunction(state, raw / raw.Norm(-1).Unsqueeze(-1));
        state["h"] = new VectorFunction(state, NTensor.FromArray(Enumerable.Range(0, Shapes.Product(shape)).Select(_ => 1e5 * (rng.NextDouble() - 0.5)).ToArray(), shape));
        return state;
    }

    [TestMethod]
    public void UniformCellDampingIsTheScalarCase()
    {
        var state = NewState(new[] { 3, 2, 2 });
        state.Material["alpha"] = 0.1;
        var withScalar = PrecessionDampingTorque.Of(state.Tensor("m"), state.Tensor("h"), state.Tensor("material__alpha")).ToArray();
        state.Material["alpha"] = new CellFunction(state).Fill(0.1);
        var withCells = PrecessionDampingTorque.Of(state.Tensor("m"), state.Tensor("h"), state.Tensor("material__alpha")).ToArray();
        for (int i = 0; i < withScalar.Length; i++) Assert.AreEqual(withScalar[i], withCells[i], 1e-14 * Math.Abs(withScalar[i]) + 1e-300, $"entry {i}");
        // An LLG step runs with it.
        new LLGSolver(state).Step(1e-13);
    }

    [TestMethod]
    public void EachNodeTakesTheMeanDampingOfItsCells()
    {
        // 1D, 3 cells with alpha 0.1, 0.3, 0.5: open, the 4 nodes get 0.1, 0.2, 0.4, 0.5; periodic, cells and nodes
        // coincide in shape and alpha is used per node as given.
        foreach (var (pbc, expected) in new[] { (Pbc.Open, new[] { 0.1, 0.2, 0.4, 0.5 }), (Pbc.True, new[] { 0.1, 0.3, 0.5 }) })
        {
            var state = NewState(new[] { 3 }, new[] { pbc });
            state.Material["alpha"] = new CellFunction(state, tensor: NTensor.FromArray(new[] { 0.1, 0.3, 0.5 }, new[] { 3 }));
            var m = state.Tensor("m");
            var h = state.Tensor("h");
            var got = PrecessionDampingTorque.Of(m, h, state.Tensor("material__alpha")).ToArray();
            var perNode = PrecessionDampingTorque.Of(m, h, NTensor.FromArray(expected, new[] { expected.Length, 1 })).ToArray();
            for (int i = 0; i < got.Length; i++) Assert.AreEqual(perNode[i], got[i], 1e-12 * Math.Abs(perNode[i]) + 1e-300, $"{pbc}, entry {i}");
        }
    }

    [TestMethod]
    public void TheTorqueIsDifferentiableInTheCellDampingAndBadShapesAreRefused()
    {
        var state = NewState(new[] { 3, 2, 1 });
        var m = state.Tensor("m");
        var h = state.Tensor("h");
        var w = NTensor.FromArray(Enumerable.Range(0, m.Size).Select(i => Math.Cos(0.4 * i)).ToArray(), m.GetShape());
        var alpha = NTensor.FromArray(new[] { 0.05, 0.1, 0.2, 0.3, 0.15, 0.25 }, new[] { 3, 2, 1 });
        NeuralMagAssert.GradientMatchesFiniteDifferences(a => (PrecessionDampingTorque.Of(m, h, a) * w).Sum() * 1e-9, alpha);
        var bad = Assert.ThrowsExactly<ArgumentException>(() => PrecessionDampingTorque.Of(m, h, NTensor.Full(new[] { 2, 2, 1 }, 0.1)));
        StringAssert.Contains(bad.Message, "material.alpha has shape (2, 2, 1)");
    }
}
