using NeuralMag.AD;

namespace NeuralMag.Tests.State;

/// <summary>Resolve/inject/remap, attribute assignment, domains and functions: bad arguments fail with a named reason.</summary>
[TestClass]
public sealed class StateBadInputTests
{
    private static NeuralMag.State NewState() => new(new Mesh(new[] { 2, 2, 2 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);

    private static void Contains(Exception e, params string[] words)
    {
        foreach (var w in words) StringAssert.Contains(e.Message, w);
    }

    [TestMethod]
    public void InjectedConstantReplacesTheAttribute()
    {
        var s = NewState();
        s.Material["Ms"] = 8e5;
        s["k"] = 3.0;
        Func<NTensor, NTensor, NTensor> f = (material__Ms, k) => material__Ms * k;
        // with funcArgs: the injected value is bound in place of the state's Ms
        var withArgs = s.Resolve(f, new[] { "k" }, inject: new Dictionary<string, object> { ["material__Ms"] = 42.0 });
        Assert.AreEqual(126.0, withArgs.Invoke(s.Scalar(3)).Item());
        // without funcArgs: the injected value is bound too, so it is no argument of the result
        var free = s.Resolve(f, inject: new Dictionary<string, object> { ["material.Ms"] = s.Scalar(2.0) });
        CollectionAssert.AreEqual(new[] { "k" }, free.Parameters.ToArray());
        Assert.AreEqual(10.0, free.Invoke(s.Scalar(5)).Item());
        // an NTensor of another dtype is converted to the state's, as on assignment
        var f32 = s.Resolve(f, new[] { "k" }, inject: new Dictionary<string, object> { ["material__Ms"] = NTensor.Scalar(0.5, DType.Float32, Device.Cpu) });
        var r = f32.Invoke(s.Scalar(4));
        Assert.AreEqual(DType.Float64, r.DType);
        Assert.AreEqual(2.0, r.Item());
        // through an intermediate attribute
        s["e"] = (NTensor material__Ms) => 2 * material__Ms;
        Assert.AreEqual(84.0, s.Resolve("e", inject: new Dictionary<string, object> { ["material__Ms"] = 42 }).Invoke().Item());
    }

    [TestMethod]
    public void InjectedValueOfAnotherTypeIsRefused()
    {
        var s = NewState();
        s["a"] = 1.0;
        var e = Assert.ThrowsExactly<ArgumentException>(() => s.Resolve((NTensor a) => a, inject: new Dictionary<string, object> { ["a"] = "two" }));
        Contains(e, "inject['a']", "String", "NTensor");
    }

    [TestMethod]
    public void InjectKeyThatIsNoDependencyIsRefusedWithSuggestion()
    {
        var s = NewState();
        s.Material["Ms"] = 8e5;
        s["k"] = 2.0;
        var e = Assert.ThrowsExactly<ArgumentException>(() =>
            s.Resolve((NTensor material__Ms, NTensor k) => material__Ms * k, new[] { "k" }, inject: new Dictionary<string, object> { ["material__Mss"] = 42.0 }));
        Assert.AreEqual("inject", e.ParamName);
        Contains(e, "'material__Mss'", "not a dependency", "Did you mean 'material__Ms'?");
        var both = Assert.ThrowsExactly<ArgumentException>(() =>
            s.Resolve((NTensor k) => k, new[] { "k" }, inject: new Dictionary<string, object> { ["k"] = 1.0 }));
        Contains(both, "'k'", "funcArg", "inject");
    }

    [TestMethod]
    public void FuncArgTheGraphNeverReadsIsRefusedWithSuggestion()
    {
        var s = NewState();
        s["alpha"] = 1.0;
        s["beta"] = 2.0;
        s["c"] = (NTensor alpha) => 3 * alpha;
        var e = Assert.ThrowsExactly<ArgumentException>(() => s.Resolve("c", new[] { "alpah" }));
        Assert.AreEqual("funcArgs", e.ParamName);
        Contains(e, "'alpah'", "never read", "Did you mean 'alpha'?");
        // an attribute that exists but that this graph does not read
        Contains(Assert.ThrowsExactly<ArgumentException>(() => s.Resolve("c", new[] { "alpha", "beta" })), "'beta'", "never read", "alpha");
        Contains(Assert.ThrowsExactly<ArgumentException>(() => s.Resolve("c", new[] { "alpha", "alpha" })), "'alpha' twice");
    }

    [TestMethod]
    public void RemapThatMergesTwoParametersIsRefused()
    {
        var s = NewState();
        s["a"] = 5.0;
        s["b"] = 2.0;
        var e = Assert.ThrowsExactly<ArgumentException>(() => s.Resolve((NTensor a, NTensor b) => a - b, remap: new Dictionary<string, string> { ["a"] = "b" }));
        Assert.AreEqual("remap", e.ParamName);
        Contains(e, "'a'", "'b'", "merge");
        // the same inside a dependency
        s["c"] = (NTensor a, NTensor b) => a - b;
        Contains(Assert.ThrowsExactly<ArgumentException>(() => s.Resolve((NTensor c) => c, remap: new Dictionary<string, string> { ["b"] = "a" })), "'c'", "merge");
        // a rename to a fresh name is fine
        s["x"] = 1.0;
        Assert.AreEqual(4.0, s.Resolve((NTensor a, NTensor b) => a - b, remap: new Dictionary<string, string> { ["b"] = "x" }).Invoke(s.Scalar(5), s.Scalar(1)).Item());
    }

    [TestMethod]
    public void TypedResolveOverloadsInferLambdaParameters()
    {
        var s = NewState();
        s["x"] = 5.0;
        s["y"] = 2.0;
        s["z"] = 7.0;
        var d = s.Resolve((x, y) => x - y, new[] { "x" });
        CollectionAssert.AreEqual(new[] { "x" }, d.Parameters.ToArray());
        Assert.AreEqual(8.0, d.Invoke(s.Scalar(10)).Item());
        Assert.AreEqual(3.0, s.Resolve((x, y) => x - y).Invoke(s.Scalar(5), s.Scalar(2)).Item());
        Assert.AreEqual(10.0, s.Resolve(x => 2 * x).Invoke(s.Scalar(5)).Item());
        var three = s.Resolve((z, x, y) => z * x - y, new[] { "y" });
        Assert.AreEqual(34.0, three.Invoke(s.Scalar(1)).Item());
        s["u"] = 1.0;
        s["v"] = 1.0;
        s["w"] = 1.0;
        var six = s.Resolve((x, y, z, u, v, w) => x + y + z + u + v + w, new[] { "w" });
        Assert.AreEqual(18.0, six.Invoke(s.Scalar(2)).Item());
        Assert.AreEqual(4.0, s.Resolve(() => s.Scalar(4)).Invoke().Item());
    }

    [TestMethod]
    public void TypedDefineOverloadsInferLambdaParameters()
    {
        var s = NewState();
        s["T"] = 300.0;
        s.Define("Tc", () => s.Scalar(600));
        s.Material.Define("Ms", (T, Tc) => 8e5 * (1 - T / Tc));
        Assert.AreEqual(4e5, s.Material.Tensor("Ms").Item(), 1e-6);
        var dMs = s.Resolve("material__Ms", new[] { "T" });
        var (value, grad) = Autodiff.ValueAndGrad(T => dMs.Invoke(T))(s.Scalar(300));
        Assert.AreEqual(4e5, value.Item(), 1e-6);
        Assert.AreEqual(-8e5 / 600, grad.Item(), 1e-9);
    }

    [TestMethod]
    public void Float32TensorInAFloat64FunctionIsConvertedToTheStateDType()
    {
        var s = NewState();
        var m32 = NTensor.Full(new[] { 3, 3, 3, 3 }, 0.5, DType.Float32, Device.Cpu);
        var m = new VectorFunction(s, tensor: m32);
        Assert.AreEqual(DType.Float64, m.Tensor.DType);
        s.M = m;
        Assert.AreEqual(DType.Float64, s.M.Tensor.DType);
        s.M.Tensor = m32;
        Assert.AreEqual(DType.Float64, s.M.Tensor.DType);
        // the cross product in the LLG right-hand side then sees one dtype
        Assert.AreEqual(0.0, NTensor.Cross(s.M.Tensor, s.Full(new[] { 3, 3, 3, 3 }, 1)).Abs().Max().Item());
    }

    [TestMethod]
    public void FunctionAndDomainArgumentsAreChecked()
    {
        var s = NewState();
        Contains(Assert.ThrowsExactly<ArgumentException>(() => new VectorFunction(s).Fill(new[] { 1.0, 0 })), "length 2", "(3,)");
        Assert.ThrowsExactly<ArgumentNullException>(() => new VectorFunction(s).Fill((double[])null!));
        Contains(Assert.ThrowsExactly<ArgumentException>(() => new VectorFunction(s, tensor: s.Zeros(new[] { 2, 2, 2, 3 }))), "(2, 2, 2, 3)", "(3, 3, 3, 3)");
        Contains(Assert.ThrowsExactly<ArgumentException>(() => new Function(s, shape: new[] { 0 })), "positive");
        Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => s.AddDomain(-1, s.Zeros(new[] { 2, 2, 2 }))), "-1");
        Contains(Assert.ThrowsExactly<ArgumentException>(() => s.AddDomain(2, s.Zeros(new[] { 3, 3, 3 }))), "(3, 3, 3)", "(2, 2, 2)");
        Assert.ThrowsExactly<ArgumentNullException>(() => new NeuralMag.State(null!));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new NeuralMag.State(s.Mesh, Device.Cpu, (DType)7));
        Contains(Assert.ThrowsExactly<KeyNotFoundException>(() => s["Mss"]), "'Mss'");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => s.T = double.NaN);
        Assert.ThrowsExactly<ArgumentException>(() => s[""] = 1.0);
        Assert.ThrowsExactly<ArgumentNullException>(() => s.Resolve((object)null!));
    }
}
