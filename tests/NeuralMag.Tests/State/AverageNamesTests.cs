using NeuralMag.AD;

namespace NeuralMag.Tests.State;

/// <summary>Function.Avg (volume-weighted, upstream's avg) against Function.EntryMean (every stored value once).</summary>
[TestClass]
public sealed class AverageNamesTests
{
    /// <summary>
    /// A nodal field that is 1 at one corner node of a 2 x 1 x 1 cell mesh and 0 at the other 11 nodes: its
    /// trilinear interpolant integrates to V_cell / 8 over the domain of volume 2 V_cell, so Avg = 1/16, while
    /// EntryMean counts the 12 nodes alike, 1/12.
    /// </summary>
    [TestMethod]
    public void AvgWeighsNodesByVolumeAndEntryMeanCountsThemOnce()
    {
        var state = new NeuralMag.State(new Mesh(new[] { 2, 1, 1 }, new[] { 2e-9, 3e-9, 5e-9 }));
        var values = new double[3 * 2 * 2];
        values[0] = 1.0;
        var f = new Function(state, tensor: state.Tensor(values, new[] { 3, 2, 2 }));
        Assert.AreEqual(1.0 / 16, f.Avg().Item(), 1e-15);
        Assert.AreEqual(1.0 / 12, f.EntryMean().Item(), 1e-15);
    }

    /// <summary>On a uniform field the two agree, per component.</summary>
    [TestMethod]
    public void BothEqualAUniformValue()
    {
        var state = new NeuralMag.State(new Mesh(new[] { 3, 2, 1 }, new[] { 1e-9, 1e-9, 1e-9 }));
        var m = new VectorFunction(state).Fill(new[] { 0.6, 0.0, 0.8 });
        UpstreamStateTests.AssertClose(new[] { 0.6, 0.0, 0.8 }, m.Avg().ToArray(), 1e-15);
        UpstreamStateTests.AssertClose(new[] { 0.6, 0.0, 0.8 }, m.EntryMean().ToArray(), 1e-15);
    }

    /// <summary>The ScalarLogger writes a Function as its Avg, as upstream's logger calls avg(): 1/16 here, not 1/12.</summary>
    [TestMethod]
    public void ScalarLoggerLogsTheVolumeWeightedAverage()
    {
        var state = new NeuralMag.State(new Mesh(new[] { 2, 1, 1 }, new[] { 2e-9, 3e-9, 5e-9 }));
        var values = new double[3 * 2 * 2];
        values[0] = 1.0;
        state["f"] = new Function(state, tensor: state.Tensor(values, new[] { 3, 2, 2 }), name: "f");
        var path = Path.Combine(Path.GetTempPath(), $"nm_avglog_{Guid.NewGuid():N}.dat");
        try
        {
            using (var log = new NeuralMag.Loggers.ScalarLogger(path, new object[] { "f" })) log.Log(state);
            var row = File.ReadAllLines(path).Single(l => !l.StartsWith('#'));
            Assert.AreEqual(1.0 / 16, double.Parse(row.Trim(), System.Globalization.CultureInfo.InvariantCulture), 1e-15);
        }
        finally { File.Delete(path); }
    }
}
