using System.Globalization;
using NeuralMag.AD;
using NeuralMag.Verification;

namespace NeuralMag.Demos.Verify;

/// <summary>
/// <c>verify [&lt;path&gt;...] [--device cpu|cuda|opencl] [--dtype float64|float32] [--rtol X]</c>: compares our fields,
/// energies and gradients with upstream NeuralMag's numbers in reference-case folders, one line per check, then
/// "N passed, N failed". Exit code 0 exactly when nothing failed.
/// </summary>
public sealed class VerifyCommand : IDemo
{
    public string Name => "verify";
    public string Description => "check fields, energies and gradients against reference-case folders (see --help)";
    public IReadOnlyList<DemoFlag> Flags { get; } = new[] { new DemoFlag("--rtol", "X", "relative tolerance (a positive number)") };
    public string? Positional => "<path>...";
    public string Usage => Help;

    public static string Help =>
        $"""
        usage: NeuralMag.Demos verify [<path>...] [--device cpu|cuda|opencl] [--dtype float64|float32] [--rtol X]

        Each path is a case folder (one holding inputs.json) or a folder whose subfolders are cases. Without a path:
        the cases of every reference-data root (data/reference of the repository or beside the program, plus
        shared/reference-data and $NM_REFERENCE_DATA when present), each case once, the shared copy winning.
        One line per check: <case> <check> rel_h=<x> rel_E=<y> PASS|FAIL, where a relative error is the
        max-norm of the difference over the max-norm of the reference; gradient files report rel_grad and rel_value.
        Default relative tolerance: {ReferenceVerifier.DefaultTolerance(DType.Float64):0e+0} in float64, {ReferenceVerifier.DefaultTolerance(DType.Float32):0e+0} in float32
        (float32 meets about 1e-7 on most checks; next to empty cells rho = eps differs between precisions, up to 2.1e-4).
        """;

    public int Run(DemoOptions options)
    {
        var args = options.Arguments.ToList();
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.WriteLine(Help);
            return 0;
        }
        double? rtol = null;
        int ri = args.IndexOf("--rtol");
        if (ri >= 0)
        {
            if (ri + 1 >= args.Count || !double.TryParse(args[ri + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out var r) || !(r > 0))
            {
                Console.Error.WriteLine("verify: --rtol needs a positive number, e.g. --rtol 1e-8");
                return 2;
            }
            rtol = r;
            args.RemoveRange(ri, 2);
        }
        var unknown = args.FirstOrDefault(a => a.StartsWith("--", StringComparison.Ordinal));
        if (unknown != null)
        {
            Console.Error.WriteLine($"verify: unknown option '{unknown}'.");
            Console.Error.WriteLine(Help);
            return 2;
        }
        // No path: every case of every reference-data root (the repository's data/reference, plus shared/reference-data
        // and $NM_REFERENCE_DATA when present), one folder per case name with the shared copy winning.
        var caseLists = new List<(string Path, List<string> Cases)>();
        if (args.Count == 0)
        {
            var roots = NeuralMag.IO.ReferenceCase.Roots();
            if (roots.Count == 0)
            {
                Console.Error.WriteLine("verify: give at least one case folder (no data/reference or shared/reference-data folder was found to default to).");
                return 2;
            }
            Console.WriteLine($"verify: reference-data roots {string.Join(", ", roots)}");
            caseLists.Add((string.Join(", ", roots), NeuralMag.IO.ReferenceCase.AllCaseFolders(roots).Select(c => c.Directory).ToList()));
        }
        else caseLists.AddRange(args.Select(path => (path, NeuralMag.IO.ReferenceCase.FindCaseFolders(path).ToList())));

        var verifier = new ReferenceVerifier(Config.Device, Config.DType, rtol);
        Console.WriteLine($"verify: device {Config.Device}, dtype {Config.DType.Name()}, rtol {verifier.Tolerance:0.##e+0}");
        int passed = 0, failed = 0;
        foreach (var (path, cases) in caseLists)
        {
            if (cases.Count == 0)
            {
                Console.WriteLine(CheckResult.Failure(path, "inputs", $"no case folder (a folder holding inputs.json) found at '{path}'"));
                failed++;
                continue;
            }
            foreach (var dir in cases)
            {
                foreach (var result in verifier.VerifyCase(dir))
                {
                    Console.WriteLine(result);
                    if (result.Passed) passed++;
                    else failed++;
                }
            }
        }
        Console.WriteLine($"{passed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }
}
