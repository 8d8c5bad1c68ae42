namespace NeuralMag.Tests.State;

/// <summary>Ports of upstream tests/unit/mesh_test.py.</summary>
[TestClass]
public sealed class MeshTests
{
    [TestMethod] public void Volume() => Assert.AreEqual(600.0, new Mesh(new[] { 10, 10, 1 }, new[] { 1.0, 2.0, 3.0 }).Volume, 1e-12);
    [TestMethod] public void Volume2D() => Assert.AreEqual(600.0, new Mesh(new[] { 10, 10 }, new[] { 1.0, 2.0, 3.0 }).Volume, 1e-12);
    [TestMethod] public void NumCells() => Assert.AreEqual(100, new Mesh(new[] { 10, 10, 1 }, new[] { 1.0, 2.0, 3.0 }).NumCells);
    [TestMethod] public void NumCells2D() => Assert.AreEqual(100, new Mesh(new[] { 10, 10 }, new[] { 1.0, 2.0, 3.0 }).NumCells);
    [TestMethod] public void Str() => Assert.AreEqual("10x10x10_1e-09x2e-09x3e-09", new Mesh(new[] { 10, 10, 10 }, new[] { 1e-9, 2e-9, 3e-9 }).ToString());
    [TestMethod] public void Str1D() => Assert.AreEqual("10_1e-09x2e-09x3e-09", new Mesh(new[] { 10 }, new[] { 1e-9, 2e-9, 3e-9 }).ToString());
}
