using NeuralMag.Cluster;
using NeuralMag.Demos;
using NeuralMag.Sweeps;

namespace NeuralMag.Sweep.Tests;

[TestClass]
public sealed class LocalSiloTests
{
    [TestMethod]
    public async Task InProcessSiloRunsASweepRecordsAFailureAndResumes()
    {
        var file = SweepFile.Parse("""
            { "name": "local", "model": "trivial", "settings": { "failWhen": { "b": 1 } },
              "grid": { "a": [1, 2, 3, 4], "b": { "from": 0, "to": 1, "count": 2 } } }
            """, quick: false);
        var path = TempPaths.StoreFile();
        using var store = new CsvSweepStore(path);
        var summary = await SweepCommand.RunOnLocalSilo(file, DemoSweepModels.Catalog(), store, parallel: 3, progress: null);
        Assert.AreEqual(8, summary.Rows.Count);
        Assert.AreEqual(8, summary.Ran);
        Assert.AreEqual(4, summary.Failed);
        foreach (var row in summary.Rows)
        {
            var p = row.Point;
            if (p["b"] == 1)
            {
                Assert.AreEqual(SweepStatus.Failed, row.Status);
                Assert.AreEqual($"InvalidOperationException: point {p.Key} fails on purpose (failWhen b = 1).", row.Error);
            }
            else
            {
                Assert.AreEqual(SweepStatus.Ok, row.Status, row.Error);
                Assert.AreEqual(p["a"] + p["b"], row.Output("sum"));
                StringAssert.StartsWith(row.Worker, "silo 127.0.0.1:");
            }
        }
        var again = await SweepCommand.RunOnLocalSilo(file, DemoSweepModels.Catalog(), store, parallel: 3, progress: null);
        Assert.AreEqual(8, again.Skipped);
        Assert.AreEqual(0, again.Ran);
        Assert.AreEqual(8, (await store.ReadAllAsync("local")).Count);
    }

    [TestMethod]
    public async Task BatchedSweepOnTheSiloRunsGroupsWritesOneRowPerPointAndResumes()
    {
        var file = SweepFile.Parse("""
            { "name": "local-batch", "model": "trivial", "settings": { "failWhen": { "a": 3 } }, "batch": 3,
              "grid": { "a": [1, 2, 3, 4, 5], "b": [0, 1] } }
            """, quick: false);
        Assert.AreEqual(3, file.Batch);
        var path = TempPaths.StoreFile();
        using var store = new CsvSweepStore(path);
        var summary = await SweepCommand.RunOnLocalSilo(file, DemoSweepModels.Catalog(), store, parallel: 2, progress: null);
        Assert.AreEqual(10, summary.Rows.Count);
        Assert.AreEqual(10, summary.Ran);
        Assert.AreEqual(2, summary.Failed, "the two points with a = 3 fail alone; their groups' other points are fine");
        foreach (var row in summary.Rows)
            if (row.Point["a"] == 3) Assert.AreEqual($"InvalidOperationException: point {row.PointKey} fails on purpose (failWhen a = 3).", row.Error);
            else Assert.AreEqual(row.Point["a"] + row.Point["b"], row.Output("sum"));
        var again = await SweepCommand.RunOnLocalSilo(file, DemoSweepModels.Catalog(), store, parallel: 2, progress: null);
        Assert.AreEqual(10, again.Skipped);
        Assert.AreEqual(0, again.Ran);
        Assert.AreEqual(10, (await store.ReadAllAsync("local-batch")).Count);
        StringAssert.Contains(Assert.ThrowsExactly<FormatException>(() => SweepFile.Parse("""{ "name": "x", "model": "trivial", "grid": { "a": [1] }, "batch": 0 }""", false)).Message, "\"batch\"");
    }

    [TestMethod]
    public async Task RepeatedAndConcurrentGrainCallsWriteOneRow()
    {
        var path = TempPaths.StoreFile();
        using var store = new CsvSweepStore(path);
        using var silo = await SweepHosts.StartLocalSiloAsync(store, DemoSweepModels.Catalog());
        var grains = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<IGrainFactory>(silo.Services);
        var job = new PointJob { SweepId = "g", PointKey = "a=1;b=2", Model = "trivial", SettingsJson = """{ "sleepMs": 50 }""" };
        var grain = grains.GetGrain<ISweepPointGrain>("g|a=1;b=2");
        // Two calls at once (as a caller retrying while the first is still running) and one after.
        var both = await Task.WhenAll(grain.RunAsync(job), grain.RunAsync(job));
        var later = await grain.RunAsync(job);
        Assert.AreEqual(1, both.Count(o => o.RanNow));
        Assert.IsFalse(later.RanNow);
        Assert.AreEqual("sum=3;count=2", later.Outputs);
        Assert.AreEqual(1, (await store.ReadAllAsync("g")).Count);
        await silo.StopAsync();
    }

    [TestMethod]
    public void SweepCommandRunsAFileAndReportsBadOnes()
    {
        var dir = TempPaths.New("cli");
        Directory.CreateDirectory(dir);
        var json = Path.Combine(dir, "s.json");
        File.WriteAllText(json, """{ "name": "cli", "model": "trivial", "grid": { "a": [1, 2] }, "points": [ { "a": 5 } ] }""");
        foreach (var mode in new[] { "--sequential", null })
        {
            var args = new List<string> { "sweep", json, "--out", Path.Combine(dir, mode ?? "silo") };
            if (mode != null) args.Add(mode);
            int code = DemoRunner.Run(args.ToArray(), new StringWriter(), new StringWriter(), _ => null);
            Assert.AreEqual(0, code);
            var table = File.ReadAllLines(Path.Combine(dir, mode ?? "silo", "sweep", "cli", "table.csv"));
            Assert.AreEqual("a,status,wall_s,sum,count,error", table[0]);
            CollectionAssert.AreEqual(new[] { "1", "2", "5" }, table.Skip(1).Select(l => l.Split(',')[3]).ToArray());
        }
        File.WriteAllText(json, """{ "name": "cli", "model": "nonesuch", "grid": { "a": [1] } }""");
        var err = new StringWriter();
        Assert.AreEqual(DemoRunner.UsageError, DemoRunner.Run(["sweep", json, "--sequential"], new StringWriter(), err, _ => null));
        StringAssert.Contains(err.ToString(), "unknown sweep model 'nonesuch'");
    }

    [TestMethod]
    public void SweepFileErrorsNameTheField()
    {
        var e = Assert.ThrowsExactly<FormatException>(() => SweepFile.Parse("""{ "name": "x", "model": "trivial", "grid": { "a": "many" } }""", false));
        StringAssert.Contains(e.Message, "grid.a");
        e = Assert.ThrowsExactly<FormatException>(() => SweepFile.Parse("""{ "name": "x", "model": "trivial" }""", false));
        StringAssert.Contains(e.Message, "no points");
        var quick = SweepFile.Parse("""{ "name": "x", "model": "trivial", "grid": { "a": [1, 2, 3] }, "quick": { "grid": { "a": [1] } } }""", true);
        Assert.AreEqual(1, quick.Points.Count);
        var a = Assert.ThrowsExactly<ArgumentException>(() => DemoSweepModels.Catalog().Create("trivial", """{ "sleep": 1 }"""));
        StringAssert.Contains(a.Message, "unknown setting 'sleep'");
    }
}
