using System.Diagnostics;
using System.Globalization;
using NeuralMag.Bench;

// Benchmark harness: `dotnet run -c Release --project bench/NeuralMag.Bench [-- --quick] [--filter TEXT[,TEXT]] [--out report.md]`.
// Every suite measures its subject next to a baseline in the same run and reports the ratio.
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
const string Usage = "usage: NeuralMag.Bench [--quick] [--filter TEXT[,TEXT...]] [--out report.md]";
bool quick = false;
string? filter = null, outFile = null;
for (int i = 0; i < args.Length; i++)
{
    string? Value(string flag, string? current)
    {
        if (current != null) throw new ArgumentException($"{flag} is given twice.");
        if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
            throw new ArgumentException($"{flag} needs a value ({(flag == "--out" ? "the report file" : "suite names, comma-separated")}).");
        return args[++i];
    }
    try
    {
        switch (args[i])
        {
            case "--help" or "-h": Console.WriteLine(Usage); return 0;
            case "--quick": quick = true; break;
            case "--filter": filter = Value("--filter", filter); break;
            case "--out": outFile = Value("--out", outFile); break;
            default: throw new ArgumentException($"unknown argument '{args[i]}'.");
        }
    }
    catch (ArgumentException e) { return UsageError(e.Message); }
}
var filters = filter?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
if (filters is { Length: 0 }) return UsageError("--filter needs at least one suite name.");

var allSuites = typeof(IBenchSuite).Assembly.GetTypes()
    .Where(t => typeof(IBenchSuite).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
    .Select(t => (IBenchSuite)Activator.CreateInstance(t)!)
    .OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
var suites = allSuites.Where(s => filters == null || filters.Any(f => s.Name.Contains(f, StringComparison.OrdinalIgnoreCase))).ToList();
if (suites.Count == 0) return UsageError($"--filter {filter} matches no suite (suites: {string.Join(", ", allSuites.Select(s => s.Name))}).");
// The report is written after the runs: check its path first, so that a bad one does not cost the whole run.
if (outFile != null)
{
    if (Directory.Exists(outFile)) return UsageError($"--out {outFile} is a folder; give a file name.");
    bool existed = File.Exists(outFile);
    try { using (File.Open(outFile, FileMode.OpenOrCreate, FileAccess.Write)) { } if (!existed) File.Delete(outFile); }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
    {
        return UsageError($"--out {outFile}: the report file cannot be written ({e.Message.Replace('\n', ' ')}).");
    }
}

var report = new System.Text.StringBuilder();
report.AppendLine($"Machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
report.AppendLine();
report.AppendLine("| suite | case | time | baseline | baseline time | ratio |");
report.AppendLine("|---|---|---:|---|---:|---:|");
Console.WriteLine(report.ToString());
// Progress on standard error (the report on standard output stays clean); the first Ctrl+C stops after the row
// being measured and still writes the report of the rows done, a second one ends the process.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (cancel.IsCancellationRequested) return;
    e.Cancel = true;
    cancel.Cancel();
    Console.Error.WriteLine("[bench] stopping after the current row (Ctrl+C again ends at once)");
};
var clock = Stopwatch.StartNew();
int done = 0;
foreach (var suite in suites)
{
    if (cancel.IsCancellationRequested) break;
    Console.Error.WriteLine($"[bench {++done}/{suites.Count}] {suite.Name} (elapsed {clock.Elapsed:hh\\:mm\\:ss})");
    foreach (var row in suite.Run(quick))
    {
        var line = $"| {suite.Name} | {row.Case} | {BenchTimer.Format(row.Seconds)} | {row.Baseline} | {BenchTimer.Format(row.BaselineSeconds)} | {Ratio(row.Seconds / row.BaselineSeconds)} |";
        Console.WriteLine(line);
        report.AppendLine(line);
        if (cancel.IsCancellationRequested) break;
    }
}
if (cancel.IsCancellationRequested) report.AppendLine().AppendLine($"(stopped by the user after {done} of {suites.Count} suites)");
if (outFile != null) File.WriteAllText(outFile, report.ToString());
return cancel.IsCancellationRequested ? 130 : 0;

int UsageError(string message)
{
    Console.Error.WriteLine($"error: {message}");
    Console.Error.WriteLine(Usage);
    return 2;
}

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
