using NeuralMag.AD;

namespace NeuralMag.Tests.AD;

/// <summary>Misuse of the tape fails loudly: gradients of gradients, unwatched tensors, reused tapes, bad seeds.</summary>
[TestClass]
public sealed class TapeBadInputTests
{
    [TestMethod]
    public void GradientOfAGradientThrowsInsteadOfReturningZero()
    {
        // f(x) = x^4 at x = 1: f'' = 12; the second derivative is not supported and must not come back as 0.
        Func<NTensor, NTensor> f = x => (x * x * x * x).Sum();
        var e = Assert.ThrowsExactly<NotSupportedException>(() => Autodiff.Grad(x => Autodiff.Grad(f)(x).Sum())(NTensor.Scalar(1.0)));
        StringAssert.Contains(e.Message, "Gradients of gradients");
        StringAssert.Contains(e.Message, "not supported");
    }

    [TestMethod]
    public void OuterGradientThroughAnInnerGradientThrows()
    {
        // The outer variable enters the inner computation through a closure, not through Watch.
        var outer = new Tape();
        try
        {
            var a = outer.Watch(NTensor.Scalar(2.0));
            var inner = new Tape();
            var x = inner.Watch(NTensor.Scalar(3.0));
            var y = a * x * x;
            var dy = inner.Gradient(y, new[] { x })[0];
            // As a constant the inner gradient is fine (2 a x = 12) ...
            Assert.AreEqual(12.0, dy.Item());
            inner.Dispose();
            // ... but differentiating it with the outer tape would need the unrecorded backward pass.
            var e = Assert.ThrowsExactly<NotSupportedException>(() => outer.Gradient(dy * a, new[] { a }));
            StringAssert.Contains(e.Message, "Gradients of gradients");
        }
        finally
        {
            outer.Dispose();
        }
    }

    [TestMethod]
    public void NestedTapesThatDoNotMixStillWork()
    {
        // An inner tape on its own tensors inside an outer recording (the adjoint solvers' pattern in a VJP).
        using var outer = new Tape();
        var a = outer.Watch(NTensor.Scalar(2.0));
        NTensor inner;
        using (var t = new Tape())
        {
            var x = t.Watch(NTensor.Scalar(3.0));
            inner = t.Gradient(x * x, new[] { x })[0];
        }
        Assert.AreEqual(6.0, inner.Item());
        var g = outer.Gradient(a * a * inner, new[] { a })[0];
        Assert.AreEqual(24.0, g.Item());
        // A first derivative through Autodiff is unaffected.
        Assert.AreEqual(4.0, Autodiff.Grad(x => (x * x * x * x).Sum())(NTensor.Scalar(1.0)).Item());
    }

    [TestMethod]
    public void TapeMisuseHasClearMessages()
    {
        var tape = new Tape();
        var x = tape.Watch(NTensor.Scalar(3.0));
        var y = x * x;
        tape.Dispose();
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => tape.Gradient(y, new[] { NTensor.Scalar(1.0) })).Message, "not watched");
        var tape2 = new Tape();
        var x2 = tape2.Watch(NTensor.Scalar(3.0));
        var y2 = x2 * x2;
        tape2.Dispose();
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => tape2.Gradient(y2, new[] { x2 }, NTensor.Zeros(new[] { 2 }))).Message, "seed");
        Assert.AreEqual(6.0, tape2.Gradient(y2, new[] { x2 })[0].Item());
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => tape2.Gradient(y2, new[] { x2 })).Message, "already called");
        var vector = Assert.ThrowsExactly<ArgumentException>(() => Autodiff.Grad(v => v * 2)(NTensor.Zeros(new[] { 3 })));
        StringAssert.Contains(vector.Message, "scalar-valued");
    }
}
