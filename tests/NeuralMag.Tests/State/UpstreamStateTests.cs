using NeuralMag.AD;

namespace NeuralMag.Tests.State;

/// <summary>Ports of upstream tests/unit/state_test.py, one test per upstream case, same numbers.</summary>
[TestClass]
public sealed class UpstreamStateTests
{
    private static NeuralMag.State NewState() => StateFixture.Create();

    [TestMethod]
    public void TensorFromList()
    {
        var s = NewState();
        var t = s.Tensor(new[] { 1.0, 2.0 });
        Assert.AreEqual(s.DType, t.DType);
        Assert.AreEqual(s.Device, t.Device);
        var ti = s.Tensor(new[] { 1, 2 } as Array);
        Assert.AreEqual(s.DType, ti.DType);
        CollectionAssert.AreEqual(new[] { 1.0, 2.0 }, ti.ToArray());
    }

    [TestMethod]
    public void SettingFloatScalar()
    {
        var s = NewState();
        s["a"] = 1.0;
        Assert.IsInstanceOfType<NTensor>(s["a"]);
        s["a"] = 2.0;
        Assert.AreEqual(2.0, s.Tensor("a").Item());
    }

    [TestMethod]
    public void SettingIntScalar()
    {
        var s = NewState();
        s["a"] = 1;
        var a = s.Get<NTensor>("a");
        Assert.AreEqual(s.DType, a.DType);
        Assert.AreEqual(0, a.Rank);
    }

    [TestMethod]
    public void SettingTensor()
    {
        var s = NewState();
        s["a"] = s.Tensor(new[] { 1.0, 2.0 });
        Assert.AreEqual(3.0, s.Tensor("a").Sum().Item(), 1e-15);
    }

    [TestMethod]
    public void SettingNestedArray()
    {
        var s = NewState();
        s["a"] = new[] { new[] { 1.0, 2.0 }, new[] { 3.0, 4.0 } };
        CollectionAssert.AreEqual(new[] { 2, 2 }, s.Tensor("a").Shape.ToArray());
        s["b"] = new double[,] { { 1, 2, 3 } };
        CollectionAssert.AreEqual(new[] { 1, 3 }, s.Tensor("b").Shape.ToArray());
    }

    [TestMethod]
    public void SettingFunction()
    {
        var s = NewState();
        s["f"] = new Function(s).Fill(2.0);
        Assert.IsInstanceOfType<Function>(s["f"]);
        Assert.AreEqual(27 * 2.0, s.GetFunction("f").Tensor.Sum().Item(), 1e-12);
    }

    [TestMethod]
    public void DependencyHandling()
    {
        var s = NewState();
        s["a"] = 1;
        s["b"] = (NTensor a) => 2 * a;
        s["c"] = (NTensor b) => 2 * b;
        s.Material["d"] = (NTensor a) => 2 * a;
        Assert.AreEqual(1.0, s.Tensor("a").Item());
        Assert.AreEqual(2.0, s.Tensor("b").Item());
        Assert.AreEqual(4.0, s.Tensor("c").Item());
        Assert.AreEqual(2.0, s.Material.Tensor("d").Item());
        Assert.AreEqual(2.0, s.Tensor("material.d").Item());
    }

    [TestMethod]
    public void ResolveWithNoArgs()
    {
        var s = NewState();
        s["a"] = 1.0;
        s["b"] = (NTensor a) => 2.0 * a;
        var func = s.Resolve((NTensor b) => 2.0 * b);
        Assert.AreEqual("a", func.Parameters[0]);
        Assert.AreEqual(4.0, func.Invoke(s.Scalar(1.0)).Item());
        Assert.AreEqual(8.0, func.Invoke(s.Scalar(2.0)).Item());
    }

    [TestMethod]
    public void Resolve()
    {
        var s = NewState();
        s["a"] = 2.0;
        s["b"] = 4.0;
        Func<NTensor, NTensor, NTensor> c = (a, b) => a * b;
        var func = s.Resolve(c, new[] { "a" });
        Assert.AreEqual("a", func.Parameters[0]);
        Assert.AreEqual(4.0, func.Invoke(s.Scalar(1.0)).Item());
        func = s.Resolve(c, new[] { "b" });
        Assert.AreEqual("b", func.Parameters[0]);
        Assert.AreEqual(2.0, func.Invoke(s.Scalar(1.0)).Item());
    }

