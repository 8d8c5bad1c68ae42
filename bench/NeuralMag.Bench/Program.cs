using System.Diagnostics;
using System.Globalization;
using NeuralMag.Bench;

// Benchmark harness: `dotnet run -c Release --project bench/NeuralMag.Bench [-- --quick] [--filter TEXT[,TEXT]] [--out report.md]`.
// Every suite measures its subject next to a baseline in the same run and reports the ratio.
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var argList = args.ToList();
bool quick = argList.Remove("--quick");
string? filter = null, outFile = null;
int fi = argList.IndexOf("--filter");
if (fi >= 0) { filter = argList[fi + 1]; argList.RemoveRange(fi, 2); }
int oi = argList.IndexOf("--out");
if (oi >= 0) { outFile = argList[oi + 1]; argList.RemoveRange(oi, 2); }

if (argList.Count > 0)
{
    Console.Error.WriteLine(argList[0] is "--help" or "-h" ? "" : $"Unknown argument '{argList[0]}'.");
    Console.Error.WriteLine("usage: NeuralMag.Bench [--quick] [--filter TEXT[,TEXT...]] [--out report.md]");
    return argList[0] is "--help" or "-h" ? 0 : 2;
}
var filters = filter?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

var suites = typeof(IBenchSuite).Assembly.GetTypes()
    .Where(t => typeof(IBenchSuite).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
    .Select(t => (IBenchSuite)Activator.CreateInstance(t)!)
    .Where(s => filters == null || filters.Any(f => s.Name.Contains(f, StringComparison.OrdinalIgnoreCase)))
    .OrderBy(s => s.Name, StringComparer.Ordinal).ToList();

var report = new System.Text.StringBuilder();
report.AppendLine($"Machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
report.AppendLine();
report.AppendLine("| suite | case | time | baseline | baseline time | ratio |");
report.AppendLine("|---|---|---:|---|---:|---:|");
Console.WriteLine(report.ToString());
foreach (var suite in suites)
{
    foreach (var row in suite.Run(quick))
    {
        var line = $"| {suite.Name} | {row.Case} | {BenchTimer.Format(row.Seconds)} | {row.Baseline} | {BenchTimer.Format(row.BaselineSeconds)} | {Ratio(row.Seconds / row.BaselineSeconds)} |";
        Console.WriteLine(line);
        report.AppendLine(line);
    }
}
if (outFile != null) File.WriteAllText(outFile, report.ToString());
return 0;

static string Ratio(double r) => r >= 0.1 ? r.ToString("F2") : r.ToString("G3");

namespace NeuralMag.Bench
{
    /// <summary>One row: a measured case and the baseline it is compared with, both timed in this run.</summary>
    public sealed record BenchRow(string Case, double Seconds, string Baseline, double BaselineSeconds);

    /// <summary>A group of measurements. Implementations are discovered by reflection.</summary>
    public interface IBenchSuite
    {
        string Name { get; }
        IEnumerable<BenchRow> Run(bool quick);
    }

    public static class BenchTimer
    {
        /// <summary>Median wall time of <paramref name="reps"/> runs after <paramref name="warmup"/> unmeasured ones.</summary>
        public static double Median(Action action, int reps = 5, int warmup = 1)
        {
            for (int i = 0; i < warmup; i++) action();
            var t = new double[reps];
            for (int i = 0; i < reps; i++)
            {
                var sw = Stopwatch.StartNew();
                action();
                t[i] = sw.Elapsed.TotalSeconds;
            }
            Array.Sort(t);
            return t[reps / 2];
        }

        public static string Format(double s) => s >= 1 ? $"{s:F2} s" : s >= 1e-3 ? $"{s * 1e3:F2} ms" : $"{s * 1e6:F1} µs";
    }
}
