using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag.Tests.FieldTerms;

/// <summary>
/// The node/cell transfer loops: the 3-vector loops (m and h of demag every evaluation) equal the scalar loop run on
/// each component alone bit for bit, on open and periodic grids of 1 to 3 axes, in float64 and float32; and the gather
/// with unit scale is the adjoint of the cell mean with the corner share 1/2^d as weight,
/// ⟨CellMean(u), v⟩ = ⟨u, NodeGather(v)⟩, to round-off.
/// </summary>
[TestClass]
public sealed class NodeCellTransferTests
{
    public static IEnumerable<object[]> Grids => new[]
    {
        new object[] { new[] { 7 }, new[] { false } },
        new object[] { new[] { 6 }, new[] { true } },
        new object[] { new[] { 5, 4 }, new[] { false, true } },
        new object[] { new[] { 9, 3, 1 }, new[] { false, false, false } },
        new object[] { new[] { 4, 5, 3 }, new[] { true, false, true } },
        new object[] { new[] { 3, 3, 3 }, new[] { true, true, true } },
    };

    private static T[] Random<T>(int n, int seed) where T : System.Numerics.IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => T.CreateTruncating(rng.NextDouble() - 0.3)).ToArray();
    }

    private static T[] Component<T>(T[] v, int i) => Enumerable.Range(0, v.Length / 3).Select(p => v[3 * p + i]).ToArray();

    private static void VectorsEqualScalars<T>(int[] cells, bool[] periodic) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var g = new GridGeometry(cells, periodic, new[] { 2e-9, 3e-9, 1e-9 });
        int nc = g.NumCells, nn = g.NumNodes;
        var node = Random<T>(3 * nn, 1);
        var cell = Random<T>(3 * nc, 2);
        var wc = Random<T>(nc, 3);
        var sn = Random<T>(nn, 4);
        var mean = new T[3 * nc];
        var gather = new T[3 * nn];
        NodeCellTransfer.CellMean(g, node, wc, mean);
        NodeCellTransfer.NodeGather(g, cell, wc, sn, gather);
        for (int i = 0; i < 3; i++)
        {
            var meanI = new T[nc];
            var gatherI = new T[nn];
            NodeCellTransfer.CellMean(g, Component(node, i), wc, meanI, 1);
            NodeCellTransfer.NodeGather(g, Component(cell, i), wc, sn, gatherI, 1);
            CollectionAssert.AreEqual(meanI, Component(mean, i), $"cell mean, component {i}");
            CollectionAssert.AreEqual(gatherI, Component(gather, i), $"node gather, component {i}");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Grids))]
    public void VectorLoopsEqualTheScalarLoopPerComponent(int[] cells, bool[] periodic)
    {
        VectorsEqualScalars<double>(cells, periodic);
        VectorsEqualScalars<float>(cells, periodic);
    }

    [TestMethod]
    [DynamicData(nameof(Grids))]
    public void TheGatherIsTheAdjointOfTheCellMean(int[] cells, bool[] periodic)
    {
        var g = new GridGeometry(cells, periodic, new[] { 2e-9, 3e-9, 1e-9 });
        int nc = g.NumCells, nn = g.NumNodes;
        var u = Random<double>(3 * nn, 5);
        var v = Random<double>(3 * nc, 6);
        var ones = Enumerable.Repeat(1.0, nc).ToArray();
        var share = Enumerable.Repeat(1.0 / g.Corners, nc).ToArray();
        var mean = new double[3 * nc];
        var gather = new double[3 * nn];
        NodeCellTransfer.CellMean(g, u, ones, mean);
        NodeCellTransfer.NodeGather(g, v, share, Enumerable.Repeat(1.0, nn).ToArray(), gather);
        double left = mean.Zip(v, (a, b) => a * b).Sum(), right = u.Zip(gather, (a, b) => a * b).Sum();
        Assert.AreEqual(left, right, 1e-13 * Math.Max(1, Math.Abs(left)), $"<Mu, v> = {left}, <u, M^T v> = {right}");
        Assert.AreNotEqual(0.0, left);
    }
}
