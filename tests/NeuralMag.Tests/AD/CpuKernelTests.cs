using NeuralMag.AD;

namespace NeuralMag.Tests.AD;

/// <summary>SIMD and chunked CPU loops against scalar reference loops, at lengths with ragged tails.</summary>
[TestClass]
public sealed class CpuKernelTests
{
    [TestMethod]
    public void VectorizedElementwiseMatchesScalarLoops()
    {
        foreach (int n in new[] { 1, 7, 100_003 })
        {
            var rng = new Random(n);
            var a = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 4 - 2).ToArray();
            var b = Enumerable.Range(0, n).Select(_ => rng.NextDouble() + 0.5).ToArray();
            var ta = NTensor.FromArray(a);
            var tb = NTensor.FromArray(b);
            CollectionAssert.AreEqual(a.Zip(b, (p, q) => p * q).ToArray(), (ta * tb).ToArray());
            CollectionAssert.AreEqual(a.Zip(b, (p, q) => p / q).ToArray(), (ta / tb).ToArray());
            CollectionAssert.AreEqual(a.Zip(b, (p, q) => p > q ? p : q).ToArray(), NTensor.Maximum(ta, tb).ToArray());
            CollectionAssert.AreEqual(a.Select(p => p - 0.25).ToArray(), (ta - 0.25).ToArray());
            CollectionAssert.AreEqual(a.Select(p => 3 / p).ToArray(), (3.0 / ta).ToArray());
            CollectionAssert.AreEqual(a.Select(Math.Abs).ToArray(), ta.Abs().ToArray());
            CollectionAssert.AreEqual(b.Select(Math.Sqrt).ToArray(), tb.Sqrt().ToArray());
            CollectionAssert.AreEqual(a.Select(p => p < 0.5 ? p : 0.5).ToArray(), ta.Minimum(0.5).ToArray());
            CollectionAssert.AreEqual(a.Select(p => 2 - p).ToArray(), (NTensor.Scalar(2) - ta).ToArray());
            var fa = NTensor.FromArray(a.Select(p => (float)p).ToArray());
            var fb = NTensor.FromArray(b.Select(p => (float)p).ToArray());
            CollectionAssert.AreEqual(a.Zip(b, (p, q) => (double)((float)p * (float)q)).ToArray(), (fa * fb).ToArray());
            Assert.AreEqual(a.Sum(), ta.Sum().Item(), 1e-9 * n);
            Assert.AreEqual(a.Max(), ta.Max().Item());
            Assert.AreEqual(a.Min(), ta.Min().Item());
        }
    }

    [TestMethod]
    public void MaxPropagatesNaN()
    {
        var t = NTensor.FromArray(new[] { 1.0, double.NaN, 3.0 });
        Assert.IsTrue(double.IsNaN(t.Max().Item()));
        Assert.IsTrue(double.IsNaN(t.Min().Item()));
    }
}
