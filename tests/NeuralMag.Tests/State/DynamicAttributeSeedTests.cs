using NeuralMag.AD;

namespace NeuralMag.Tests.State;

/// <summary>Examples of the dynamic-attributes guide (seed), bad-input messages and differentiation through Resolve.</summary>
[TestClass]
public sealed class DynamicAttributeSeedTests
{
    private static NeuralMag.State NewState() =>
        new(new Mesh(new[] { 10, 10, 1 }, new[] { 5e-9, 5e-9, 3e-9 }));

    [TestMethod]
    public void AcceptedRightHandSides()
    {
        var state = NewState();
        state["T"] = 200.0;                                              // 1) scalar -> tensor
        Assert.IsInstanceOfType<NTensor>(state["T"]);
        state.Material["Ms"] = new CellFunction(state).Fill(8e5);        // 2) pre-built CellFunction
        Assert.AreEqual(8e5, state.Material.GetFunction("Ms").Avg().Item(), 1e-6);
        double Ms0 = 8e5, Tc = 400.0;
        state.Material["Ms"] = (NTensor T) => Ms0 * (1 - T / Tc).Pow(1.5); // 3) lambda of T
        Assert.AreEqual(Ms0 * Math.Pow(0.5, 1.5), state.Tensor("material.Ms").Item(), 1e-9);
        state["T"] = 300.0;                                              // reassignment -> new value on next read
        Assert.AreEqual(Ms0 * Math.Pow(0.25, 1.5), state.Tensor("material.Ms").Item(), 1e-9);
        // 4) Function whose tensor is a lambda of T
        state["m"] = new VectorFunction(state, tensor: (NTensor T) => state.Tensor(new[] { 0.0, 0.0, 1.0 }) * (1 - T / Tc));
        UpstreamStateTests.AssertClose(new[] { 0.0, 0.0, 0.25 }, state.M.Tensor.ToArray(), 1e-15);
    }

    [TestMethod]
    public void MaterialNamespaceIsOneStore()
    {
        var state = NewState();
        state.Material["Ms"] = 8e5;
        Assert.IsTrue(state.Has("material__Ms"));
        Assert.AreEqual(8e5, state.Tensor("material__Ms").Item());
        state["material.A"] = 1.3e-11;
        Assert.AreEqual(1.3e-11, state.Material.Tensor("A").Item());
    }

    [TestMethod]
    public void ChainAndPrebindingAndInject()
    {
        var state = NewState();
        state["a"] = 1.0;
        state["b"] = (NTensor a) => 2.0 * a;
        var func = state.Resolve((NTensor b) => 2.0 * b);
        Assert.AreEqual(4.0, func.Invoke(state.Scalar(1.0)).Item());

        state["a"] = 2.0;
        state["b"] = 4.0;
        Func<NTensor, NTensor, NTensor> c = (a, b) => a * b;
        Assert.AreEqual(4.0, state.Resolve(c, new[] { "a" }).Invoke(state.Scalar(1.0)).Item());
        var inj = state.Resolve(c, new[] { "e" }, inject: new Dictionary<string, object> { ["b"] = (Func<NTensor, NTensor>)(e => 2 * e) });
        Assert.AreEqual(4.0, inj.Invoke(state.Scalar(1.0)).Item());
    }

    [TestMethod]
    public void ResolveAttributeByNameBindsAtResolveTime()
    {
        var state = NewState();
        state["rho_m"] = new CellFunction(state).Fill(1.0);
        state["scale"] = 3.0;
        state["h"] = (NTensor rho_m, NTensor scale) => scale * rho_m.Sum();
        var f = state.Resolve("h", new[] { "rho_m" });
        CollectionAssert.AreEqual(new[] { "rho_m" }, f.Parameters.ToArray());
        state["scale"] = 5.0; // bound value was snapshotted
        Assert.AreEqual(3.0 * 100 * 0.5, f.Invoke(state.Zeros(new[] { 10, 10, 1 }) + 0.5).Item(), 1e-12);
    }

    [TestMethod]
    public void RemapRenamesParameters()
    {
        var state = NewState();
        var g = NeuralMag.State.Remap((Func<NTensor, NTensor, NTensor>)((a, b) => a + b), new Dictionary<string, string> { ["a"] = "x", ["b"] = "y" });
        CollectionAssert.AreEqual(new[] { "x", "y" }, g.Parameters.ToArray());
        Assert.AreEqual(3.0, g.Invoke(state.Scalar(1.0), state.Scalar(2.0)).Item());
    }

