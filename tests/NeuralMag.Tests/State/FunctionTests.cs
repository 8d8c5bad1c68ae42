using NeuralMag.AD;

namespace NeuralMag.Tests.State;

/// <summary>Ports of upstream tests/unit/function_test.py (same numbers).</summary>
[TestClass]
public sealed class FunctionTests
{
    private static NeuralMag.State NewState() => StateFixture.Create();
    private static int[] S(NTensor t) => t.Shape.ToArray();

    [TestMethod] public void ScalarFunction() => CollectionAssert.AreEqual(new[] { 3, 3, 3 }, S(new Function(NewState()).Tensor));
    [TestMethod] public void CellScalarFunction() => CollectionAssert.AreEqual(new[] { 2, 2, 2 }, S(new CellFunction(NewState()).Tensor));
    [TestMethod] public void VectorFunctionShape() => CollectionAssert.AreEqual(new[] { 3, 3, 3, 3 }, S(new VectorFunction(NewState()).Tensor));
    [TestMethod] public void VectorCellFunctionShape() => CollectionAssert.AreEqual(new[] { 2, 2, 2, 3 }, S(new VectorCellFunction(NewState()).Tensor));
    [TestMethod] public void FunctionWithMixedState() => CollectionAssert.AreEqual(new[] { 3, 2, 3 }, S(new Function(NewState(), "ncn").Tensor));
    [TestMethod] public void VectorFunctionWithMixedState() => CollectionAssert.AreEqual(new[] { 3, 2, 3, 3 }, S(new Function(NewState(), "ncn", new[] { 3 }).Tensor));

    [TestMethod]
    public void DynamicFunction()
    {
        var s = NewState();
        s["a"] = new Function(s).Fill(2.0);
        var f = new Function(s, tensor: (NTensor a) => 2 * a);
        Assert.AreEqual(4.0, f.Avg().Item(), 1e-14);
    }

    [TestMethod]
    public void Avg()
    {
        var s = NewState();
        Assert.AreEqual(2.0, new Function(s).Fill(2.0).Avg().Item(), 1e-14);
        Assert.AreEqual(2.0, new CellFunction(s).Fill(2.0).Avg().Item(), 1e-14);
    }

    [TestMethod]
    public void FillWithVector()
    {
        var f = new VectorFunction(NewState()).Fill(new[] { 1.0, 2.0, 3.0 });
        UpstreamStateTests.AssertClose(new[] { 1.0, 2.0, 3.0 }, f.Avg().ToArray(), 1e-14);
    }

    // Upstream's fill(expand=True) broadcasts a view; ours always holds a tensor of the function's full shape.
    [TestMethod]
    public void FillGivesFullShape()
    {
        var f = new Function(NewState()).Fill(2.0);
        Assert.AreEqual(2.0, f.Avg().Item(), 1e-14);
        CollectionAssert.AreEqual(f.TensorShape, S(f.Tensor));
    }

    [TestMethod]
    public void FillWithVectorGivesFullShape()
    {
        var f = new VectorFunction(NewState()).Fill(new[] { 1.0, 2.0, 3.0 });
        UpstreamStateTests.AssertClose(new[] { 1.0, 2.0, 3.0 }, f.Avg().ToArray(), 1e-14);
        CollectionAssert.AreEqual(f.TensorShape, S(f.Tensor));
    }

    [TestMethod]
    public void SetName() => Assert.AreEqual("f", new CellFunction(NewState(), name: "f").Name);

    [TestMethod]
    public void TensorShape()
    {
        var s = NewState();
        CollectionAssert.AreEqual(new[] { 3, 3, 3 }, new Function(s).TensorShape);
        CollectionAssert.AreEqual(new[] { 3, 3, 3, 3 }, new VectorFunction(s).TensorShape);
        CollectionAssert.AreEqual(new[] { 2, 2, 2 }, new CellFunction(s).TensorShape);
        CollectionAssert.AreEqual(new[] { 2, 2, 2, 3 }, new VectorCellFunction(s).TensorShape);
    }

