using System.Globalization;
using NeuralMag.AD;
using NeuralMag.Testing;

namespace NeuralMag.Tests.State;

/// <summary>
/// Function.ToCell / ToNode: against upstream NeuralMag's to_cell / to_node / to_node(weight) on an open 3D mesh, a
/// periodic 1D mesh and a 2D mesh periodic along y (upstream_projections.txt, float64, round-off tolerance), against
/// exact properties of the lumped projection, and gradients against finite differences.
/// </summary>
[TestClass]
public sealed class FunctionProjectionTests
{
    private sealed record Case(int[] N, Pbc[] Pbc, Dictionary<string, double[]> Values);

    private static List<Case> UpstreamCases()
    {
        using var stream = typeof(FunctionProjectionTests).Assembly.GetManifestResourceStream("upstream_projections.txt")
            ?? throw new InvalidOperationException("embedded resource upstream_projections.txt missing");
        using var reader = new StreamReader(stream);
        var cases = new List<Case>();
        string? line;
        while ((line = reader.ReadLine()) != null)
        {
            if (line.StartsWith('#') || line.Length == 0) continue;
            if (line.StartsWith("CASE "))
            {
                // "CASE (3, 2, 2) (0, 0, 0)"
                var groups = line[5..].Split(')', StringSplitOptions.RemoveEmptyEntries)
                    .Select(g => g.Trim(' ', '(', ',').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray())
                    .ToArray();
                cases.Add(new Case(groups[0], groups[1].Select(p => (Pbc)p).ToArray(), new()));
                continue;
            }
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            cases[^1].Values[parts[0]] = parts.Skip(1).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        }
        return cases;
    }

    [TestMethod]
    public void MatchesUpstream()
    {
        var cases = UpstreamCases();
        Assert.AreEqual(3, cases.Count);
        foreach (var c in cases)
        {
            var state = new NeuralMag.State(new Mesh(c.N, new[] { 1e-9, 2e-9, 3e-9 }, pbc: c.Pbc));
            var f = new VectorFunction(state);
            f.Tensor = state.Tensor(c.Values["f"], f.TensorShape);
            var g = new VectorCellFunction(state);
            g.Tensor = state.Tensor(c.Values["g"], g.TensorShape);
            var w = new CellFunction(state);
            w.Tensor = state.Tensor(c.Values["w"], w.TensorShape);
            var label = $"mesh ({string.Join(", ", c.N)}) pbc ({string.Join(", ", c.Pbc)})";
            Close(c.Values["fc"], f.ToCell().Tensor.ToArray(), 1e-14, label + " to_cell");
            // Upstream divides by a lumped mass rounded to float32: float32(V/2^d)/(V/2^d) - 1 = 2.7e-8 for this dx,
            // exactly the relative difference seen; our mass stays float64. Hence 5e-8 for the cells-to-nodes rows.
            Close(c.Values["gn"], g.ToNode().Tensor.ToArray(), 5e-8, label + " to_node");
            Close(c.Values["gnw"], g.ToNode(w).Tensor.ToArray(), 5e-8, label + " to_node(w)");
        }
    }

    private static void Close(double[] expected, double[] actual, double rel, string label)
    {
        Assert.AreEqual(expected.Length, actual.Length, label);
        for (int i = 0; i < expected.Length; i++)
            Assert.AreEqual(expected[i], actual[i], rel * Math.Abs(expected[i]) + 1e-300, $"{label}, entry {i}");
    }

