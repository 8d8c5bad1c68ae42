using System.Text.Json.Nodes;
using NeuralMag.AD;
using NeuralMag.IO;
using NeuralMag.Verification;

namespace NeuralMag.Tests.Verification;

/// <summary>Bad reference data fails only the affected check, with a one-line reason naming the file and key.</summary>
[TestClass]
public sealed class VerifierBadInputTests
{
    /// <summary>A copy of the first case that has exchange and uaniso files, minus every other term (fast to verify).</summary>
    private static string CopyCase()
    {
        var source = ReferenceCase.AllCaseFolders().Select(c => c.Directory).First(d => File.Exists(Path.Combine(d, "exchange.json")) && File.Exists(Path.Combine(d, "uaniso.json")) && !File.Exists(Path.Combine(d, "demag.json")));
        var dir = Path.Combine(Path.GetTempPath(), "nm_case_" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var inputs = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "inputs.json")))!;
        inputs["terms"] = new JsonArray("exchange", "uaniso");
        File.WriteAllText(Path.Combine(dir, "inputs.json"), inputs.ToJsonString());
        foreach (var t in new[] { "exchange", "uaniso" }) File.Copy(Path.Combine(source, t + ".json"), Path.Combine(dir, t + ".json"));
        return dir;
    }

    private static List<CheckResult> Verify(string dir) => new ReferenceVerifier(Device.Cpu, DType.Float64).VerifyCase(dir).ToList();

    private static void Edit(string file, Action<JsonNode> edit)
    {
        var node = JsonNode.Parse(File.ReadAllText(file))!;
        edit(node);
        File.WriteAllText(file, node.ToJsonString());
    }

    [TestMethod]
    public void AlteredNumberFailsOnlyItsCheck()
    {
        var dir = CopyCase();
        try
        {
            Assert.IsTrue(Verify(dir).All(r => r.Passed), "the unaltered copy passes");
            Edit(Path.Combine(dir, "uaniso.json"), n => n["h"]![0]![0]![0]![2] = n["h"]![0]![0]![0]![2]!.GetValue<double>() * (1 + 1e-6));
            var results = Verify(dir);
            Assert.IsFalse(results.Single(r => r.Check == "uaniso").Passed);
            Assert.IsTrue(results.Single(r => r.Check == "exchange").Passed);
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void UnknownTermFailsWithItsName()
    {
        var dir = CopyCase();
        try
        {
            File.Copy(Path.Combine(dir, "exchange.json"), Path.Combine(dir, "magnetoelastic.json"));
            var results = Verify(dir);
            var bad = results.Single(r => r.Check == "magnetoelastic");
            Assert.IsFalse(bad.Passed);
            StringAssert.Contains(bad.Reason, "unknown term 'magnetoelastic'");
            StringAssert.Contains(bad.Reason, "magnetoelastic.json");
            Assert.IsTrue(results.Where(r => r.Check != "magnetoelastic").All(r => r.Passed));
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void WrongShapeNamesBothShapes()
    {
        var dir = CopyCase();
        try
        {
            Edit(Path.Combine(dir, "exchange.json"), n => n["h"]!.AsArray().RemoveAt(0));
            var bad = Verify(dir).Single(r => r.Check == "exchange");
            Assert.IsFalse(bad.Passed);
            StringAssert.Contains(bad.Reason, "key 'h' has shape");
            StringAssert.Contains(bad.Reason, "ours is");
            Assert.IsFalse(bad.Reason!.Contains('\n'));
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void UnparsableAndMissingFilesFailWithTheFileName()
    {
        var dir = CopyCase();
        try
        {
            File.WriteAllText(Path.Combine(dir, "uaniso.json"), "{ not json");
            Edit(Path.Combine(dir, "inputs.json"), n => n["terms"]!.AsArray().Add("bdmi"));
            var results = Verify(dir);
            var unparsable = results.Single(r => r.Check == "uaniso");
            StringAssert.Contains(unparsable.Reason, "not valid JSON");
            StringAssert.Contains(unparsable.Reason, "uaniso.json");
            var missing = results.Single(r => r.Check == "bdmi");
            StringAssert.Contains(missing.Reason, "bdmi.json: file not found");
            Assert.IsTrue(results.Single(r => r.Check == "exchange").Passed);
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void UnknownInputKeyFailsTheCaseWithTheKey()
    {
        var dir = CopyCase();
        try
        {
            Edit(Path.Combine(dir, "inputs.json"), n => n["temperature"] = 300);
            var r = Verify(dir).Single();
            Assert.AreEqual("inputs", r.Check);
            StringAssert.Contains(r.Reason, "unknown key 'temperature'");
            StringAssert.Contains(r.ToString(), "FAIL");
        }
        finally { Directory.Delete(dir, true); }
    }
}
