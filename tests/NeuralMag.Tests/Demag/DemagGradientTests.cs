using NeuralMag.AD;
using NeuralMag.Testing;

namespace NeuralMag.Tests.Demag;

using State = NeuralMag.State;

/// <summary>
/// VJPs of h_demag in m, Ms and rho (nodal and FIC) against central differences, on a mesh whose padded grid
/// (16 x 8 x 4) exercises the half spectrum on every axis.
/// </summary>
[TestClass]
public sealed class DemagGradientTests
{
    private static readonly int[] N = { 5, 3, 2 };

    private static State MakeState(bool fic, Random rng)
    {
        var state = new State(new Mesh(N, new[] { 2e-9, 3e-9, 1.5e-9 }), Device.Cpu, DType.Float64);
        var cells = N.Aggregate(1, (a, b) => a * b);
        state.Material["Ms"] = new CellFunction(state, tensor: NTensor.FromArray(Enumerable.Range(0, cells).Select(_ => 5e5 + 5e5 * rng.NextDouble()).ToArray(), N));
        state["rho"] = new CellFunction(state, tensor: NTensor.FromArray(Enumerable.Range(0, cells).Select(_ => 0.3 + 0.7 * rng.NextDouble()).ToArray(), N));
        var mShape = (fic ? N : N.Select(n => n + 1).ToArray()).Append(3).ToArray();
        var m = NTensor.FromArray(Enumerable.Range(0, mShape.Aggregate(1, (a, b) => a * b)).Select(_ => rng.NextDouble() - 0.5).ToArray(), mShape);
        if (fic) state["m"] = new VectorCellFunction(state, m);
        else state["m"] = new VectorFunction(state, m);
        new DemagField { UpstreamFloat32Mass = false }.Register(state, "demag");
        return state;
    }

    [TestMethod]
    [DataRow(false, "m")]
    [DataRow(false, "material__Ms")]
    [DataRow(false, "rho")]
    [DataRow(true, "m")]
    [DataRow(true, "material__Ms")]
    [DataRow(true, "rho")]
    public void VjpMatchesFiniteDifferences(bool fic, string variable)
    {
        var rng = new Random(11);
        var state = MakeState(fic, rng);
        var h = state.Resolve("h_demag", new[] { variable });
        var x = state.Tensor(variable);
        var hShape = h.Invoke(x).GetShape();
        var w = NTensor.FromArray(Enumerable.Range(0, hShape.Aggregate(1, (a, b) => a * b)).Select(_ => rng.NextDouble() - 0.5).ToArray(), hShape);
        // Every third entry, as evenly spaced samples (4 evaluations each with Richardson's central differences).
        NeuralMagAssert.GradientMatchesFiniteDifferences(v => (h.Invoke(v) * w).Sum(), x, new GradientCheckOptions { MaxEntries = x.Size / 3 + 1 });
    }

    /// <summary>
    /// The recorded field is the untaped one bit for bit (one forward pass serves both), and the joint VJP in (m, Ms, rho)
    /// equals the VJPs taken one input at a time (only the inputs on the tape get their gradient formed).
    /// </summary>
    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void RecordedFieldAndJointVjpAgreeWithTheSeparateOnes(bool upstreamFloat32Mass)
    {
        var rng = new Random(12);
        var state = MakeState(false, rng);
        new DemagField { UpstreamFloat32Mass = upstreamFloat32Mass }.Register(state, "demag");
        var names = new[] { "m", "material__Ms", "rho" };
        var h = state.Resolve("h_demag", names);
        var x = names.Select(state.Tensor).ToArray();
        var plain = h.Invoke(x).ToArray();
        var w = NTensor.FromArray(plain.Select(_ => rng.NextDouble() - 0.5).ToArray(), h.Invoke(x).GetShape());
        var (value, joint) = Autodiff.ValueAndGrads(v => (h.Invoke(v) * w).Sum())(x);
        using (var tape = new Tape())
        {
            var taped = h.Invoke(x.Select(tape.Watch).ToArray()).ToArray();
            CollectionAssert.AreEqual(plain, taped, "the recorded field differs from the untaped one");
        }
        Assert.AreEqual((h.Invoke(x) * w).Sum().Item(), value.Item(), 0.0);
        for (int k = 0; k < names.Length; k++)
        {
            int j = k;
            var single = Autodiff.Grad(v => (h.Invoke(x.Select((t, i) => i == j ? v : t).ToArray()) * w).Sum())(x[k]).ToArray();
            CollectionAssert.AreEqual(single, joint[k].ToArray(), $"d/d{names[k]} alone differs from the joint gradient");
        }
    }
}
