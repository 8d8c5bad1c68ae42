using NeuralMag.AD;

namespace NeuralMag.Tests.AD;

/// <summary>The fused Σ c_j t_j the Runge–Kutta sums use: the composed arithmetic bit for bit, its VJP, its errors.</summary>
[TestClass]
public sealed class LinearCombinationTests
{
    private static double[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
    }

    [TestMethod]
    [DataRow("float64", "cpu")]
    [DataRow("float32", "cpu")]
    [DataRow("float64", "ilgpu-cpu")]
    [DataRow("float32", "ilgpu-cpu")]
    public void EqualsTheComposedSumBitForBit(string dtypeName, string deviceName)
    {
        var dtype = dtypeName == "float64" ? DType.Float64 : DType.Float32;
        var device = deviceName == "cpu" ? Device.Cpu : TestDevices.GetOrSkip(deviceName);
        // 3 * 5003 elements: more than the SIMD width and the cache block, not a multiple of either.
        var shape = new[] { 5003, 3 };
        var terms = Enumerable.Range(0, 5).Select(j => NTensor.FromArray(Random(3 * 5003, j), shape, dtype, device)).ToArray();
        var c = new[] { 1.0, 2.5e-13, 0, -7.1e-14, 3.3e-12 };
        var fused = NTensor.LinearCombination(terms, c).ToArray();
        var composed = terms[0];
        for (int j = 1; j < terms.Length; j++)
            if (c[j] != 0) composed = composed + terms[j] * c[j];
        var expected = composed.ToArray();
        Assert.AreEqual(expected.Length, fused.Length);
        for (int i = 0; i < fused.Length; i++)
            Assert.AreEqual(BitConverter.DoubleToInt64Bits(expected[i]), BitConverter.DoubleToInt64Bits(fused[i]), $"element {i}: fused {fused[i]:R}, composed {expected[i]:R}");
    }

    [TestMethod]
    public void VjpOfEachTermIsItsCoefficientTimesTheCotangent()
    {
        var shape = new[] { 4, 3 };
        var xs = Enumerable.Range(0, 3).Select(j => NTensor.FromArray(Random(12, 10 + j), shape)).ToArray();
        var w = NTensor.FromArray(Random(12, 20), shape);
        var c = new[] { 0.5, -2.0, 0.0 };
        var (value, grads) = Autodiff.ValueAndGrads(t => (NTensor.LinearCombination(t, c) * w).Sum())(xs);
        double expectedValue = 0;
        var wa = w.ToArray();
        for (int j = 0; j < 3; j++)
        {
            var xa = xs[j].ToArray();
            for (int i = 0; i < 12; i++) expectedValue += c[j] * xa[i] * wa[i];
        }
        Assert.AreEqual(expectedValue, value.Item(), 1e-14);
        for (int j = 0; j < 3; j++)
        {
            var g = grads[j].ToArray();
            for (int i = 0; i < 12; i++) Assert.AreEqual(c[j] * wa[i], g[i], 1e-15, $"dL/dx{j}[{i}]");
        }
    }

    [TestMethod]
    public void RefusesMismatchedInputsAndNamesThem()
    {
        var a = NTensor.Zeros(new[] { 4, 3 });
        var b = NTensor.Zeros(new[] { 3 });
        var shape = Assert.ThrowsExactly<ArgumentException>(() => NTensor.LinearCombination(new[] { a, b }, new[] { 1.0, 1.0 }));
        StringAssert.Contains(shape.Message, "term 1 has shape");
        var count = Assert.ThrowsExactly<ArgumentException>(() => NTensor.LinearCombination(new[] { a, a }, new[] { 1.0 }));
        StringAssert.Contains(count.Message, "1 coefficients for 2 terms");
        var nan = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => NTensor.LinearCombination(new[] { a }, new[] { double.NaN }));
        StringAssert.Contains(nan.Message, "coefficient 0 must be finite");
        Assert.ThrowsExactly<ArgumentException>(() => NTensor.LinearCombination(Array.Empty<NTensor>(), Array.Empty<double>()));
        Assert.AreEqual(0.0, NTensor.LinearCombination(new[] { a }, new[] { 0.0 }).Abs().Sum().Item());
    }
}