    [TestMethod]
    public void ResolveOverridingDynamicAttribute()
    {
        var s = NewState();
        s["a"] = 1;
        s["b"] = (NTensor a) => 2 * a;
        var func = s.Resolve((NTensor b) => 2 * b, new[] { "b" });
        Assert.AreEqual("b", func.Parameters[0]);
        Assert.AreEqual(6.0, func.Invoke(s.Scalar(3.0)).Item());
    }

    [TestMethod]
    public void ResolveWithInject()
    {
        var s = NewState();
        s["a"] = 2.0;
        s["b"] = 4.0;
        Func<NTensor, NTensor, NTensor> c = (a, b) => a * b;
        var func = s.Resolve(c, new[] { "e" }, inject: new Dictionary<string, object> { ["b"] = (Func<NTensor, NTensor>)(e => 2 * e) });
        Assert.AreEqual("e", func.Parameters[0]);
        Assert.AreEqual(4.0, func.Invoke(s.Scalar(1.0)).Item());
    }

    [TestMethod]
    public void ResolveInjectWithDependencies()
    {
        var s = NewState();
        s["a"] = 2.0;
        s["b"] = (NTensor a) => 2 * a;
        s["c"] = (NTensor b) => 2 * b;
        var func = s.Resolve((NTensor c) => 2 * c, new[] { "a" },
            inject: new Dictionary<string, object> { ["b"] = (Func<NTensor, NTensor>)(a => 4 * a) });
        Assert.AreEqual(16.0, func.Invoke(s.Scalar(1.0)).Item());
    }

    [TestMethod]
    public void SettingLambdaToReturnFunction()
    {
        var s = NewState();
        s["a"] = new Function(s).Fill(1.0);
        s["f"] = new Function(s, tensor: (NTensor a) => 2 * a);
        Assert.IsInstanceOfType<Function>(s["f"]);
        Assert.AreEqual(27 * 2.0, s.GetFunction("f").Tensor.Sum().Item(), 1e-12);
    }

    [TestMethod]
    public void Remap()
    {
        var s = NewState();
        s["a"] = 1.0;
        s["b"] = 2.0;
        s["c"] = 3.0;
        Func<NTensor, NTensor, NTensor> f = (a, b) => a + b;
        var g = NeuralMag.State.Remap(f, new Dictionary<string, string> { ["a"] = "c" });
        s["f"] = f;
        s["g"] = g;
        Assert.AreEqual(3.0, s.Tensor("f").Sum().Item());
        Assert.AreEqual(5.0, s.Tensor("g").Sum().Item());
    }

    [TestMethod]
    public void RemapFunc()
    {
        var s = NewState();
        s["a"] = 1.0;
        s["b"] = (NTensor c) => 2.0 * c;
        s["c"] = 3.0;
        Func<NTensor, NTensor, NTensor> f = (a, b) => a + b;
        var g = NeuralMag.State.Remap(f, new Dictionary<string, string> { ["b"] = "c" });
        s["f"] = f;
        s["g"] = g;
        Assert.AreEqual(7.0, s.Tensor("f").Sum().Item());
        Assert.AreEqual(4.0, s.Tensor("g").Sum().Item());
    }

