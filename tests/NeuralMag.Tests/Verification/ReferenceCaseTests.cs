using NeuralMag.AD;
using NeuralMag.IO;
using NeuralMag.Verification;

namespace NeuralMag.Tests.Verification;

/// <summary>
/// Every case folder of shared/reference-data (upstream NeuralMag's numbers), found by scanning: a new folder is a
/// new test with no code change. Runs the same code as the `verify` command, in float64 at relative 1e-10.
/// </summary>
[TestClass]
public sealed class ReferenceCaseTests
{
    public static IEnumerable<object[]> Cases()
    {
        var root = ReferenceCase.DefaultRoot();
        if (root == null) yield break;
        foreach (var dir in ReferenceCase.FindCaseFolders(root)) yield return new object[] { Path.GetFileName(dir), dir };
    }

    [TestMethod]
    public void ReferenceDataIsPresent()
    {
        Assert.IsNotNull(ReferenceCase.DefaultRoot(), "shared/reference-data was not found above the working directory; set NM_REFERENCE_DATA.");
        Assert.IsTrue(Cases().Any(), "no case folder (with inputs.json) found in the reference data");
    }

    /// <summary>Every case on every ILGPU device kind: ilgpu-cpu always, cuda and opencl where present.</summary>
    public static IEnumerable<object[]> DeviceCases()
    {
        foreach (var device in new[] { "ilgpu-cpu", "cuda", "opencl" })
            foreach (var c in Cases()) yield return new object[] { device, c[0], c[1] };
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void CaseMatchesUpstream(string name, string directory) => Check(Device.Cpu, name, directory);

    [TestMethod]
    [DynamicData(nameof(DeviceCases))]
    public void CaseMatchesUpstreamOnAnIlgpuDevice(string deviceName, string name, string directory)
    {
        var device = TestDevices.GetOrSkip(deviceName);
        Check(device, name, directory);
    }

    private static void Check(Device device, string name, string directory)
    {
        var results = new ReferenceVerifier(device, DType.Float64).VerifyCase(directory).ToList();
        Assert.IsTrue(results.Count > 0, $"{name}: no checks ran");
        foreach (var r in results) Console.WriteLine(r);
        // A feature we have not built yet (FIC) is reported as inconclusive (skipped) with its reason, never as passed.
        var unsupported = results.Where(r => !r.Passed && r.Reason != null && r.Reason.Contains("not supported yet")).ToList();
        var failed = results.Where(r => !r.Passed).Except(unsupported).ToList();
        Assert.AreEqual(0, failed.Count, $"{name}: " + string.Join(" | ", failed));
        if (unsupported.Count > 0) Assert.Inconclusive($"{name}: " + string.Join(" | ", unsupported));
    }
}
