using NeuralMag.Sweeps;

namespace NeuralMag.Sweep.Tests;

/// <summary>The batched sweep runner: groups of points in one call, one row per point, failures per point, resumable.</summary>
[TestClass]
public sealed class BatchedSweepTests
{
    private static IReadOnlyList<SweepPoint> Points(int n) =>
        SweepSpace.Grid(new[] { SweepAxis.Linear("x", 0, n - 1, n) }, Array.Empty<string>());

    [TestMethod]
    public async Task GroupsRunTogetherEachPointGetsItsRowAndARerunDoesNothing()
    {
        var points = Points(10);
        var groups = new List<int>();
        SweepBatchFunction square = (ps, _) =>
        {
            groups.Add(ps.Count);
            return ps.Select(p => SweepPointResult.Ok(new[] { new KeyValuePair<string, double>("x2", p["x"] * p["x"]) })).ToList();
        };
        var path = TempPaths.StoreFile();
        using (var store = new CsvSweepStore(path))
        {
            var summary = await NeuralMag.Sweeps.Sweep.RunAsync("sq", points, square, 4, store);
            CollectionAssert.AreEqual(new[] { 4, 4, 2 }, groups, "10 points in groups of up to 4, in order");
            Assert.AreEqual(10, summary.Ran);
            Assert.AreEqual(0, summary.Failed);
            for (int i = 0; i < 10; i++) Assert.AreEqual(i * (double)i, summary.Rows[i].Output("x2"));
        }
        groups.Clear();
        using (var store = new CsvSweepStore(path))
        {
            var again = await NeuralMag.Sweeps.Sweep.RunAsync("sq", points, square, 4, store);
            Assert.AreEqual(10, again.Skipped);
            Assert.AreEqual(0, again.Ran);
            Assert.AreEqual(0, groups.Count, "a second run of the same sweep does no work");
        }
    }

    [TestMethod]
    public async Task AFailedMemberFailsItsOwnRowAndAThrowingGroupIsRetriedPointByPoint()
    {
        var points = Points(6);
        var calls = new List<int>();
        SweepBatchFunction f = (ps, _) =>
        {
            calls.Add(ps.Count);
            if (ps.Any(p => p["x"] == 4)) throw new InvalidOperationException("x = 4 blows up");
            return ps.Select(p => p["x"] == 1 ? SweepPointResult.Fail("member 1 did not converge") : SweepPointResult.Ok(new[] { new KeyValuePair<string, double>("y", p["x"]) })).ToList();
        };
        using var store = new CsvSweepStore(TempPaths.StoreFile());
        var summary = await NeuralMag.Sweeps.Sweep.RunAsync("f", points, f, 3, store);
        Assert.AreEqual(6, summary.Rows.Count);
        Assert.AreEqual(2, summary.Failed);
        StringAssert.Contains(summary.Rows[1].Error, "member 1 did not converge");
        StringAssert.Contains(summary.Rows[4].Error, "x = 4 blows up");
        foreach (int i in new[] { 0, 2, 3, 5 }) Assert.AreEqual(SweepStatus.Ok, summary.Rows[i].Status, $"point {i}");
        CollectionAssert.AreEqual(new[] { 3, 3, 1, 1, 1 }, calls, "the group holding x = 4 failed as a whole and was retried point by point");
        await Assert.ThrowsExactlyAsync<ArgumentOutOfRangeException>(() => NeuralMag.Sweeps.Sweep.RunAsync("f", points, f, 0, store));
    }
}