    [TestMethod]
    public void Coordinates()
    {
        var s = new NeuralMag.State(new Mesh(new[] { 10, 5, 1 }, new[] { 1e-9, 2e-9, 3e-9 }, new[] { 1e-9, 2e-9, 3e-9 }));
        var (x, y, z) = Xyz(s.Coordinates("nnn"));
        CollectionAssert.AreEqual(new[] { 11, 6, 2 }, x.Shape.ToArray());
        Assert.AreEqual(2e-9, x[1, 0, 0].Item(), 1e-24);
        Assert.AreEqual(4e-9, y[0, 1, 0].Item(), 1e-24);
        Assert.AreEqual(3e-9, z[0, 0, 0].Item(), 1e-24);

        (x, y, z) = Xyz(s.Coordinates("ccc"));
        CollectionAssert.AreEqual(new[] { 10, 5, 1 }, x.Shape.ToArray());
        Assert.AreEqual(2.5e-9, x[1, 0, 0].Item(), 1e-24);
        Assert.AreEqual(5e-9, y[0, 1, 0].Item(), 1e-24);
        Assert.AreEqual(4.5e-9, z[0, 0, 0].Item(), 1e-24);

        (x, y, z) = Xyz(s.Coordinates("cnc"));
        CollectionAssert.AreEqual(new[] { 10, 6, 1 }, x.Shape.ToArray());
        Assert.AreEqual(2.5e-9, x[1, 0, 0].Item(), 1e-24);
        Assert.AreEqual(4e-9, y[0, 1, 0].Item(), 1e-24);
        Assert.AreEqual(4.5e-9, z[0, 0, 0].Item(), 1e-24);
    }

    private static (NTensor, NTensor, NTensor) Xyz(NTensor[] c) => (c[0], c[1], c[2]);

    [TestMethod]
    public void UpdateOfTensor()
    {
        var s = NewState();
        s["f"] = s.Tensor(new[] { 1.0 });
        s["f_sum"] = (NTensor f) => f.Sum();
        Assert.AreEqual(1.0, s.Tensor("f_sum").Item());
        s["f"] = s.Tensor(new[] { 2.0 });
        Assert.AreEqual(2.0, s.Tensor("f_sum").Item());
    }

    [TestMethod]
    public void UpdateOfFunctionTensor()
    {
        var s = NewState();
        s["f"] = new Function(s).Fill(1.0);
        s["f_sum"] = (NTensor f) => f.Sum();
        Assert.AreEqual(27.0, s.Tensor("f_sum").Item(), 1e-12);
        var g = new Function(s).Fill(2.0);
        s.GetFunction("f").Tensor = g.Tensor;
        Assert.AreEqual(54.0, s.Tensor("f_sum").Item(), 1e-12);
    }

    [TestMethod]
    public void AddDomain()
    {
        var s = NewState();
        var x = s.Coordinates()[0];
        Assert.AreEqual(1.0, s.GetFunction("rho").Avg().Item(), 1e-12);
        s.AddDomain(1, x.Gt(1e-9));
        s.AddDomain(2, x.Lt(1e-9));
        var m = s.M;
        AssertClose(new[] { 0.5312498, 0.46875, 0.0 }, m.Avg(1).ToArray(), 1e-6);
        AssertClose(new[] { -0.46875, 0.46875, 0.0 }, m.Avg(2).ToArray(), 1e-6);
        var sum = ((m.Avg(1) + m.Avg(2)) / 2.0).ToArray();
        var avg = m.Avg().ToArray();
        for (int i = 0; i < 3; i++) Assert.AreEqual(avg[i], sum[i], 1e-7);
    }

    [TestMethod]
    public void StatifyFunction()
    {
        var s = NewState();
        s["a"] = new Function(s).Fill(1.0);
        var b = new Function(s, tensor: (NTensor a) => 2 * a);
        Assert.AreEqual(2.0, b.Avg().Item(), 1e-14);
        s["b"] = b;
        s["c"] = new Function(s, tensor: (NTensor b) => 2 * b);
        Assert.AreEqual(4.0, s.GetFunction("c").Avg().Item(), 1e-14);
        b.Fill(5.0);
        Assert.AreEqual(5.0, b.Avg().Item(), 1e-14);
        Assert.AreEqual(10.0, s.GetFunction("c").Avg().Item(), 1e-14);
    }

    internal static void AssertClose(double[] expected, double[] actual, double rel)
    {
        Assert.AreEqual(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.AreEqual(expected[i], actual[i], rel * Math.Max(1e-300, Math.Abs(expected[i])) + 1e-12, $"index {i}");
    }
}
