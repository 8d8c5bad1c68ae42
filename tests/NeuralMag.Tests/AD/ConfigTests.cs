using NeuralMag.AD;

namespace NeuralMag.Tests.AD;

[TestClass]
public sealed class ConfigTests
{
    [TestMethod]
    public void KnobsRefuseValuesOutsideTheirSetAndNameThem()
    {
        var fft = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Config.Fft = "cufft");
        StringAssert.Contains(fft.Message, "auto, fftw or managed");
        var planner = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Config.FftwPlanner = "exhaustive");
        StringAssert.Contains(planner.Message, "measure, estimate or patient");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Config.FftwThreads = -1);
        Assert.IsTrue(Config.Fft is "auto" or "fftw" or "managed", "the value read from NM_FFT is one of the allowed ones");
    }
}
