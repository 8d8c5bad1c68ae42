using NeuralMag.AD;
using NeuralMag.IO;
using NeuralMag.Verification;

namespace NeuralMag.Tests.Verification;

/// <summary>
/// Every case folder of every reference-data root (the repository's data/reference, plus shared/reference-data and
/// $NM_REFERENCE_DATA when present; upstream NeuralMag's numbers), found by scanning: a new folder is a new test with
/// no code change. A case held by several roots runs once, from the highest-priority root (the shared copy wins; see
/// <see cref="ReferenceCase.AllCaseFolders()"/>). Runs the same code as the `verify` command, in float64 at relative 1e-10.
/// </summary>
[TestClass]
public sealed class ReferenceCaseTests
{
    public static IEnumerable<object[]> Cases()
    {
        foreach (var (name, dir) in ReferenceCase.AllCaseFolders()) yield return new object[] { name, dir };
    }

    /// <summary>The repository's own copy is found from the test binaries and holds cases and the OOMMF files.</summary>
    [TestMethod]
    public void ReferenceDataIsPresent()
    {
        var repo = ReferenceCase.RepositoryRoot();
        Assert.IsNotNull(repo, "data/reference was not found above the working directory or the test binaries.");
        CollectionAssert.Contains(ReferenceCase.Roots().ToList(), repo, "the repository copy is one of the roots");
        Assert.IsTrue(ReferenceCase.FindCaseFolders(repo).Any(), $"no case folder (with inputs.json) under {repo}");
        Assert.IsTrue(Cases().Any(), "no case folder found in any reference-data root");
        foreach (var f in new[] { "s_state_init.vti", "oommf_sp4_fieldswitch_1.csv", "oommf_sp4_fieldswitch_2.csv" })
            Assert.IsTrue(File.Exists(Path.Combine(repo, "oommf", f)), $"{repo}/oommf/{f} is missing");
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

/// <summary>How the reference-data roots are found and merged: environment, then shared, then the repository copy.</summary>
[TestClass]
public sealed class ReferenceRootsTests
{
    private static string MakeCase(string root, string name)
    {
        var dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "inputs.json"), "{}");
        return Path.GetFullPath(dir);
    }

    [TestMethod]
    public void RootsAreOrderedEnvironmentSharedRepositoryAndTheEarliestRootWinsPerCase()
    {
        var top = Path.Combine(Path.GetTempPath(), "nm_roots_" + Guid.NewGuid().ToString("N"));
        try
        {
            var shared = Path.Combine(top, "project", "shared", "reference-data");
            var repo = Path.Combine(top, "project", "clone", "data", "reference");
            var env = Path.Combine(top, "extra");
            var start = Path.Combine(top, "project", "clone", "tests", "bin");
            Directory.CreateDirectory(start);
            var sharedBoth = MakeCase(shared, "both");
            MakeCase(repo, "both");
            var repoOnly = MakeCase(repo, "repo_only");
            var sharedOnly = MakeCase(Path.Combine(shared, "group"), "nested");
            var envOnly = MakeCase(env, "env_only");

            var roots = ReferenceCase.Roots(env, new[] { start, start });
            CollectionAssert.AreEqual(new[] { env, shared, repo }.Select(Path.GetFullPath).ToList(), roots.ToList(),
                "environment first, then the shared folder above the start, then the repository copy, each once");

            var cases = ReferenceCase.AllCaseFolders(roots);
            CollectionAssert.AreEqual(new[] { "both", "env_only", "group/nested", "repo_only" }, cases.Select(c => c.Name).ToList());
            Assert.AreEqual(sharedBoth, cases.Single(c => c.Name == "both").Directory, "a case in both copies is taken from the shared folder");
            Assert.AreEqual(repoOnly, cases.Single(c => c.Name == "repo_only").Directory);
            Assert.AreEqual(sharedOnly, cases.Single(c => c.Name == "group/nested").Directory);
            Assert.AreEqual(envOnly, cases.Single(c => c.Name == "env_only").Directory);

            var noShared = ReferenceCase.Roots(null, new[] { Path.Combine(top, "extra") });
            Assert.AreEqual(0, noShared.Count, "no root above a folder without shared/ or data/reference");
        }
        finally { Directory.Delete(top, true); }
    }

    [TestMethod]
    public void FindFileRejectsAnAbsolutePath()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => ReferenceCase.FindFile(Path.GetFullPath("x.vti")));
        Assert.AreEqual("relativePath", e.ParamName);
    }
}
