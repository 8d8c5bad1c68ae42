using System.Text.Json.Nodes;
using NeuralMag.AD;
using NeuralMag.IO;
using NeuralMag.Verification;

namespace NeuralMag.Tests.Verification;

/// <summary>A case with nothing to compare fails instead of reporting "0 passed, 0 failed".</summary>
[TestClass]
public sealed class VerifyNothingToCheckTests
{
    [TestMethod]
    public void CaseWithEmptyTermsAndNoFilesFails()
    {
        var root = ReferenceCase.DefaultRoot() ?? throw new AssertInconclusiveException("no reference data");
        var source = ReferenceCase.FindCaseFolders(root).First();
        var dir = Path.Combine(Path.GetTempPath(), "nm_empty_case_" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var inputs = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "inputs.json")))!;
            inputs["terms"] = new JsonArray();
            File.WriteAllText(Path.Combine(dir, "inputs.json"), inputs.ToJsonString());
            var result = new ReferenceVerifier(Device.Cpu, DType.Float64).VerifyCase(dir).Single();
            Assert.IsFalse(result.Passed);
            Assert.AreEqual("inputs", result.Check);
            StringAssert.Contains(result.Reason, "nothing to check");
            StringAssert.Contains(result.Reason, "'terms' is empty");
        }
        finally { Directory.Delete(dir, true); }
    }
}
