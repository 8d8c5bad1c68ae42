using NeuralMag.AD;

namespace NeuralMag.Tests.AD;

/// <summary>
/// The step control's error ratio sqrt(mean((e / (atol + rtol max(|y|, |y1|)))²)) in one pass (Hairer, Nørsett,
/// Wanner I, II.4, eq. 4.11): against a plain loop of its definition, member by member on a batch, with a per-entry
/// atol, and the same on ilgpu-cpu as on the CPU.
/// </summary>
[TestClass]
public sealed class StepErrorTests
{
    private static double[] Values(int count, int seed, double scale)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => scale * (2 * rng.NextDouble() - 1)).ToArray();
    }

    /// <summary>The definition, entry by entry in float64 (the values as stored in the tensor's precision).</summary>
    private static double Definition(double[] e, double[] y, double[] y1, double[]? atol, double rtol, double atolScalar, int from, int count)
    {
        double sum = 0;
        for (int i = from; i < from + count; i++)
        {
            double q = e[i] / (Math.Max(Math.Abs(y[i]), Math.Abs(y1[i])) * rtol + (atol?[i] ?? atolScalar));
            sum += q * q;
        }
        return Math.Sqrt(sum / count);
    }

    [TestMethod]
    [DataRow("float64", "cpu", 1, false, 300)]
    [DataRow("float64", "cpu", 4, true, 300)]
    [DataRow("float64", "cpu", 1, false, 200_001)]
    [DataRow("float32", "cpu", 3, false, 300)]
    [DataRow("float64", "ilgpu-cpu", 4, true, 300)]
    [DataRow("float64", "ilgpu-cpu", 2, false, 99_999)]
    [DataRow("float32", "ilgpu-cpu", 3, true, 300)]
    public void EqualsItsDefinitionPerMember(string dtypeName, string deviceName, int members, bool perEntryAtol, int perMember)
    {
        var dtype = dtypeName == "float64" ? DType.Float64 : DType.Float32;
        var device = deviceName == "cpu" ? Device.Cpu : TestDevices.GetOrSkip(deviceName);
        int n = members * perMember;
        var shape = members == 1 ? new[] { perMember / 3, 3 } : new[] { members, perMember / 3, 3 };
        NTensor T(double[] v) => NTensor.FromArray(v, shape, dtype, device);
        var (e, y, y1) = (T(Values(n, 1, 1e-6)), T(Values(n, 2, 1)), T(Values(n, 3, 1)));
        var atol = perEntryAtol ? T(Values(n, 4, 1e-5).Select(Math.Abs).ToArray()) : null;
        const double rtol = 1e-5, atolScalar = 2e-6;
        var ratios = StepError.Ratios(e, y, y1, rtol, atolScalar, atol, members);
        Assert.AreEqual(members, ratios.Length);
        var (eh, yh, y1h, ah) = (e.ToArray(), y.ToArray(), y1.ToArray(), atol?.ToArray());
        for (int b = 0; b < members; b++)
        {
            double expected = Definition(eh, yh, y1h, ah, rtol, atolScalar, b * perMember, perMember);
            Assert.IsTrue(expected > 0);
            // Summation order differs from the plain loop only when the member splits into chunks: round-off.
            Assert.AreEqual(expected, ratios[b], 1e-14 * expected, $"member {b}");
        }
        if (device.IsCpu) return;
        var onCpu = StepError.Ratios(e.To(Device.Cpu), y.To(Device.Cpu), y1.To(Device.Cpu), rtol, atolScalar, atol?.To(Device.Cpu), members);
        for (int b = 0; b < members; b++)
            Assert.AreEqual(BitConverter.DoubleToInt64Bits(onCpu[b]), BitConverter.DoubleToInt64Bits(ratios[b]), $"member {b}: device {ratios[b]:R}, CPU {onCpu[b]:R}");
    }

    [TestMethod]
    public void MismatchedInputsAreRefusedByName()
    {
        var e = NTensor.Zeros(new[] { 4, 3 });
        var ex = Assert.ThrowsExactly<ArgumentException>(() => StepError.Ratios(e, NTensor.Zeros(new[] { 3, 4 }), e, 1e-5, 1e-5, null, 1));
        StringAssert.Contains(ex.Message, "y is");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => StepError.Ratios(e, e, e, 1e-5, 1e-5, null, 5));
    }
}
