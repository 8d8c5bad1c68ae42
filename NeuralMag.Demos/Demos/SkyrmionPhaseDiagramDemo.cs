using NeuralMag.Sweeps;
using NeuralMag.Cluster;

namespace NeuralMag.Demos;

/// <summary>
/// A skyrmion stability map through the sweep engine: the sweep file Sweeps/skyrmion-phase-diagram.json (a thin
/// disk with interface DMI D and a perpendicular field B, relaxed from a seeded skyrmion, model skyrmion-disk) runs on
/// one Orleans silo in this process, one grain per (D, B) point, rows in a CSV store. The map (skyrmion number Q over
/// D and B) is written as a PNG. Physics check, on the points whose relaxation converged to the seeded skyrmion or to
/// the collapsed state (a point stopped at maxIter or in another texture is left undecided; at most a quarter may
/// be): every point ran; the skyrmion survives at the largest D without
/// field and collapses at the smallest D in the largest field; along B, a skyrmion at some field implies one at every
/// smaller field (the Zeeman energy of the reversed core grows with B), and the collapse field does not decrease
/// with D (DMI lowers the energy of the skyrmion's wall).
/// </summary>
public sealed class SkyrmionPhaseDiagramDemo : IDemo
{
    public string Name => "skyrmion-phase-diagram";
    public string Description => "skyrmion stability map over DMI D and field B, run as a sweep on a local Orleans silo (map PNG)";

    public IReadOnlyList<DemoFlag> Flags { get; } = new DemoFlag[]
    {
        new("--resume", null, "keep the rows of an earlier run (default: start afresh)"),
        new("--parallel", "N", "points relaxed at once (default 1)"),
    };

    public int Run(DemoOptions options)
    {
        var outDir = options.OutputFor(Name);
        var file = SweepFile.Load(Path.Combine(AppContext.BaseDirectory, "Sweeps", "skyrmion-phase-diagram.json"), options.Quick);
        int parallel = options.Value("--parallel") is { } ps ? int.TryParse(ps, out var pv) && pv >= 1 ? pv : throw new CommandLineException($"--parallel must be an integer >= 1; got '{ps}'.") : 1;
        var storePath = Path.Combine(outDir, "store.csv");
        if (!options.Has("--resume") && File.Exists(storePath)) File.Delete(storePath);
        Console.WriteLine($"sweep {file.Name}: {file.Points.Count} points on one in-process Orleans silo");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        SweepSummary summary;
        using (var store = new CsvSweepStore(storePath))
            summary = SweepCommand.RunOnLocalSilo(file, DemoSweepModels.Catalog(), store, parallel, new SweepProgressPrinter()).GetAwaiter().GetResult();
        Console.WriteLine($"  {summary.Ran} points run, {summary.Skipped} reused, {summary.Failed} failed, {sw.Elapsed.TotalSeconds:F1} s");
        Sweep.WriteTable(Path.Combine(outDir, "table.csv"), summary.Rows);

        var ds = file.Points.Select(p => p["D"]).Distinct().Order().ToArray();
        var bs = file.Points.Select(p => p["B"]).Distinct().Order().ToArray();
        var byKey = summary.Rows.ToDictionary(r => (r.Point["D"], r.Point["B"]));
        bool allOk = summary.Rows.Count == file.Points.Count && summary.Rows.All(r => r.Status == SweepStatus.Ok);
        if (!allOk)
        {
            foreach (var r in summary.Rows.Where(r => r.Status != SweepStatus.Ok)) Console.WriteLine($"  failed {r.PointKey}: {r.Error}");
            Console.WriteLine("FAIL: not every point relaxed");
            return 1;
        }
        // A point counts where the minimizer converged; a point stopped at maxIter (slow collapse dynamics near the
        // boundary) is left undecided, blank in the map and "?" in the table.
        bool Known(int i, int j) => byKey[(ds[i], bs[j])].Output("converged") == 1;
        bool Sk(int i, int j) => Known(i, j) && byKey[(ds[i], bs[j])].Output("skyrmion") == 1;
        bool Gone(int i, int j) => Known(i, j) && byKey[(ds[i], bs[j])].Output("collapsed") == 1;
        // The map: rows = B (top: largest), columns = D.
        var q = new double[bs.Length, ds.Length];
        for (int i = 0; i < ds.Length; i++)
            for (int j = 0; j < bs.Length; j++) q[bs.Length - 1 - j, i] = Known(i, j) ? byKey[(ds[i], bs[j])].Output("Q") : double.NaN;
        var plt = new ScottPlot.Plot();
        var hm = plt.Add.Heatmap(q);
        hm.Colormap = new ScottPlot.Colormaps.Viridis();
        // ScottPlot's heatmap extent spans the centres of the first and last cells.
        hm.Extent = new ScottPlot.CoordinateRect(ds[0] * 1e3, ds[^1] * 1e3, bs[0], bs[^1]);
        plt.Add.ColorBar(hm).Label = "skyrmion number Q";
        plt.Title("Seeded skyrmion in a disk: Q after relaxation (blank: not converged)");
        plt.XLabel("interface DMI D (mJ/m²)");
        plt.YLabel("field B (T)");
        plt.SavePng(Path.Combine(outDir, "map.png"), 700, 550);
        Console.WriteLine("  seeded skyrmion kept (S), collapsed (.), another texture (o) or not converged (?); rows B (T), columns D (mJ/m^2):");
        Console.WriteLine("          " + string.Concat(ds.Select(d => $"{d * 1e3,6:F2}")));
        for (int j = bs.Length - 1; j >= 0; j--)
            Console.WriteLine($"  {bs[j],6:F2}  " + string.Concat(Enumerable.Range(0, ds.Length).Select(i => $"{(Sk(i, j) ? "S" : Gone(i, j) ? "." : Known(i, j) ? "o" : "?"),6}")));
        Console.WriteLine($"  wrote {outDir}/table.csv, map.png, store.csv");

        // No skyrmion above a collapsed point at the same D, none at a smaller D where a larger D has collapsed.
        var pairs = from i in Enumerable.Range(0, ds.Length) from j in Enumerable.Range(0, bs.Length) select (i, j);
        int alongB = pairs.Count(p => Sk(p.i, p.j) && Enumerable.Range(0, p.j).Any(j => Gone(p.i, j)));
        int alongD = pairs.Count(p => Sk(p.i, p.j) && Enumerable.Range(p.i + 1, ds.Length - p.i - 1).Any(i => Gone(i, p.j)));
        bool corners = Sk(ds.Length - 1, 0) && Gone(0, bs.Length - 1);
        int unknown = pairs.Count(p => !Sk(p.i, p.j) && !Gone(p.i, p.j));
        Console.WriteLine($"  classified {pairs.Count() - unknown} of {pairs.Count()}; skyrmions above a collapse along B: {alongB}, at a smaller D than a collapse: {alongD}; " +
                          $"skyrmion at the largest D and B = 0, collapse at the smallest D in the largest B: {corners}");
        bool ok = alongB == 0 && alongD == 0 && corners && unknown <= pairs.Count() / 4;
        Console.WriteLine(ok ? "PASS: skyrmion stability region grows with D and ends at a collapse field" : "FAIL");
        return ok ? 0 : 1;
    }
}
