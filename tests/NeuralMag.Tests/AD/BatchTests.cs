using NeuralMag.AD;

namespace NeuralMag.Tests.AD;

/// <summary>The batch axis convention (NeuralMag.AD.Batch) and the leading-axis join it stacks members with.</summary>
[TestClass]
public sealed class BatchTests
{
    private static NTensor Ramp(params int[] shape)
    {
        int n = Shapes.Product(shape);
        return NTensor.FromArray(Enumerable.Range(0, n).Select(i => Math.Sin(0.37 * i + 0.1)).ToArray(), shape);
    }

    [TestMethod]
    public void MembersTellSharedFromPerMemberValuesAndNameTheArgument()
    {
        int[] cells = { 4, 3, 2 };
        Assert.AreEqual(0, Batch.Members(NTensor.Scalar(1), cells, "Ms"));
        Assert.AreEqual(0, Batch.Members(Ramp(4, 3, 2), cells, "Ms"));
        Assert.AreEqual(5, Batch.Members(Ramp(5, 4, 3, 2), cells, "Ms"));
        Assert.AreEqual(5, Batch.Members(Ramp(5, 1, 1, 1), cells, "Ms", 5));
        var wrongCount = Assert.ThrowsExactly<ArgumentException>(() => Batch.Members(Ramp(3, 4, 3, 2), cells, "Ms", 5));
        StringAssert.Contains(wrongCount.Message, "'Ms' has 3 members");
        var wrongShape = Assert.ThrowsExactly<ArgumentException>(() => Batch.Members(Ramp(5, 4, 2, 2), cells, "Ms"));
        StringAssert.Contains(wrongShape.Message, "(5, 4, 2, 2)");
    }

