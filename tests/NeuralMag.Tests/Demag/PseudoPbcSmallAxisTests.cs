using NeuralMag.AD;

namespace NeuralMag.Tests.Demag;

using State = NeuralMag.State;

/// <summary>
/// Pseudo-PBC on axes of one or two cells: the kernel builds (components that vanish along such an axis have a
/// round-off spectrum, checked against the tensor's scale), and on a one-cell axis the field equals that of the
/// explicitly repeated magnet.
/// </summary>
[TestClass]
public sealed class PseudoPbcSmallAxisTests
{
    private static readonly double[] Dx = { 2e-9, 3e-9, 2.5e-9 };

    /// <summary>Cell field (FIC) of m(y, z) on n cells; copies along x of the same m when n[0] > 1.</summary>
    private static NTensor CellField(int[] n, Pbc[] pbc)
    {
        var state = new State(new Mesh(n, Dx, pbc: pbc), Device.Cpu, DType.Float64);
        var m = new double[n[0] * n[1] * n[2] * 3];
        for (int i = 0; i < n[0]; i++)
            for (int j = 0; j < n[1]; j++)
                for (int k = 0; k < n[2]; k++)
                {
                    double a = 0.7 * j + 1.3 * k;
                    int o = ((i * n[1] + j) * n[2] + k) * 3;
                    m[o] = Math.Cos(a) * 0.6;
                    m[o + 1] = Math.Sin(a) * 0.6;
                    m[o + 2] = 0.8;
                }
        state["m"] = new VectorCellFunction(state, NTensor.FromArray(m, n.Append(3).ToArray()));
        state.Material["Ms"] = 8e5;
        new DemagField().Register(state);
        return state.Tensor("h_demag");
    }

    [TestMethod]
    [DataRow(2)]
    [DataRow(5)]
    public void OneCellAxisWithImagesEqualsTheRepeatedMagnet(int images)
    {
        var periodic = CellField(new[] { 1, 4, 3 }, new Pbc[] { images, 0, 0 });
        var repeated = CellField(new[] { 2 * images + 1, 4, 3 }, new Pbc[] { 0, 0, 0 });
        var expected = repeated[images].ToArray();
        var actual = periodic[0].ToArray();
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++) Assert.AreEqual(expected[i], actual[i], 1e-9 * scale, $"entry {i}");
    }

    [TestMethod]
    public void TinyPseudoPeriodicAxesMatchUpstream()
    {
        // Upstream's numbers (UpstreamPseudoPbcData); the remaining ~2e-8 is upstream's float32 lumped mass, which
        // DemagField reproduces only up to rounding order.
        foreach (var (cells, axis, images, energy, expected) in UpstreamPseudoPbcData.Cases)
        {
            var pbc = new Pbc[] { 0, 0, 0 };
            pbc[axis] = images;
            var state = new State(new Mesh(cells, Dx, pbc: pbc), Device.Cpu, DType.Float64);
            var nodes = state.Mesh.NodeCounts;
            var m = new double[nodes[0] * nodes[1] * nodes[2] * 3];
            for (int i = 0; i < nodes[0]; i++)
                for (int j = 0; j < nodes[1]; j++)
                    for (int k = 0; k < nodes[2]; k++)
                    {
                        double a = 0.7 * j + 1.3 * k + 0.4 * i;
                        int o = ((i * nodes[1] + j) * nodes[2] + k) * 3;
                        m[o] = 0.6 * Math.Cos(a);
                        m[o + 1] = 0.6 * Math.Sin(a);
                        m[o + 2] = 0.8;
                    }
            state["m"] = new VectorFunction(state, NTensor.FromArray(m, nodes.Append(3).ToArray()));
            state.Material["Ms"] = 8e5;
            new DemagField().Register(state);
            var h = state.Tensor("h_demag").ToArray();
            string what = $"{string.Join("x", cells)}, {images} images on axis {axis}";
            Assert.AreEqual(expected.Length, h.Length, what);
            double scale = expected.Max(Math.Abs);
            for (int i = 0; i < h.Length; i++) Assert.AreEqual(expected[i], h[i], 1e-7 * scale, $"{what}: h entry {i}");
            Assert.AreEqual(energy, state.Tensor("E_demag").Item(), 1e-7 * Math.Abs(energy), what);
        }
    }

    [TestMethod]
    [DataRow(1, 2)]
    [DataRow(2, 2)]
    [DataRow(1, 10)]
    [DataRow(2, 10)]
    public void TinyPseudoPeriodicAxesBuildOnEveryAxis(int cells, int images)
    {
        for (int axis = 0; axis < 3; axis++)
        {
            var n = new[] { 4, 3, 3 };
            n[axis] = cells;
            var pbc = new Pbc[] { 0, 0, 0 };
            pbc[axis] = images;
            var h = CellField(n, pbc).ToArray();
            Assert.IsTrue(h.All(double.IsFinite), $"axis {axis}");
            Assert.IsTrue(h.Max(Math.Abs) > 1e3, $"axis {axis}: a field of the order of Ms");
        }
    }
}
