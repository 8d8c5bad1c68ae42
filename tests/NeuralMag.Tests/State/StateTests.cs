using NeuralMag.AD;

namespace NeuralMag.Tests.State;

using State = NeuralMag.State;

/// <summary>
/// The seed's examples and gotchas, dotted names, error messages and the resolve plan (upstream's state_test.py cases
/// themselves are ported one to one in UpstreamStateTests).
/// </summary>
[TestClass]
public sealed class StateTests
{
    // Upstream's fixture: a 2x2x2 mesh, i.e. 3x3x3 nodes.
    private static State NewState() => new(new Mesh(new[] { 2, 2, 2 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);

    private static double V(object? o) => o switch
    {
        NTensor t => t.Item(),
        Function f => f.Tensor.Item(),
        _ => throw new AssertFailedException($"not a tensor: {o}"),
    };

    [TestMethod]
    public void AnIntermediateFunctionWithUnchangedInputsIsNotRecomputed()
    {
        var s = NewState();
        int calls = 0;
        s["T"] = 300.0;
        s["Ms_of_T"] = (NTensor T) => { calls++; return 8e5 * (1.0 - T / 600.0); };
        s["E_test"] = (NTensor Ms_of_T, NTensor x) => Ms_of_T * x;
        var f = s.Resolve("E_test", new[] { "x" });
        Assert.AreEqual(4e5 * 2, f.Invoke(s.Scalar(2.0)).Item(), 1e-6);
        Assert.AreEqual(4e5 * 3, f.Invoke(s.Scalar(3.0)).Item(), 1e-6);
        Assert.AreEqual(1, calls, "T did not change: Ms(T) is reused");
        s.Tensor("T").Assign(s.Scalar(0.0)); // an in-place update (new storage) of the bound constant
        Assert.AreEqual(8e5 * 2, f.Invoke(s.Scalar(2.0)).Item(), 1e-6);
        Assert.AreEqual(2, calls, "a new T value is a new storage: Ms(T) is recomputed");
        // On the tape the function runs every time, so that its operations are recorded.
        var g = s.Resolve("E_test", new[] { "T", "x" });
        var grad = Autodiff.Grad(T => g.Invoke(T, s.Scalar(1.0)))(s.Scalar(300.0));
        Assert.AreEqual(-8e5 / 600.0, grad.Item(), 1e-9);
        Assert.AreEqual(3, calls);
    }

    [TestMethod]
    public void NumbersBecomeZeroDimensionalTensorsOfTheStateDtype()
    {
        var s = NewState();
        s["a"] = 1.0;
        var a = s["a"] as NTensor;
        Assert.IsNotNull(a);
        Assert.AreEqual(0, a.Rank);
        Assert.AreEqual(DType.Float64, a.DType);
        s["a"] = 2;
        Assert.AreEqual(2.0, V(s["a"]));
        var f32 = new State(new Mesh(new[] { 2, 2, 2 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float32);
        f32["a"] = 1;
        Assert.AreEqual(DType.Float32, ((NTensor)f32["a"]!).DType);
        Assert.AreEqual(DType.Float32, f32.Tensor(new[] { 1.0, 2.0 }).DType);
    }

    [TestMethod]
    public void DependencyHandlingIncludingMaterialNamespace()
    {
        var s = NewState();
        s["a"] = 1;
        s["b"] = (NTensor a) => 2.0 * a;
        s["c"] = (NTensor b) => 2.0 * b;
        s.Material["d"] = (NTensor a) => 2.0 * a;
        Assert.AreEqual(1.0, V(s["a"]));
        Assert.AreEqual(2.0, V(s["b"]));
        Assert.AreEqual(4.0, V(s["c"]));
        Assert.AreEqual(2.0, V(s.Material["d"]));
        Assert.AreEqual(2.0, V(s["material__d"]));
        Assert.AreEqual(2.0, V(s["material.d"]), "dotted names address the namespace");
    }

    [TestMethod]
    public void SeedBlochLawGradientThroughResolveMatchesAnalyticDerivative()
    {
        // Seed example 3: Ms(T) = Ms0 (1 - T/Tc)^1.5, read through a resolved function and differentiated on the tape.
        var s = NewState();
        const double ms0 = 8e5, tc = 400.0;
        s["T"] = 200.0;
        s.Material["Ms"] = (NTensor T) => ms0 * (1.0 - T / tc).Pow(1.5);
        Assert.AreEqual(ms0 * Math.Pow(0.5, 1.5), V(s.Material["Ms"]), 1e-9);
        var ms = s.Resolve("material.Ms", new[] { "T" });
        var (value, grad) = Autodiff.ValueAndGrad(t => ms.Invoke(t))(s.Scalar(200.0));
        double analytic = -1.5 * ms0 / tc * Math.Sqrt(1 - 200.0 / tc);
        Assert.AreEqual(ms0 * Math.Pow(0.5, 1.5), value.Item(), 1e-9);
        Assert.AreEqual(1.0, grad.Item() / analytic, 1e-12);
        // Reassigning T invalidates the cache: the next read sees the new temperature.
        s["T"] = 300.0;
        Assert.AreEqual(ms0 * Math.Pow(0.25, 1.5), V(s.Material["Ms"]), 1e-9);
    }

    [TestMethod]
    public void SeedVectorFunctionWithLambdaTensor()
    {
        var s = NewState();
        const double tc = 400.0;
        s["T"] = 200.0;
        s["m"] = new VectorFunction(s, tensor: (NTensor T) => NTensor.Stack(0, s.Scalar(0), s.Scalar(0), 1.0 - T / tc).Expand(3, 3, 3, 3));
        var m = s.M.Tensor;
        CollectionAssert.AreEqual(new[] { 3, 3, 3, 3 }, m.GetShape());
        Assert.AreEqual(0.5, m[1, 1, 1, 2].Item(), 1e-15);
    }

    [TestMethod]
    public void MisnamedLambdaParameterSuggestsTheCloseAttribute()
    {
        var s = NewState();
        s["T"] = 200.0;
        s.Material["Ms"] = (NTensor temperature) => 8e5 * (1.0 - temperature / 400.0);
        var e = Assert.ThrowsExactly<KeyNotFoundException>(() => s.Material["Ms"]);
        StringAssert.Contains(e.Message, "'temperature'");
        StringAssert.Contains(e.Message, "Did you mean 'T'?");
    }

    [TestMethod]
    public void CycleIsReportedWithItsPath()
    {
        var s = NewState();
        s["a"] = (NTensor b) => b * 2.0;
        s["b"] = (NTensor a) => a * 2.0;
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => s["a"]);
        StringAssert.Contains(e.Message, "a -> b -> a");
    }

    [TestMethod]
    public void UnknownFuncArgIsRejected()
    {
        var s = NewState();
        s["a"] = 1.0;
        var e = Assert.ThrowsExactly<ArgumentException>(() => s.Resolve((NTensor a) => a, new[] { "zzz" }));
        StringAssert.Contains(e.Message, "'zzz'");
    }

    [TestMethod]
    public void DomainsAndDensity()
    {
        var s = NewState();
        Assert.AreEqual(1.0, s.GetFunction("rho").EntryMean().Item(), 1e-15);
        var x = s.Coordinates()[0];
        s.AddDomain(1, x.Gt(1e-9));
        s.AddDomain(2, x.Lt(1e-9));
        var domains = s.Tensor("domains").ToArray();
        CollectionAssert.AreEqual(new[] { 2.0, 2, 2, 2, 1, 1, 1, 1 }, domains);
        s["material__Ms"] = new CellFunction(s).FillByDomain(new[] { 0.0, 8e5, 4e5 });
        CollectionAssert.AreEqual(new[] { 4e5, 4e5, 4e5, 4e5, 8e5, 8e5, 8e5, 8e5 }, s.Tensor("material__Ms").ToArray());
        s.AddDomain(0, x.Lt(1e-9));
        var rho = s.Tensor("rho").ToArray();
        Assert.AreEqual(s.Eps, rho[0]);
        Assert.AreEqual(1.0, rho[7]);
    }

    [TestMethod]
    public void ResolvedFunctionDoesNoWalkPerCall()
    {
        var s = NewState();
        s["a"] = 1.0;
        int calls = 0;
        s["b"] = (NTensor a) => { calls++; return 2.0 * a; };
        var f = s.Resolve((NTensor b) => b + 1.0, new[] { "a" });
        s.Remove("b"); // the plan holds the function itself: later changes to the state do not affect it
        for (int i = 0; i < 10; i++) Assert.AreEqual(2.0 * i + 1, f.Invoke(s.Scalar(i)).Item());
        Assert.AreEqual(10, calls);
    }
}