    [TestMethod]
    public void RemapAppliesRecursively()
    {
        var state = NewState();
        state["x"] = 3.0;
        state["b"] = (NTensor a) => 2 * a;
        var f = state.Resolve((NTensor b) => b + 1, remap: new Dictionary<string, string> { ["a"] = "x" });
        CollectionAssert.AreEqual(new[] { "x" }, f.Parameters.ToArray());
        Assert.AreEqual(7.0, f.Invoke(state.Scalar(3.0)).Item());
    }

    [TestMethod]
    public void NonTensorParameterRejected()
    {
        var state = NewState();
        state["f"] = (Func<double, NTensor>)(x => state.Scalar(x));
        var e = Assert.ThrowsExactly<ArgumentException>(() => state.Tensor("f"));
        StringAssert.Contains(e.Message, "'x'");
    }

    [TestMethod]
    public void RegisteredFunctionAttributeReadsAsFunction()
    {
        var state = NewState();
        state["m"] = new VectorFunction(state).Fill(new[] { 0.0, 0.0, 1.0 });
        state.Material["Ms"] = 8e5;
        state.SetTyped("h_test", new NamedFunction(new[] { "m", "material__Ms" }, a => a[0] * a[1]), "nnn", new[] { 3 });
        var h = state.GetFunction("h_test");
        Assert.AreEqual("nnn", h.Spaces);
        CollectionAssert.AreEqual(new[] { 11, 11, 2, 3 }, h.Tensor.Shape.ToArray());
        UpstreamStateTests.AssertClose(new[] { 0.0, 0.0, 8e5 }, h.Avg().ToArray(), 1e-14);
    }

    [TestMethod]
    public void GradientThroughResolvedBlochLaw()
    {
        var state = NewState();
        double Ms0 = 8e5, Tc = 400.0, T0 = 200.0;
        state["T"] = T0;
        state.Material["Ms"] = (NTensor T) => Ms0 * (1 - T / Tc).Pow(1.5);
        state["E"] = (NTensor material__Ms) => material__Ms.Square();
        var f = state.Resolve("E", new[] { "T" });
        var g = Autodiff.Grad((NTensor x) => f.Invoke(x))(state.Scalar(T0)).Item();
        // d/dT Ms² = 2 Ms · Ms0 · 1.5 (1 - T/Tc)^0.5 · (-1/Tc)
        double ms = Ms0 * Math.Pow(1 - T0 / Tc, 1.5);
        double expected = 2 * ms * Ms0 * 1.5 * Math.Sqrt(1 - T0 / Tc) * (-1 / Tc);
        Assert.AreEqual(expected, g, 1e-12 * Math.Abs(expected));
    }

    [TestMethod]
    public void DomainsAndDensity()
    {
        var state = new NeuralMag.State(new Mesh(new[] { 4, 2, 2 }, new[] { 1e-9, 1e-9, 1e-9 }));
        var x = state.Coordinates()[0];
        state.AddDomain(1, x.Lt(2e-9));
        var rho = state.Tensor("rho").ToArray();
        Assert.AreEqual(1.0, rho[0]);
        Assert.AreEqual(state.Eps, rho[^1]);
        var rhoyz = state.GetFunction("rhoyz");
        CollectionAssert.AreEqual(new[] { 5, 2, 2 }, rhoyz.Tensor.Shape.ToArray());
        // faces x=0..2 touch a domain cell; faces x=3,4 are between eps cells / outside
        var r = rhoyz.Tensor;
        Assert.AreEqual(1.0, r[2, 0, 0].Item());
        Assert.AreEqual(state.Eps, r[3, 0, 0].Item());
        Assert.AreEqual(state.Eps, r[4, 0, 0].Item());
        CollectionAssert.AreEqual(new[] { 4, 2, 3 }, state.GetFunction("rhoxy").Tensor.Shape.ToArray());
        CollectionAssert.AreEqual(new[] { 4, 3, 2 }, state.GetFunction("rhoxz").Tensor.Shape.ToArray());
    }
}
