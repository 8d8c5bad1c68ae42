using NeuralMag.AD;

namespace NeuralMag.Tests.State;

/// <summary>Every bad mesh argument fails in the constructor with an exception that names the argument and the value.</summary>
[TestClass]
public sealed class MeshBadInputTests
{
    private static readonly double[] Nm = { 1e-9, 1e-9, 1e-9 };

    private static void Contains(Exception e, params string[] words)
    {
        foreach (var w in words) StringAssert.Contains(e.Message, w);
    }

    [TestMethod]
    public void MeshTooLargeForOneTensorIsRefusedInsteadOfOverflowing()
    {
        // 4000^3 cells: the cell count overflows int (it read -424509440), the nodal m would need 1.9e11 elements.
        var e = Assert.ThrowsExactly<ArgumentException>(() => new Mesh(new[] { 4000, 4000, 4000 }, Nm));
        Assert.AreEqual("n", e.ParamName);
        Contains(e, "4000, 4000, 4000", "64,000,000,000 cells", "int.MaxValue");
    }

    [TestMethod]
    public void LargestMeshThatFitsHasExactCountsAndVolume()
    {
        // 3 * 1024 * 1024 * 682 = 2.1e9 node entries (periodic axes: nodes = cells) fit; counts and volume are exact.
        var mesh = new Mesh(new[] { 1024, 1024, 682 }, Nm, Pbc.True);
        Assert.AreEqual(1024 * 1024 * 682, mesh.NumCells);
        Assert.AreEqual(mesh.NumCells, mesh.NumNodes);
        Assert.AreEqual(1024.0 * 1024 * 682 * 1e-27, mesh.Volume, 1e-12 * mesh.Volume);
        Assert.ThrowsExactly<ArgumentException>(() => new Mesh(new[] { 1024, 1024, 683 }, Nm, Pbc.True));
    }

    [TestMethod]
    public void NonFiniteOriginIsRefused()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => new Mesh(new[] { 2, 2, 2 }, Nm, new[] { 0, double.NaN, 0 }));
        Assert.AreEqual("origin", e.ParamName);
        Contains(e, "origin[1]", "NaN", "finite");
        Assert.ThrowsExactly<ArgumentException>(() => new Mesh(new[] { 2, 2, 2 }, Nm, new[] { double.PositiveInfinity, 0, 0 }));
    }

    [TestMethod]
    public void CellVolumeThatUnderflowsIsRefused()
    {
        // Each entry is positive, but dx*dy*dz = 0.
        var e = Assert.ThrowsExactly<ArgumentException>(() => new Mesh(new[] { 2, 2, 2 }, new[] { 1e-320, 1e-320, 1e-320 }));
        Assert.AreEqual("dx", e.ParamName);
        Contains(e, "cell volume", "underflows");
        Assert.ThrowsExactly<ArgumentException>(() => new Mesh(new[] { 2, 2, 2 }, new[] { 1e-200, 1e-200, 1e-9 }));
        Assert.ThrowsExactly<ArgumentException>(() => new Mesh(new[] { 2, 2, 2 }, new[] { 1e200, 1e200, 1 }));
    }

    [TestMethod]
    public void BadCellSizesAndCountsAreRefused()
    {
        Contains(Assert.ThrowsExactly<ArgumentException>(() => new Mesh(new[] { 2, 2, 2 }, new[] { 1e-9, double.NaN, 1e-9 })), "dx[1]", "NaN");
        Contains(Assert.ThrowsExactly<ArgumentException>(() => new Mesh(new[] { 2, 2, 2 }, new[] { 1e-9, -1e-9, 1e-9 })), "dx[1]", "positive");
        Contains(Assert.ThrowsExactly<ArgumentException>(() => new Mesh(new[] { 2, 2, 2 }, new[] { 1e-9, 1e-9 })), "3 entries");
        Contains(Assert.ThrowsExactly<ArgumentException>(() => new Mesh(new[] { 2, 0, 2 }, Nm)), "n[1] = 0", "positive");
        Contains(Assert.ThrowsExactly<ArgumentException>(() => new Mesh(new[] { 1, 1, 1, 1 }, Nm)), "1 to 3");
        Assert.ThrowsExactly<ArgumentNullException>(() => new Mesh(null!, Nm));
        Assert.ThrowsExactly<ArgumentNullException>(() => new Mesh(new[] { 2 }, null!));
    }

    [TestMethod]
    public void BadBoundaryConditionsAreRefused()
    {
        Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Pbc.Images(0)), "positive", "0");
        Contains(Assert.ThrowsExactly<ArgumentException>(() => new Mesh(new[] { 2, 2, 2 }, Nm, pbc: new[] { new Pbc(-1) })), "-1", "open");
        Contains(Assert.ThrowsExactly<ArgumentException>(() => new Mesh(new[] { 2, 2, 2 }, Nm, pbc: new[] { new Pbc(2.5) })), "2.5");
        Contains(Assert.ThrowsExactly<ArgumentException>(() => new Mesh(new[] { 2, 2, 2 }, Nm, pbc: new[] { new Pbc(double.NaN) })), "NaN");
        Contains(Assert.ThrowsExactly<ArgumentException>(() => new Mesh(new[] { 2, 2, 2 }, Nm, pbc: new Pbc[] { true, false })), "pbc needs");
    }

    [TestMethod]
    public void StateThatNeedsMoreMemoryThanAvailableFailsBeforeAllocating()
    {
        var mesh = new Mesh(new[] { 1000, 1000, 700 }, Nm);
        long need = NeuralMag.State.RequiredMemoryBytes(mesh, DType.Float64);
        Assert.AreEqual((2L * 1000 * 1000 * 700 + 3L * 1001 * 1001 * 701) * 8, need);
        var e = Assert.ThrowsExactly<InsufficientMemoryException>(() => NeuralMag.State.CheckMemory(mesh, DType.Float64, 16_000_000_000));
        Contains(e, "1000x1000x700", "28.1 GB", "16.0 GB", "fewer cells");
        NeuralMag.State.CheckMemory(mesh, DType.Float32, 16_000_000_000); // 14 GB: fits
        // The constructor applies the same check with the memory the runtime reports, so on this machine the large
        // mesh either fails at once (before any allocation) or fits.
        if (need > GC.GetGCMemoryInfo().TotalAvailableMemoryBytes)
            Assert.ThrowsExactly<InsufficientMemoryException>(() => new NeuralMag.State(mesh, Device.Cpu, DType.Float64));
    }
}
