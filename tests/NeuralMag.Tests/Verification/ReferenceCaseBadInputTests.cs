using System.Text.Json.Nodes;
using NeuralMag.IO;

namespace NeuralMag.Tests.Verification;

/// <summary>inputs.json values of the wrong JSON type fail with the file and key, not a bare JsonElement error.</summary>
[TestClass]
public sealed class ReferenceCaseBadInputTests
{
    [TestMethod]
    [DataRow("terms", "\"exchange\"", "key 'terms' must be a list of term names")]
    [DataRow("terms", "[\"exchange\", 3]", "key 'terms' must be a list of term names")]
    [DataRow("params", "[1, 2]", "key 'params' is not an object")]
    [DataRow("n", "[2.5, 2, 1]", "key 'n' holds 2.5, not an integer")]
    public void WrongJsonTypeNamesFileAndKey(string key, string json, string words)
    {
        var root = ReferenceCase.DefaultRoot() ?? throw new AssertInconclusiveException("no reference data");
        var source = ReferenceCase.FindCaseFolders(root).First();
        var dir = Path.Combine(Path.GetTempPath(), "nm_badcase_" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var inputs = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "inputs.json")))!;
            inputs[key] = JsonNode.Parse(json);
            var file = Path.Combine(dir, "inputs.json");
            File.WriteAllText(file, inputs.ToJsonString());
            var e = Assert.ThrowsExactly<ReferenceDataException>(() => ReferenceCase.Load(dir));
            StringAssert.StartsWith(e.Message, file + ":");
            StringAssert.Contains(e.Message, words);
        }
        finally { Directory.Delete(dir, true); }
    }
}
