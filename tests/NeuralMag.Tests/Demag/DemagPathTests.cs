using NeuralMag.AD;

namespace NeuralMag.Tests.Demag;

using State = NeuralMag.State;

/// <summary>The demag field off the tape (cached weights, reused work arrays) against the recorded field, and the convolution of a localized source.</summary>
[TestClass]
public sealed class DemagPathTests
{
    [TestMethod]
    [DataRow("3d")]
    [DataRow("3d-images")]
    [DataRow("2d")]
    [DataRow("1d")]
    public void TheForwardPathEqualsTheRecordedPath(string grid)
    {
        (int[] n, Pbc[] pbc) = grid switch
        {
            "3d" => (new[] { 5, 4, 3 }, new Pbc[] { false, false, false }),
            "3d-images" => (new[] { 5, 4, 2 }, new Pbc[] { 2, false, false }),
            "2d" => (new[] { 6, 5 }, new Pbc[] { false, false }),
            _ => (new[] { 7 }, new Pbc[] { false }),
        };
        var state = new State(new Mesh(n, new[] { 2e-9, 3e-9, 2.5e-9 }, pbc: pbc), Device.Cpu, DType.Float64);
        var rng = new Random(2);
        var nodes = state.Mesh.NodeCounts;
        int nn = nodes.Aggregate(1, (a, b) => a * b), nc = n.Aggregate(1, (a, b) => a * b);
        var raw = NTensor.FromArray(Enumerable.Range(0, nn * 3).Select(_ => rng.NextDouble() - 0.5).ToArray(), nodes.Append(3).ToArray());
        state["m"] = new VectorFunction(state, raw / raw.Norm(-1).Unsqueeze(-1));
        state.Material["Ms"] = new CellFunction(state, tensor: NTensor.FromArray(Enumerable.Range(0, nc).Select(_ => 4e5 + 4e5 * rng.NextDouble()).ToArray(), n));
        state["rho"] = new CellFunction(state, tensor: NTensor.FromArray(Enumerable.Range(0, nc).Select(c => c % 4 == 0 ? state.Eps : 1.0).ToArray(), n));
        new DemagField().Register(state, "demag");
        var h = state.Resolve("h_demag", new[] { "m" });
        var m = state.M.Tensor;
        var plain = h.Invoke(m).ToArray();
        double[] recorded;
        using (var tape = new Tape())
            recorded = h.Invoke(tape.Watch(m)).ToArray();
        double scale = recorded.Max(Math.Abs);
        Assert.IsTrue(scale > 0);
        for (int i = 0; i < plain.Length; i++) Assert.AreEqual(recorded[i], plain[i], 1e-14 * scale, $"element {i}");
    }

    /// <summary>
    /// A source that is zero outside a few slabs of the first transformed axis (its zero slabs are skipped by the
    /// forward transforms) convolves like any other: by linearity N*S = N*D - N*(D - S) with a dense D, whose
    /// transforms take the full path.
    /// </summary>
    [TestMethod]
    [DataRow(new[] { 9, 4, 3 }, 4, 6)]
    [DataRow(new[] { 9, 4, 3 }, 0, 2)]
    [DataRow(new[] { 9, 4, 3 }, 7, 9)]
    [DataRow(new[] { 1, 6, 5 }, 2, 3)]
    public void ALocalizedSourceConvolvesLikeADenseOne(int[] n, int from, int to)
    {
        var kernel = new NeuralMag.Kernels.Demag.DemagKernel(n, new[] { 2e-9, 3e-9, 2.5e-9 }, new[] { 0, 0, 0 });
        int axis = n[0] > 1 ? 0 : 1, inner = 3 * n.Skip(axis + 1).Aggregate(1, (a, b) => a * b);
        var rng = new Random(4);
        var dense = Enumerable.Range(0, n.Aggregate(1, (a, b) => a * b) * 3).Select(_ => rng.NextDouble() + 0.5).ToArray();
        var local = dense.Select((v, i) => i / inner >= from && i / inner < to && i % 5 != 0 ? v : 0).ToArray();
        var rest = dense.Zip(local, (d, l) => d - l).ToArray();
        var h = NeuralMag.Kernels.Demag.DemagConvolution.Apply(kernel, local);
        var hd = NeuralMag.Kernels.Demag.DemagConvolution.Apply(kernel, dense);
        var hr = NeuralMag.Kernels.Demag.DemagConvolution.Apply(kernel, rest);
        double scale = hd.Max(Math.Abs);
        for (int i = 0; i < h.Length; i++) Assert.AreEqual(hd[i] - hr[i], h[i], 1e-13 * scale, $"element {i}");
    }
}