    [TestMethod]
    public void FillByDomain()
    {
        var s = NewState();
        var x = s.Coordinates()[0];
        s.AddDomain(1, x.Gt(1e-9));
        s.AddDomain(2, x.Lt(1e-9));
        s.Material["A"] = new CellFunction(s).FillByDomain(new[] { 0.0, 4.0, 6.0 });
        Assert.AreEqual(5.0, s.Material.GetFunction("A").Avg().Item(), 1e-12);
    }

    [TestMethod]
    public void FillByDomainFollowsLaterChangesOfTheDomains()
    {
        // Upstream's fill_by_domain stores values[domains]: a function of the domains, not a snapshot.
        var s = NewState();
        var x = s.Coordinates()[0];
        s.AddDomain(1, x.Gt(1e-9));
        s.AddDomain(2, x.Lt(1e-9));
        s.Material["A"] = new CellFunction(s).FillByDomain(new[] { 0.0, 4.0, 6.0 });
        Assert.AreEqual(5.0, s.Material.GetFunction("A").Avg().Item(), 1e-12);
        s.AddDomain(2, x.Gt(-1.0)); // every cell now in domain 2
        Assert.AreEqual(6.0, s.Material.GetFunction("A").Avg().Item(), 1e-12);
        s.AddDomain(3, x.Gt(-1.0)); // an id without a value fails on the next read, naming the function's table
        var e = Assert.ThrowsExactly<ArgumentException>(() => s.Material.Tensor("A"));
        StringAssert.Contains(e.Message, "Domain id 3 has no value");
        Assert.ThrowsExactly<ArgumentException>(() => new CellFunction(s).FillByDomain(new[] { 1.0 }), "checked at once too");
    }

    [TestMethod]
    public void FillByDomainWithVectors()
    {
        var s = NewState();
        var x = s.Coordinates()[0];
        s.AddDomain(1, x.Gt(1e-9));
        s.AddDomain(2, x.Lt(1e-9));
        var axis = new VectorCellFunction(s).FillByDomain(new[] { new[] { 0.0, 0, 0 }, new[] { 1.0, 0, 0 }, new[] { 0.0, 0, 1 } });
        var t = axis.Tensor.ToArray();
        var d = s.Tensor("domains").ToArray();
        for (int c = 0; c < d.Length; c++)
            CollectionAssert.AreEqual(d[c] == 1 ? new[] { 1.0, 0, 0 } : new[] { 0.0, 0, 1 }, t[(3 * c)..(3 * c + 3)], $"cell {c}");
        var e = Assert.ThrowsExactly<ArgumentException>(() => new VectorCellFunction(s).FillByDomain(new[] { new[] { 1.0, 0 } }));
        StringAssert.Contains(e.Message, "needs 3 per cell");
    }

    [TestMethod]
    public void PeriodicAxisHasNNodes()
    {
        var s = new NeuralMag.State(new Mesh(new[] { 4, 3, 2 }, new[] { 1e-9, 1e-9, 1e-9 }, pbc: new Pbc[] { true, false, false }));
        CollectionAssert.AreEqual(new[] { 4, 4, 3, 3 }, new VectorFunction(s).TensorShape);
        CollectionAssert.AreEqual(new[] { 4, 3, 3 }, new Function(s, "ccn").TensorShape);
        // linear in y (open axis), constant along the periodic x: the average is the midpoint value
        var y = s.Coordinates("nnn")[1];
        var f = new Function(s, tensor: y);
        Assert.AreEqual(1.5e-9, f.Avg().Item(), 1e-22);
    }

    [TestMethod]
    public void IntegralIsAverageTimesVolume()
    {
        var s = NewState();
        var f = new Function(s).Fill(3.0);
        Assert.AreEqual(3.0 * 8e-27, f.Integral().Item(), 1e-40);
    }

    [TestMethod]
    public void UnknownSpaceThrows()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => new Function(NewState(), "nxn"));
        StringAssert.Contains(e.Message, "'x'");
    }
}
