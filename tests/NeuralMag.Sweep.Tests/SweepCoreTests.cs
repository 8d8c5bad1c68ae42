using NeuralMag.Sweeps;

namespace NeuralMag.Sweep.Tests;

[TestClass]
public sealed class SweepCoreTests
{
    private static readonly SweepPointFunction Sum = (p, _) => new[] { new KeyValuePair<string, double>("sum", p.Parameters.Sum(q => q.Value)) };

    [TestMethod]
    public void GridOrdersAxesLastFastestAndKeysRoundTrip()
    {
        var points = SweepSpace.Grid(new[] { new SweepAxis("D", new[] { 1e-3, 2e-3 }), SweepAxis.Linear("B", 0, 0.2, 3) }, new[] { "skyrmion" });
        CollectionAssert.AreEqual(new[]
        {
            "D=0.001;B=0;m0=skyrmion", "D=0.001;B=0.1;m0=skyrmion", "D=0.001;B=0.2;m0=skyrmion",
            "D=0.002;B=0;m0=skyrmion", "D=0.002;B=0.1;m0=skyrmion", "D=0.002;B=0.2;m0=skyrmion",
        }, points.Select(p => p.Key).ToArray());
        // 0.1 is not exact in binary: the key carries the round-trip digits, so parsing gives the same double back.
        var third = 1.0 / 3;
        var p = new SweepPoint(new[] { new KeyValuePair<string, double>("x", third) });
        Assert.AreEqual(third, SweepPoint.Parse(p.Key)["x"]);
        Assert.AreEqual("skyrmion", SweepPoint.Parse(points[0].Key).InitialState);
        Assert.ThrowsExactly<ArgumentException>(() => SweepSpace.List(new[] { points[0], points[0] }));
        Assert.ThrowsExactly<ArgumentException>(() => new SweepPoint(new[] { new KeyValuePair<string, double>("a;b", 1) }));
        Assert.ThrowsExactly<ArgumentException>(() => new SweepPoint(new[] { new KeyValuePair<string, double>("a", double.NaN) }));
    }

    [TestMethod]
    public async Task FailedPointIsRecordedWithItsMessageAndTheSweepGoesOn()
    {
        var path = TempPaths.StoreFile();
        var points = SweepSpace.Grid(new[] { new SweepAxis("a", new[] { 1.0, 2, 3, 4 }) });
        SweepPointFunction f = (p, ct) => p["a"] == 2 ? throw new InvalidOperationException("demag diverged at a = 2") : Sum(p, ct);
        using var store = new CsvSweepStore(path);
        var summary = await NeuralMag.Sweeps.Sweep.RunAsync("s", points, f, store);
        Assert.AreEqual(4, summary.Ran);
        Assert.AreEqual(1, summary.Failed);
        Assert.AreEqual(4, summary.Rows.Count);
        var failed = summary.Rows.Single(r => r.Status == SweepStatus.Failed);
        Assert.AreEqual("a=2", failed.PointKey);
        Assert.AreEqual("InvalidOperationException: demag diverged at a = 2", failed.Error);
        Assert.AreEqual(0, failed.Outputs.Count);
        CollectionAssert.AreEqual(new[] { 1.0, 3, 4 }, summary.Rows.Where(r => r.Status == SweepStatus.Ok).Select(r => r.Output("sum")).ToArray());
    }

    [TestMethod]
    public async Task RerunSkipsDonePointsAcrossReopenedStores()
    {
        var path = TempPaths.StoreFile();
        var points = SweepSpace.Grid(new[] { new SweepAxis("a", new[] { 1.0, 2, 3, 4, 5 }) });
        int calls = 0;
        using var cts = new CancellationTokenSource();
        SweepPointFunction stopAfterTwo = (p, ct) =>
        {
            if (++calls == 3) { cts.Cancel(); ct.ThrowIfCancellationRequested(); }
            return Sum(p, ct);
        };
        using (var store = new CsvSweepStore(path))
            await Assert.ThrowsExactlyAsync<OperationCanceledException>(() => NeuralMag.Sweeps.Sweep.RunAsync("s", points, stopAfterTwo, store, cancellationToken: cts.Token));
        // A torn last line (a crash while writing) is not a row.
        File.AppendAllText(path, "s,a=3,ok,0.1,w,2026-01-01T00:00:00.0000000Z,\"sum=");
        calls = 0;
        var reports = new List<SweepProgress>();
        using (var store = new CsvSweepStore(path))
        {
            Assert.AreEqual(2, (await store.ReadAllAsync("s")).Count);
            var summary = await NeuralMag.Sweeps.Sweep.RunAsync("s", points, (p, ct) => { calls++; return Sum(p, ct); }, store, new SyncProgress(reports));
            Assert.AreEqual(2, summary.Skipped);
            Assert.AreEqual(3, summary.Ran);
            Assert.AreEqual(3, calls);
            CollectionAssert.AreEqual(new[] { 1.0, 2, 3, 4, 5 }, summary.Rows.Select(r => r.Output("sum")).ToArray());
        }
        Assert.AreEqual(5, reports[^1].Done);
        using (var store = new CsvSweepStore(path))
        {
            calls = 0;
            var again = await NeuralMag.Sweeps.Sweep.RunAsync("s", points, (p, ct) => { calls++; return Sum(p, ct); }, store);
            Assert.AreEqual(0, calls);
            Assert.AreEqual(5, again.Skipped);
            Assert.AreEqual(5, (await store.ReadAllAsync("s")).Count);
        }
    }

    [TestMethod]
    public async Task StoreWritesARowOnce()
    {
        using var store = new CsvSweepStore(TempPaths.StoreFile());
        var first = new SweepRow("s", "a=1", SweepStatus.Ok, new[] { new KeyValuePair<string, double>("x", 1) }, 0.5, null, "w1", DateTime.UtcNow);
        Assert.IsTrue(await store.TryWriteAsync(first));
        Assert.IsFalse(await store.TryWriteAsync(first with { Outputs = new[] { new KeyValuePair<string, double>("x", 2) }, Worker = "w2" }));
        var row = await store.ReadAsync("s", "a=1");
        Assert.IsNotNull(row);
        Assert.AreEqual(1.0, row.Output("x"));
        Assert.AreEqual("w1", row.Worker);
    }

    [TestMethod]
    public void NonFiniteOutputIsAFailedPoint()
    {
        var row = NeuralMag.Sweeps.Sweep.RunPoint("s", SweepPoint.Parse("a=1"), (_, _) => new[] { new KeyValuePair<string, double>("E", double.NaN) }, "w");
        Assert.AreEqual(SweepStatus.Failed, row.Status);
        Assert.AreEqual("InvalidOperationException: output 'E' = NaN is not finite.", row.Error);
    }

    private sealed class SyncProgress(List<SweepProgress> list) : IProgress<SweepProgress>
    {
        public void Report(SweepProgress value) => list.Add(value);
    }
}
