using NeuralMag.Kernels.Demag;

namespace NeuralMag.Tests.Demag;

/// <summary>The demag kernel's folded storage: only non-negative frequencies of the open, non-last transformed axes.</summary>
[TestClass]
public sealed class KernelStorageTests
{
    [TestMethod]
    public void OpenAxesAreFoldedAndImageAxesAreNot()
    {
        var open = new DemagKernel(new[] { 5, 4, 3 }, new[] { 2e-9, 3e-9, 2.5e-9 }, new[] { 0, 0, 0 });
        CollectionAssert.AreEqual(new[] { 16, 8, 8 }, open.FftShape);
        CollectionAssert.AreEqual(new[] { 16, 8, 5 }, open.Fft!.SpectrumShape);
        CollectionAssert.AreEqual(new[] { 9, 5, 5 }, open.StoredShape);
        Assert.AreEqual(6L * 9 * 5 * 5 * sizeof(double), open.Bytes, "a quarter of the half spectra (plus the zero frequencies)");

        var images = new DemagKernel(new[] { 4, 4, 3 }, new[] { 2e-9, 3e-9, 2.5e-9 }, new[] { 2, 0, 0 });
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
}
