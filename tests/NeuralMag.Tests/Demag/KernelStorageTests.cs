using NeuralMag.Kernels.Demag;

namespace NeuralMag.Tests.Demag;

/// <summary>The demag kernel's folded storage: only non-negative frequencies of the open, non-last transformed axes.</summary>
[TestClass]
public sealed class KernelStorageTests
{
    [TestMethod]
    public void OpenAxesAreFoldedAndImageAxesAreNot()
    {
        var open = new DemagKernel(new[] { 5, 4, 3 }, new[] { 2e-9, 3e-9, 2.5e-9 }, new[] { 0, 0, 0 }, padding: DemagPadding.PowerOfTwo);
        CollectionAssert.AreEqual(new[] { 16, 8, 8 }, open.FftShape);
        CollectionAssert.AreEqual(new[] { 16, 8, 5 }, open.Fft!.SpectrumShape);
        CollectionAssert.AreEqual(new[] { 9, 5, 5 }, open.StoredShape);
        Assert.AreEqual(6L * 9 * 5 * 5 * sizeof(double), open.Bytes, "a quarter of the half spectra (plus the zero frequencies)");

        var images = new DemagKernel(new[] { 4, 4, 3 }, new[] { 2e-9, 3e-9, 2.5e-9 }, new[] { 2, 0, 0 }, padding: DemagPadding.PowerOfTwo);
        CollectionAssert.AreEqual(new[] { 4, 8, 8 }, images.FftShape);
        CollectionAssert.AreEqual(new[] { 4, 5, 5 }, images.StoredShape, "the image axis keeps every frequency");

        // Unfolding gives back a half spectrum with N(-k) = +-N(k), the off-diagonal signs flipping per odd axis.
        var xy = open.HalfSpectrum(1);
        int Index(int a, int b, int c) => (a * 8 + b) * 5 + c;
        Assert.AreEqual(-xy[Index(3, 2, 1)], xy[Index(16 - 3, 2, 1)], 1e-15 * xy.Max(Math.Abs));
        Assert.AreEqual(xy[Index(3, 2, 1)], xy[Index(16 - 3, 8 - 2, 1)], 1e-15 * xy.Max(Math.Abs));
        var xx = open.HalfSpectrum(0);
        Assert.AreEqual(xx[Index(3, 2, 1)], xx[Index(16 - 3, 8 - 2, 1)], 1e-15 * xx.Max(Math.Abs));
    }

    [TestMethod]
    public void SmoothPaddingTakesTheNextEvenLengthWithoutPrimeFactorsAboveSeven()
    {
        // 2n' with n' >= n 7-smooth: 100 -> 200 (a power of two would be 256), 25 -> 50, 11 -> 24, 13 -> 28, 1 -> 2.
        foreach (var (n, expected) in new[] { (100, 200), (25, 50), (11, 24), (13, 28), (1, 2), (64, 128), (97, 196) })
            Assert.AreEqual(expected, DemagKernel.PaddedLength(n, DemagPadding.Smooth), $"n = {n}");
        Assert.AreEqual(256, DemagKernel.PaddedLength(100, DemagPadding.PowerOfTwo));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => DemagKernel.PaddedLength(0, DemagPadding.Smooth));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => DemagKernel.PaddedLength(4, DemagPadding.Auto));
    }

    [TestMethod]
    public void BothPaddingsGiveTheSameField()
    {
        // Any padding of at least 2n cells crops to the same linear convolution: the fields agree to round-off.
        var cells = new[] { 7, 5, 3 };
        var dx = new[] { 2e-9, 3e-9, 2.5e-9 };
        var rng = new Random(3);
        var m = Enumerable.Range(0, 3 * 7 * 5 * 3).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var smooth = new DemagKernel(cells, dx, new[] { 0, 0, 0 }, backend: FftBackend.Fftw, padding: DemagPadding.Smooth);
        var power = new DemagKernel(cells, dx, new[] { 0, 0, 0 }, backend: FftBackend.Fftw, padding: DemagPadding.PowerOfTwo);
        CollectionAssert.AreEqual(new[] { 14, 10, 6 }, smooth.FftShape);
        CollectionAssert.AreEqual(new[] { 16, 16, 8 }, power.FftShape);
        var a = DemagConvolution.Apply(smooth, m);
        var b = DemagConvolution.Apply(power, m);
        double scale = b.Max(Math.Abs);
        for (int i = 0; i < a.Length; i++) Assert.AreEqual(b[i], a[i], 1e-13 * scale, $"entry {i}");
    }
}
