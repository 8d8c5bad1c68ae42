using NeuralMag.AD;

namespace NeuralMag.Tests.IO;

using State = NeuralMag.State;

/// <summary>
/// State.WriteVti / ReadVti round trips (upstream's state_io tests): 1D, 2D and 3D meshes, nodal vectors and cell
/// scalars, periodic axes (whose repeated boundary node layer is written and dropped again).
/// </summary>
[TestClass]
public sealed class StateVtiTests
{
    private static string TempFile() => Path.Combine(Path.GetTempPath(), $"nm_statevti_{Guid.NewGuid():N}.vti");

    private static double[] Wavy(int count, double phase) => Enumerable.Range(0, count).Select(i => Math.Sin(0.37 * i + phase)).ToArray();

    [TestMethod]
    [DataRow(new[] { 5 }, false)]
    [DataRow(new[] { 5, 4 }, false)]
    [DataRow(new[] { 5, 4, 3 }, false)]
    [DataRow(new[] { 5, 4, 3 }, true)]
    [DataRow(new[] { 6, 3 }, true)]
    public void NodalVectorsAndCellScalarsRoundTrip(int[] n, bool periodicX)
    {
        var pbc = n.Select((_, a) => a == 0 && periodicX ? Pbc.True : Pbc.Open).ToArray();
        var state = new State(new Mesh(n, new[] { 2e-9, 3e-9, 4e-9 }, pbc: pbc), Device.Cpu, DType.Float64);
        var m = new VectorFunction(state, name: "m");
        m.Tensor = state.Tensor(Wavy(Shapes.Product(m.TensorShape), 0.1), m.TensorShape);
        state["m"] = m;
        var ms = new CellFunction(state, name: "Ms");
        ms.Tensor = state.Tensor(Wavy(Shapes.Product(ms.TensorShape), 0.7), ms.TensorShape);
        state.Material["Ms"] = ms;
        var path = TempFile();
        try
        {
            state.WriteVti(path, "m", "material__Ms");
            var mRead = state.ReadVti(path, "m");
            Assert.AreEqual(new string('n', n.Length), mRead.Spaces);
            CollectionAssert.AreEqual(m.TensorShape, mRead.TensorShape);
            CollectionAssert.AreEqual(m.Tensor.ToArray(), mRead.Tensor.ToArray());
            var msRead = state.ReadVti(path, "material__Ms");
            Assert.AreEqual(new string('c', n.Length), msRead.Spaces);
            Assert.AreEqual(0, msRead.Shape.Length);
            CollectionAssert.AreEqual(ms.Tensor.ToArray(), msRead.Tensor.ToArray());
            Assert.AreEqual("m", state.ReadVti(path).Name, "without a name the first array is read");
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void AFileOfAnotherGridOrAMissingArrayIsRefused()
    {
        var a = new State(new Mesh(new[] { 4, 3, 2 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        a["m"] = new VectorFunction(a, name: "m").Fill(new[] { 0.0, 0, 1 });
        var path = TempFile();
        try
        {
            a.WriteVti(path, "m");
            var b = new State(new Mesh(new[] { 4, 3, 3 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
            var e = Assert.ThrowsExactly<ArgumentException>(() => b.ReadVti(path, "m"));
            StringAssert.Contains(e.Message, "5 x 4 x 3 points");
            StringAssert.Contains(e.Message, "needs 5 x 4 x 4");
            var missing = Assert.ThrowsExactly<ArgumentException>(() => a.ReadVti(path, "h"));
            StringAssert.Contains(missing.Message, "no data array named 'h' (arrays: 'm')");
        }
        finally { File.Delete(path); }
    }
}
