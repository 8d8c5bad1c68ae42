using NeuralMag.AD;

namespace NeuralMag.Tests.AD;

[TestClass]
public sealed class NTensorSemanticsTests
{
    private static NTensor A(params double[] v) => NTensor.FromArray(v);

    [TestMethod]
    public void CreationOps()
    {
        CollectionAssert.AreEqual(new double[] { 0, 0, 0, 0 }, NTensor.Zeros(new[] { 2, 2 }).ToArray());
        CollectionAssert.AreEqual(new double[] { 2.5, 2.5 }, NTensor.Full(new[] { 2 }, 2.5).ToArray());
        CollectionAssert.AreEqual(new double[] { 0, 0.25, 0.5, 0.75, 1 }, NTensor.Linspace(0, 1, 5).ToArray());
        var t = NTensor.From(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        CollectionAssert.AreEqual(new[] { 2, 3 }, t.GetShape());
        Assert.AreEqual(6.0, t[1, 2].Item());
        var g = NTensor.Meshgrid(A(1, 2), A(10, 20, 30));
        CollectionAssert.AreEqual(new[] { 2, 3 }, g[0].GetShape());
        CollectionAssert.AreEqual(new double[] { 1, 1, 1, 2, 2, 2 }, g[0].ToArray());
        CollectionAssert.AreEqual(new double[] { 10, 20, 30, 10, 20, 30 }, g[1].ToArray());
    }

    [TestMethod]
    public void BroadcastingFollowsNumPy()
    {
        var a = NTensor.FromArray(new double[] { 1, 2, 3, 4, 5, 6 }, new[] { 2, 1, 3 });
        var b = NTensor.FromArray(new double[] { 10, 20 }, new[] { 2, 1 });
        var c = a + b;
        CollectionAssert.AreEqual(new[] { 2, 2, 3 }, c.GetShape());
        CollectionAssert.AreEqual(new double[] { 11, 12, 13, 21, 22, 23, 14, 15, 16, 24, 25, 26 }, c.ToArray());
        // Gradients are summed back to the operand shapes.
        var g = Autodiff.Grads((NTensor[] xs) => (xs[0] * xs[1]).Sum())(new[] { a, b });
        CollectionAssert.AreEqual(new double[] { 30, 30, 30, 30, 30, 30 }, g[0].ToArray());
        CollectionAssert.AreEqual(new double[] { 21, 21 }, g[1].ToArray());
    }

    [TestMethod]
    public void IndexingWithNegativeIndicesAndSteps()
    {
        var h = NTensor.Arange(0, 4 * 3 * 5 * 3).Reshape(4, 3, 5, 3);
        Assert.AreEqual(((3 * 3 + 2) * 5 + 4) * 3 + 2.0, h[3, 2, 4, 2].Item());
        Assert.AreEqual(h[3, 2, 4, 2].Item(), h[-1, -1, -1, -1].Item());
        Assert.AreEqual(0, h[1, 1, 1, 1].Rank);
        var r = NTensor.Arange(0, 10);
        CollectionAssert.AreEqual(new double[] { 7, 9 }, r[Ix.Slice(-3, null, 2)].ToArray());
        CollectionAssert.AreEqual(new double[] { 1, 4, 7 }, r[Ix.Slice(1, -2, 3)].ToArray());
        CollectionAssert.AreEqual(new double[] { 8, 9 }, r[^2..].ToArray());
        Assert.AreEqual(9.0, r[^1].Item());
        Assert.ThrowsExactly<IndexOutOfRangeException>(() => r[^0]);
        CollectionAssert.AreEqual(new double[] { 2, 5, 8 }, r.Slice(0, 2, 10, 3).ToArray());
        var put = r.IndexPut(new Ix[] { Ix.Slice(0, 4, 2) }, NTensor.Scalar(-1));
        CollectionAssert.AreEqual(new double[] { -1, 1, -1, 3, 4, 5, 6, 7, 8, 9 }, put.ToArray());
        CollectionAssert.AreEqual(new double[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, r.ToArray(), "IndexPut must not change its input");
    }

    [TestMethod]
    public void Reductions()
    {
        var t = NTensor.FromArray(new double[] { 1, -2, 3, 4, 5, -6 }, new[] { 2, 3 });
        Assert.AreEqual(5.0, t.Sum().Item());
        CollectionAssert.AreEqual(new double[] { 5, 3, -3 }, t.Sum(0).ToArray());
        CollectionAssert.AreEqual(new[] { 2, 1 }, t.Sum(-1, keepDims: true).GetShape());
        CollectionAssert.AreEqual(new double[] { 2.0 / 3, 1 }, t.Mean(1).ToArray());
        Assert.AreEqual(5.0, t.Max().Item());
        Assert.AreEqual(-6.0, t.Min().Item());
        CollectionAssert.AreEqual(new double[] { 4, 5, 3 }, t.Max(0).ToArray());
        CollectionAssert.AreEqual(new double[] { -2, -6 }, t.Min(1).ToArray());
        // A large sum exercises the chunked parallel path; it equals the closed form exactly for integers.
        var big = NTensor.Arange(0, 1_000_000);
        Assert.AreEqual(999_999.0 * 1_000_000 / 2, big.Sum().Item());
        Assert.AreEqual(999_999.0, big.Max().Item());
        var big2 = big.Reshape(1000, 1000);
        Assert.AreEqual(Enumerable.Range(0, 1000).Sum(i => 1000.0 * i + 7), big2.Sum(0)[7].Item());
        Assert.AreEqual(Enumerable.Range(0, 1000).Sum(j => 7000.0 + j), big2.Sum(1)[7].Item());
    }

    [TestMethod]
    public void DotCrossNorm()
    {
        var a = NTensor.FromArray(new double[] { 1, 0, 0, 0, 3, 4 }, new[] { 2, 3 });
        var b = A(0, 1, 0);
        CollectionAssert.AreEqual(new double[] { 0, 3 }, NTensor.Dot(a, b).ToArray());
        CollectionAssert.AreEqual(new double[] { 0, 0, 1, -4, 0, 0 }, NTensor.Cross(a, b).ToArray());
        CollectionAssert.AreEqual(new double[] { 1, 5 }, a.Norm(-1).ToArray());
        Assert.AreEqual(Math.Sqrt(26), a.Norm().Item(), 1e-15);
    }

    [TestMethod]
    public void Float32PathsComputeInSinglePrecision()
    {
        var x = NTensor.FromArray(new float[] { 1, 2, 3, 4 }, new[] { 2, 2 });
        Assert.AreEqual(DType.Float32, x.DType);
        var y = (x * x + 1.0).Sqrt().Sum(0);
        Assert.AreEqual(DType.Float32, y.DType);
        Assert.AreEqual((double)MathF.Sqrt(2) + MathF.Sqrt(10), y[0].Item(), 1e-6);
        var g = Autodiff.Grad(t => t.Square().Sum())(x);
        Assert.AreEqual(DType.Float32, g.DType);
        CollectionAssert.AreEqual(new double[] { 2, 4, 6, 8 }, g.ToArray());
        var big = NTensor.Ones(new[] { 100_000 }, DType.Float32);
        Assert.AreEqual(100_000.0, big.Sum().Item());
    }

    [TestMethod]
    public void NestedTapesTreatOuterTensorsAsConstants()
    {
        using var outer = new Tape();
        var x = outer.Watch(A(2.0));
        NTensor innerGrad;
        using (var inner = new Tape())
        {
            var y = inner.Watch(A(3.0));
            var f = (x * y * y).Sum();
            innerGrad = inner.Gradient(f, new[] { y })[0];
        }
        Assert.AreEqual(12.0, innerGrad.Item()); // d(x y^2)/dy = 2 x y
        var gx = outer.Gradient((x * 5.0).Sum(), new[] { x })[0];
        Assert.AreEqual(5.0, gx.Item());
    }

    [TestMethod]
    public void VjpWithVectorSeed()
    {
        var (value, pullback) = Autodiff.Vjp(xs => xs[0].Sin() * xs[1], A(0.5, 1.0), A(2.0, 3.0));
        CollectionAssert.AreEqual(new[] { Math.Sin(0.5) * 2, Math.Sin(1.0) * 3 }, value.ToArray());
        var g = pullback(A(1.0, 10.0));
        CollectionAssert.AreEqual(new[] { Math.Cos(0.5) * 2, 10 * Math.Cos(1.0) * 3 }, g[0].ToArray());
        CollectionAssert.AreEqual(new[] { Math.Sin(0.5), 10 * Math.Sin(1.0) }, g[1].ToArray());
    }

    [TestMethod]
    public void NoGradRecordsNothing()
    {
        using var tape = new Tape();
        var x = tape.Watch(A(1.0, 2.0));
        int before = tape.Count;
        var y = Tape.NoGrad(() => x * x);
        Assert.AreEqual(before, tape.Count);
        Assert.IsFalse(y.IsTracked);
        var g = tape.Gradient((y + x).Sum(), new[] { x })[0];
        CollectionAssert.AreEqual(new double[] { 1, 1 }, g.ToArray());
    }

    [TestMethod]
    public void AssignRules()
    {
        var leaf = A(1, 2);
        var view = leaf.Reshape(2, 1);
        leaf.Assign(A(5, 6));
        CollectionAssert.AreEqual(new double[] { 5, 6 }, leaf.ToArray());
        CollectionAssert.AreEqual(new double[] { 1, 2 }, view.ToArray(), "values are immutable: earlier views keep their values");
        var ex = Assert.ThrowsExactly<ArgumentException>(() => leaf.Assign(A(1, 2, 3)));
        StringAssert.Contains(ex.Message, "(3,)");
        StringAssert.Contains(ex.Message, "(2,)");
        using (var tape = new Tape())
        {
            Assert.ThrowsExactly<InvalidOperationException>(() => leaf.Assign(A(0, 0)));
        }
    }

    [TestMethod]
    public void TapeReleasesIntermediatesAfterGradient()
    {
        using var tape = new Tape();
        var x = tape.Watch(NTensor.FromArray(new double[] { 0.1, 0.2, 0.3 }));
        var (y, weak) = MakeChain(x);
        var g = tape.Gradient(y, new[] { x })[0];
        Assert.AreEqual(3, g.Size);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.IsFalse(weak.TryGetTarget(out _), "a tensor saved for the backward pass is still reachable after Gradient");
        GC.KeepAlive(y);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (NTensor, WeakReference<NTensor>) MakeChain(NTensor x)
    {
        var s = x.Sin();      // saved by the Mul VJP below only
        var y = (s * s).Exp().Sum();
        return (y, new WeakReference<NTensor>(s));
    }

    [TestMethod]
    public void ErrorMessagesNameTheOffendingShapesDtypesDevicesAndAxes()
    {
        var ex1 = Assert.ThrowsExactly<ArgumentException>(() => NTensor.Zeros(new[] { 2, 3 }) + NTensor.Zeros(new[] { 4 }));
        StringAssert.Contains(ex1.Message, "(2, 3)");
        StringAssert.Contains(ex1.Message, "(4,)");
        var ex2 = Assert.ThrowsExactly<ArgumentException>(() => NTensor.Zeros(new[] { 2 }) * NTensor.Zeros(new[] { 2 }, DType.Float32));
        StringAssert.Contains(ex2.Message, "float64");
        StringAssert.Contains(ex2.Message, "float32");
        var ex3 = Assert.ThrowsExactly<IndexOutOfRangeException>(() => NTensor.Zeros(new[] { 2, 3 })[1, 3]);
        StringAssert.Contains(ex3.Message, "axis 1");
        StringAssert.Contains(ex3.Message, "Index 3");
        var ex4 = Assert.ThrowsExactly<ArgumentException>(() => NTensor.Cross(NTensor.Zeros(new[] { 2 }), NTensor.Zeros(new[] { 2 })));
        StringAssert.Contains(ex4.Message, "(2,)");
        var ex5 = Assert.ThrowsExactly<ArgumentException>(() => NTensor.Zeros(new[] { 6 }).Reshape(4, 2));
        StringAssert.Contains(ex5.Message, "(4, 2)");
    }

    [TestMethod]
    public void ConcatStackAndExpand()
    {
        var a = NTensor.FromArray(new double[] { 1, 2 }, new[] { 1, 2 });
        var b = NTensor.FromArray(new double[] { 3, 4, 5, 6 }, new[] { 2, 2 });
        CollectionAssert.AreEqual(new double[] { 1, 2, 3, 4, 5, 6 }, NTensor.Concat(0, a, b).ToArray());
        var s = NTensor.Stack(1, A(1, 2), A(3, 4));
        CollectionAssert.AreEqual(new[] { 2, 2 }, s.GetShape());
        CollectionAssert.AreEqual(new double[] { 1, 3, 2, 4 }, s.ToArray());
        CollectionAssert.AreEqual(new double[] { 1, 2, 1, 2, 1, 2 }, a.Expand(3, 2).ToArray());
    }
}