    [TestMethod]
    public void ToCellOfALinearFieldIsItsValueAtTheCellCentre()
    {
        var state = new NeuralMag.State(new Mesh(new[] { 4, 3, 2 }, new[] { 1e-9, 1e-9, 1e-9 }));
        var nodes = state.Mesh.NodeCounts;
        var values = new double[nodes[0] * nodes[1] * nodes[2]];
        for (int i = 0; i < nodes[0]; i++)
            for (int j = 0; j < nodes[1]; j++)
                for (int k = 0; k < nodes[2]; k++) values[(i * nodes[1] + j) * nodes[2] + k] = 1 + 2 * i - 3 * j + 0.5 * k;
        var f = new Function(state, tensor: state.Tensor(values, nodes));
        var cell = f.ToCell();
        Assert.AreEqual("ccc", cell.Spaces);
        var got = cell.Tensor.ToArray();
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 2; k++)
                    Assert.AreEqual(1 + 2 * (i + 0.5) - 3 * (j + 0.5) + 0.5 * (k + 0.5), got[(i * 3 + j) * 2 + k], 1e-13);
        // A cell function is its own projection, and back on the nodes a linear field is exact at interior nodes.
        Assert.AreSame(cell, cell.ToCell());
        var back = cell.ToNode().Tensor.ToArray();
        Assert.AreEqual(values[(1 * nodes[1] + 1) * nodes[2] + 1], back[(1 * nodes[1] + 1) * nodes[2] + 1], 1e-13);
    }

    [TestMethod]
    public void WeightedToNodeIsTheWeightedMeanAndZeroWhereAllWeightsVanish()
    {
        // 1D, 3 cells: node 1 between cells 0 and 1, node 3 only touches cell 2 (weight 0 there).
        var state = new NeuralMag.State(new Mesh(new[] { 3 }, new[] { 1e-9, 1e-9, 1e-9 }));
        var f = new CellFunction(state, tensor: state.Tensor(new[] { 2.0, 6.0, 5.0 }, new[] { 3 }));
        var w = new CellFunction(state, tensor: state.Tensor(new[] { 1.0, 3.0, 0.0 }, new[] { 3 }));
        CollectionAssert.AreEqual(new[] { 2.0, 5.0, 6.0, 0.0 }, f.ToNode(w).Tensor.ToArray());
    }

    [TestMethod]
    public void GradientsMatchFiniteDifferences()
    {
        var state = new NeuralMag.State(new Mesh(new[] { 3, 2, 2 }, new[] { 1e-9, 2e-9, 1e-9 }, pbc: new Pbc[] { 0, 1, 0 }));
        var rng = new Random(5);
        var g = new VectorCellFunction(state);
        var gShape = g.TensorShape;
        var w = new CellFunction(state);
        var fNode = new VectorFunction(state);
        NTensor Random(int[] shape, double offset) =>
            state.Tensor(Enumerable.Range(0, Shapes.Product(shape)).Select(_ => offset + rng.NextDouble()).ToArray(), shape);
        var probeNode = Random(fNode.TensorShape, -0.5);
        var probeCell = Random(gShape, -0.5);
        NeuralMagAssert.GradientMatchesFiniteDifferences((NTensor gv, NTensor wv) =>
        {
            var cells = new VectorCellFunction(state, tensor: gv);
            var weight = new CellFunction(state, tensor: wv);
            return (cells.ToNode(weight).Tensor * probeNode).Sum();
        }, Random(gShape, 0), Random(w.TensorShape, 0.2));
        NeuralMagAssert.GradientMatchesFiniteDifferences((NTensor fv) =>
            (new VectorFunction(state, tensor: fv).ToCell().Tensor * probeCell).Sum(), Random(fNode.TensorShape, 0));
    }

    [TestMethod]
    public void BadInputIsRefused()
    {
        var state = StateFixture.Create();
        var mixed = new Function(state, "ncn");
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => mixed.ToCell());
        StringAssert.Contains(e.Message, "'ncn'");
        var cells = new VectorCellFunction(state);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => cells.ToNode(new VectorCellFunction(state, name: "axis")));
        StringAssert.Contains(ex.Message, "'axis'");
        Assert.AreEqual("weight", ex.ParamName);
        var other = StateFixture.Create();
        Assert.ThrowsExactly<ArgumentException>(() => cells.ToNode(new CellFunction(other)));
    }
}
