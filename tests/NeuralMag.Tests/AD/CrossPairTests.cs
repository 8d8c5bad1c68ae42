using NeuralMag.AD;

namespace NeuralMag.Tests.AD;

/// <summary>p (a × b) − q (a × (a × b)) in one pass, the Landau–Lifshitz torque's form: the composed arithmetic bit for bit, and its VJP.</summary>
[TestClass]
public sealed class CrossPairTests
{
    private static NTensor Random(int[] shape, int seed, DType dtype, Device device)
    {
        var rng = new Random(seed);
        var v = Enumerable.Range(0, shape.Aggregate(1, (x, y) => x * y)).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        return NTensor.FromArray(v, shape, dtype, device);
    }

    private static NTensor Coefficient(string layout, int[] shape, int seed, DType dtype, Device device) => layout switch
    {
        "scalar" => NTensor.FromArray(new[] { 0.37 + seed }, Array.Empty<int>(), dtype, device),
        "per-vector" => Random(shape[..^1].Append(1).ToArray(), seed, dtype, device),
        _ => Random(shape, seed, dtype, device),
    };

    private static NTensor Composed(NTensor a, NTensor b, NTensor p, NTensor q)
    {
        var axb = NTensor.Cross(a, b);
        return p * axb - q * NTensor.Cross(a, axb);
    }

    [TestMethod]
    [DataRow("float64", "cpu", "scalar")]
    [DataRow("float64", "cpu", "per-vector")]
    [DataRow("float64", "cpu", "per-component")]
    [DataRow("float32", "cpu", "per-vector")]
    [DataRow("float64", "ilgpu-cpu", "scalar")]
    [DataRow("float64", "ilgpu-cpu", "per-vector")]
    [DataRow("float32", "ilgpu-cpu", "per-component")]
    public void EqualsTheComposedCrossProductsBitForBit(string dtypeName, string deviceName, string layout)
    {
        var dtype = dtypeName == "float64" ? DType.Float64 : DType.Float32;
        var device = deviceName == "cpu" ? Device.Cpu : TestDevices.GetOrSkip(deviceName);
        var shape = new[] { 7, 5, 3 };
        var a = Random(shape, 1, dtype, device);
        var b = Random(shape, 2, dtype, device);
        var p = Coefficient(layout, shape, 3, dtype, device);
        var q = Coefficient(layout, shape, 4, dtype, device);
        var fused = NTensor.CrossPair(a, b, p, q).ToArray();
        var composed = Composed(a, b, p, q).ToArray();
        for (int i = 0; i < fused.Length; i++)
            Assert.AreEqual(BitConverter.DoubleToInt64Bits(composed[i]), BitConverter.DoubleToInt64Bits(fused[i]), $"element {i}: fused {fused[i]:R}, composed {composed[i]:R}");
    }

    [TestMethod]
    [DataRow("scalar")]
    [DataRow("per-vector")]
    [DataRow("per-component")]
    public void VjpEqualsThatOfTheComposedForm(string layout)
    {
        var shape = new[] { 4, 2, 3 };
        var xs = new[]
        {
            Random(shape, 11, DType.Float64, Device.Cpu), Random(shape, 12, DType.Float64, Device.Cpu),
            Coefficient(layout, shape, 13, DType.Float64, Device.Cpu), Coefficient(layout, shape, 14, DType.Float64, Device.Cpu),
        };
        var w = Random(shape, 15, DType.Float64, Device.Cpu);
        var fused = Autodiff.Grads(t => (NTensor.CrossPair(t[0], t[1], t[2], t[3]) * w).Sum())(xs);
        var composed = Autodiff.Grads(t => (Composed(t[0], t[1], t[2], t[3]) * w).Sum())(xs);
        for (int k = 0; k < xs.Length; k++)
        {
            Assert.IsTrue(Shapes.Equal(xs[k].ShapeArray, fused[k].ShapeArray), $"gradient {k} has its input's shape");
            var f = fused[k].ToArray();
            var c = composed[k].ToArray();
            double scale = c.Max(Math.Abs);
            for (int i = 0; i < f.Length; i++) Assert.AreEqual(c[i], f[i], 1e-14 * scale, $"gradient {k}[{i}]");
        }
    }

    [TestMethod]
    public void UniformFieldBroadcastsAndBadShapesAreNamed()
    {
        var m = Random(new[] { 3, 3 }, 21, DType.Float64, Device.Cpu);
        var h = NTensor.FromArray(new[] { 0.0, 0.0, 1.0 });
        var p = NTensor.FromArray(new[] { 2.0 }, Array.Empty<int>());
        CollectionAssert.AreEqual(Composed(m, h.Expand(3, 3), p, p).ToArray(), NTensor.CrossPair(m, h, p, p).ToArray());
        var e = Assert.ThrowsExactly<ArgumentException>(() => NTensor.CrossPair(NTensor.Zeros(new[] { 4, 2 }), NTensor.Zeros(new[] { 4, 2 }), p, p));
        StringAssert.Contains(e.Message, "last axis of length 3");
    }
}
