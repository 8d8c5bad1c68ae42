using System.Diagnostics;
using NeuralMag.AD;
using NeuralMag.Demos;

namespace NeuralMag.Tests.Cli;

/// <summary>
/// Bad command lines: one "error: ..." line plus the usage on standard error, exit code 2, no stack trace, and
/// <see cref="Config"/> left alone. The runner is called in-process with its own writers and environment lookup.
/// </summary>
[TestClass]
public sealed class CliBadInputTests
{
    private static (int Code, string Out, string Err) Run(string[] args, Dictionary<string, string>? env = null)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = DemoRunner.Run(args, stdout, stderr, name => env != null && env.TryGetValue(name, out var v) ? v : null);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string Fails(string commandLine, params string[] words) => Fails(commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries), null, words);

    private static string Fails(string[] args, Dictionary<string, string>? env, params string[] words)
    {
        var (code, stdout, stderr) = Run(args, env);
        Assert.AreEqual(2, code, $"exit code for '{string.Join(' ', args)}'; stderr: {stderr}");
        Assert.IsFalse((stdout + stderr).Contains("   at ", StringComparison.Ordinal), "no stack trace: " + stderr);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        StringAssert.StartsWith(lines[0], "error: ");
        StringAssert.StartsWith(lines[1], "usage: NeuralMag.Demos");
        foreach (var w in words) StringAssert.Contains(lines[0], w);
        Assert.AreEqual("", stdout, "nothing ran");
        return lines[0];
    }

    [TestMethod]
    public void MisspeltFlagIsAnErrorWithASuggestion()
    {
        Fails("--qiuck", "unknown option '--qiuck'", "did you mean '--quick'?");
        Fails("standard-problem-4 --feild 2", "unknown option '--feild' for standard-problem-4", "did you mean '--field'?");
        Fails("standard-problem-4 --field=2", "write '--field 2' with a space instead of '--field=2'");
    }

    [TestMethod]
    public void DemoOptionValuesAreChecked()
    {
        Fails("standard-problem-4 --field 3", "--field must be 1 or 2; got '3'");
        Fails("standard-problem-4 --field 2 --field 1", "--field is given twice");
        Fails("gradient-chain --field 2", "unknown option '--field' for gradient-chain");
        Fails("--field 2 gradient-chain", "unknown option '--field' for gradient-chain");
    }

    [TestMethod]
    [DataRow("--out")]
    [DataRow("--device")]
    [DataRow("--dtype")]
    [DataRow("standard-problem-4 --field")]
    [DataRow("verify --rtol")]
    [DataRow("gradient-chain --out --quick")]
    public void OptionWithoutValueIsAnError(string commandLine)
    {
        var option = commandLine.Split(' ').First(a => a is "--out" or "--device" or "--dtype" or "--field" or "--rtol");
        Fails(commandLine, $"{option} needs a value");
    }

    [TestMethod]
    public void UnknownDemoAndStrayArgumentsAreErrors()
    {
        Fails("standrad-problem-4", "unknown demo 'standrad-problem-4'", "did you mean 'standard-problem-4'?");
        Fails("gradient-chain extra", "unexpected argument 'extra'", "gradient-chain takes no positional arguments");
    }

    [TestMethod]
    public void UnusableOutputFolderIsAnError()
    {
        var file = Path.Combine(Path.GetTempPath(), $"nm_cli_{Guid.NewGuid():N}");
        File.WriteAllText(file, "");
        try
        {
            Fails($"gradient-chain --out {file}", $"--out {file}: this is a file; give a folder");
            Fails($"gradient-chain --out {Path.Combine(file, "sub")}", $"'{file}' is a file");
            var e = Assert.ThrowsExactly<CommandLineException>(() => new DemoOptions(false, file, Array.Empty<string>()).OutputFor("demo"));
            StringAssert.Contains(e.Message, "cannot create the output folder");
        }
        finally { File.Delete(file); }
    }

    [TestMethod]
    public void BadDeviceAndDtypeNameTheirSource()
    {
        Fails("--device quantum", "--device quantum: Unknown device 'quantum'", "Known devices: cpu");
        Fails("--dtype float16", "--dtype float16: unknown dtype 'float16'; use float64 or float32");
        Fails(new[] { "gradient-chain" }, new() { ["NM_DEVICE"] = "quantum" }, "NM_DEVICE=quantum", "Set NM_DEVICE to cpu");
        Fails(new[] { "gradient-chain" }, new() { ["NM_DTYPE"] = "half" }, "NM_DTYPE=half: unknown dtype 'half'");
    }

    [TestMethod]
    public void CudaWithoutAGpuSaysWhatToDo()
    {
        if (NeuralMag.Kernels.Devices.Describe().Contains("Cuda", StringComparison.Ordinal))
            throw new AssertInconclusiveException("this machine has a CUDA device");
        Fails(new[] { "gradient-chain" }, new() { ["NM_DEVICE"] = "cuda" }, "NM_DEVICE=cuda but no CUDA device was found", "NM_DEVICE=cpu");
        Fails("gradient-chain --device cuda", "--device cuda but no CUDA device was found", "--device cpu");
    }

    [TestMethod]
    public void ErrorsLeaveConfigAlone()
    {
        var (device, dtype) = (Config.Device, Config.DType);
        Fails("--dtype float32 --device cpu --qiuck", "--qiuck");
        Assert.AreEqual(device, Config.Device);
        Assert.AreEqual(dtype, Config.DType);
    }

    [TestMethod]
    public void HelpExitsZeroAndListsDemoOptions()
    {
        var (code, stdout, stderr) = Run(new[] { "--help" });
        Assert.AreEqual(0, code);
        Assert.AreEqual("", stderr);
        StringAssert.Contains(stdout, "verify");
        (code, stdout, _) = Run(new[] { "standard-problem-4", "--help" });
        Assert.AreEqual(0, code);
        StringAssert.Contains(stdout, "--field 1|2");
        (code, stdout, _) = Run(new[] { "verify", "-h" });
        Assert.AreEqual(0, code);
        StringAssert.Contains(stdout, "--rtol");
    }

    [TestMethod]
    public void TheProgramExitsWithCodeTwoAndNoStackTrace()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "NeuralMag.Demos.dll");
        if (!File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json"))) throw new AssertInconclusiveException("NeuralMag.Demos is not runnable from the test folder");
        // The dotnet host that runs the tests (the CLI exports its path), else the one on PATH.
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        var info = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "standard-problem-4", "--field", "3" }) info.ArgumentList.Add(a);
        info.Environment["NM_DEVICE"] = "cpu";
        using var p = Process.Start(info)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.AreEqual(2, p.ExitCode, stderr.Result);
        StringAssert.StartsWith(stderr.Result, "error: --field must be 1 or 2; got '3'.");
        Assert.IsFalse((stdout + stderr.Result).Contains("   at ", StringComparison.Ordinal));
    }
}