    [TestMethod]
    public void ContiguousBlocksAndLeadingRepeatsGatherTheSameValuesAsTheStridedPath()
    {
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var x = NTensor.FromArray(Enumerable.Range(0, 24).Select(i => i * 0.5).ToArray(), new[] { 4, 2, 3 }, dtype);
            // A member block (contiguous) and a non-contiguous slice, against the values picked by hand.
            CollectionAssert.AreEqual(Enumerable.Range(12, 6).Select(i => i * 0.5).ToArray(), x.Slice(0, 2, 3).ToArray());
            CollectionAssert.AreEqual(new[] { 0.0, 1.5, 3.0, 4.5, 6.0, 7.5, 9.0, 10.5 }, x.Slice(2, 0, 1).ToArray());
            // A shared value repeated along a new leading axis, and a broadcast that is not a leading repeat.
            var shared = x.Slice(0, 1, 2).Squeeze(0);
            var repeated = shared.Expand(3, 2, 3).ToArray();
            for (int r = 0; r < 3; r++) CollectionAssert.AreEqual(shared.ToArray(), repeated.Skip(6 * r).Take(6).ToArray(), $"{dtype} repeat {r}");
            CollectionAssert.AreEqual(new[] { 3.0, 3.0, 3.0, 4.5, 4.5, 4.5 }, x.Slice(0, 1, 2).Slice(2, 0, 1).Squeeze(0).Expand(2, 3).ToArray());
        }
    }

    [TestMethod]
    public void LeadingConcatJoinsBlocksAndItsVjpSplitsThem()
    {
        var a = Ramp(2, 3);
        var b = Ramp(1, 3) * 2.0;
        var joined = NTensor.Concat(0, a, b);
        CollectionAssert.AreEqual(a.ToArray().Concat(b.ToArray()).ToArray(), joined.ToArray());
        var weights = Ramp(3, 3);
        var (_, pullback) = Autodiff.Vjp(xs => (NTensor.Concat(0, xs[0], xs[1]) * weights).Sum(), a, b);
        var g = pullback(NTensor.Scalar(1));
        CollectionAssert.AreEqual(weights.Slice(0, 0, 2).ToArray(), g[0].ToArray());
        CollectionAssert.AreEqual(weights.Slice(0, 2, 3).ToArray(), g[1].ToArray());
    }

    [TestMethod]
    public void MapRunsEachMemberAloneSharedArgumentsBroadcastAndGradientsFlowPerMember()
    {
        int[] member = { 4, 3 };
        var x = Ramp(3, 4, 3);          // three members
        var shared = Ramp(4, 3) + 2.0;  // one value for all
        var perMember = Ramp(3, 1, 1);  // one scalar per member
        NTensor Op(NTensor[] a) => a[0] * a[1] + a[2].Square();
        foreach (bool parallel in new[] { false, true })
        {
            var y = Batch.Map(3, new[] { x, shared, perMember }, new int[]?[] { member, member, member }, (_, a) => Op(a), parallel);
            CollectionAssert.AreEqual(new[] { 3, 4, 3 }, y.GetShape());
            for (int b = 0; b < 3; b++)
            {
                var alone = Op(new[] { x.Slice(0, b, b + 1).Squeeze(0), shared, perMember.Slice(0, b, b + 1).Squeeze(0).Expand(member) });
                CollectionAssert.AreEqual(alone.ToArray(), y.Slice(0, b, b + 1).Squeeze(0).ToArray(), $"member {b} (parallel {parallel})");
            }
        }
        var grads = Autodiff.Grads(a => Batch.Map(3, a, new int[]?[] { member, member, member }, (_, m) => Op(m)).Sum())(new[] { x, shared, perMember });
        // d/dx = shared per member; d/dshared = sum over members of x; d/dperMember_b = 2 p_b * 12 entries.
        for (int b = 0; b < 3; b++)
            CollectionAssert.AreEqual(shared.ToArray(), grads[0].Slice(0, b, b + 1).Squeeze(0).ToArray());
        var sumX = x.Sum(0).ToArray();
        var gShared = grads[1].ToArray();
        for (int i = 0; i < sumX.Length; i++) Assert.AreEqual(sumX[i], gShared[i], 1e-14);
        for (int b = 0; b < 3; b++) Assert.AreEqual(24 * perMember.ToArray()[b], grads[2].ToArray()[b], 1e-13);
    }

    [TestMethod]
    [DataRow("float64", "cpu")]
    [DataRow("float32", "cpu")]
    [DataRow("float64", "ilgpu-cpu")]
    [DataRow("float32", "ilgpu-cpu")]
    public void PerMemberLinearCombinationIsEachMembersOwnBitForBitAndDifferentiable(string dtypeName, string deviceName)
    {
        var dtype = dtypeName == "float64" ? DType.Float64 : DType.Float32;
        var device = deviceName == "cpu" ? Device.Cpu : TestDevices.GetOrSkip(deviceName);
        // 3 members of 1667 vectors: member blocks that straddle the CPU's cache blocks and SIMD lanes.
        var rng = new Random(5);
        var shape = new[] { 3, 1667, 3 };
        var terms = Enumerable.Range(0, 4).Select(_ => NTensor.FromArray(Enumerable.Range(0, 3 * 1667 * 3).Select(_ => rng.NextDouble() - 0.5).ToArray(), shape, dtype, device)).ToArray();
        var rows = new IReadOnlyList<double>[] { new[] { 1.0, 0.2, 0, 3e-3 }, new[] { 1.0, 0, 0, 0 }, new[] { 1.0, -7.5, 0, 1e-12 } };
        var batched = NTensor.LinearCombination(terms, rows);
        for (int b = 0; b < 3; b++)
        {
            var own = NTensor.LinearCombination(terms.Select(t => t.Slice(0, b, b + 1)).ToArray(), rows[b].ToArray()).ToArray();
            var got = batched.Slice(0, b, b + 1).ToArray();
            for (int i = 0; i < own.Length; i++)
                Assert.AreEqual(BitConverter.DoubleToInt64Bits(own[i]), BitConverter.DoubleToInt64Bits(got[i]), $"member {b}, element {i}");
        }
        if (device != Device.Cpu || dtype != DType.Float64) return;
        var w = NTensor.FromArray(Enumerable.Range(0, 3 * 1667 * 3).Select(_ => rng.NextDouble()).ToArray(), shape);
        var grads = Autodiff.Grads(t => (NTensor.LinearCombination(t, rows) * w).Sum())(terms);
        for (int j = 0; j < 4; j++)
            for (int b = 0; b < 3; b++)
            {
                var g = grads[j].Slice(0, b, b + 1).ToArray();
                var wb = w.Slice(0, b, b + 1).ToArray();
                for (int i = 0; i < g.Length; i += 97) Assert.AreEqual(rows[b][j] * wb[i], g[i], 1e-15, $"term {j}, member {b}");
            }
    }
}
