using NeuralMag.AD;
using NeuralMag.Kernels.Demag;

namespace NeuralMag.Tests.FieldTerms;

using State = NeuralMag.State;

/// <summary>
/// Float32 states compute their fields in float32 (the element-operator assembly, the demag convolution with
/// single-precision FFTW, the node/cell transfers): each result equals the float64 one to float32 round-off, and the
/// diagnostics show the float32 path ran (the operator's last precision, the FFT plan's library).
/// </summary>
[TestClass]
public sealed class Float32PathTests
{
    // Relative max-norm error allowed between the float32 and float64 results: float32's unit round-off is 6e-8; the
    // sums of a cell matrix-vector product and of an FFT of ~10^3 points grow it to some 1e-7.
    private const double Float32Tolerance = 2e-6;

    private static State NewState(DType dtype, int[] n, Pbc[] pbc)
    {
        var dx = new[] { 2e-9, 3e-9, 2.5e-9 };
        var state = new State(new Mesh(n, dx, pbc: pbc), Device.Cpu, dtype);
        var rng = new Random(7);
        var nodes = state.Mesh.NodeCounts;
        int nn = nodes.Aggregate(1, (a, b) => a * b), nc = n.Aggregate(1, (a, b) => a * b);
        var raw = NTensor.FromArray(Enumerable.Range(0, nn * 3).Select(_ => rng.NextDouble() - 0.5).ToArray(), nodes.Append(3).ToArray());
        state["m"] = new VectorFunction(state, (raw / raw.Norm(-1).Unsqueeze(-1)).Cast(dtype));
        NTensor Cells(Func<int, double> f) => NTensor.FromArray(Enumerable.Range(0, nc).Select(f).ToArray(), n).Cast(dtype);
        state.Material["Ms"] = new CellFunction(state, tensor: Cells(c => c % 3 == 0 ? 6e5 : 8e5));
        state.Material["A"] = new CellFunction(state, tensor: Cells(c => c % 3 == 0 ? 0.9e-11 : 1.3e-11));
        state.Material["Ku"] = new CellFunction(state, tensor: Cells(c => c % 3 == 0 ? -1e5 : 4e5));
        state.Material["Ku_axis"] = new VectorCellFunction(state).Fill(new[] { 0.6, 0, 0.8 });
        state["rho"] = new CellFunction(state, tensor: Cells(c => 0.5 + 0.5 * ((c * 7919) % 11) / 10.0));
        return state;
    }

    private static double RelativeError(float[] single, double[] reference)
    {
        double max = 0, scale = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            max = Math.Max(max, Math.Abs(single[i] - reference[i]));
            scale = Math.Max(scale, Math.Abs(reference[i]));
        }
        Assert.IsTrue(scale > 0, "the reference field is zero");
        return max / scale;
    }

    private static float[] Single(NTensor t)
    {
        Assert.AreEqual(DType.Float32, t.DType);
        return t.Storage is CpuStorage { F32: { } f } ? f : throw new AssertFailedException("the float32 result is not a float32 CPU storage");
    }

    private static NTensor Arg(State state, string name) => state[name] switch
    {
        Function f => f.Tensor,
        NTensor t => t,
        var other => throw new AssertFailedException($"attribute {name} is {other}"),
    };

    /// <summary>Exchange and uniaxial anisotropy (element operators) of a float32 state against the float64 state.</summary>
    [TestMethod]
    [DataRow("exchange")]
    [DataRow("uaniso")]
    public void TheFloat32FieldTermComputesInFloat32AndMatchesFloat64(string term)
    {
        int[] n = { 9, 7, 5 };
        var pbc = new Pbc[] { true, false, false };
        double[] reference = null!;
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var state = NewState(dtype, n, pbc);
            FieldTerm ft = term == "exchange" ? new ExchangeField() : new UniaxialAnisotropyField();
            var op = new FieldTermOperator(state, ft.Density, ft.Density.DefaultGaussPoints, term, Array.Empty<string>(), useOperators: true);
            var args = op.FieldParameters.Select(p => Arg(state, p)).ToArray();
            var h = op.Field(args);
            Assert.AreEqual(dtype, op.LastFieldPrecision, "the precision the field was computed in");
            if (dtype == DType.Float64) reference = h.ToArray();
            else
            {
                double err = RelativeError(Single(h), reference);
                Console.WriteLine($"{term}: float32 vs float64 relative max error {err:E2}");
                Assert.IsTrue(err < Float32Tolerance, $"{term}: float32 field differs from float64 by {err:E2} (relative)");
            }
        }
    }

    /// <summary>
    /// On the tape with respect to m alone, a float32 state's element-operator field computes forward and VJP in float32
    /// (K(S g) from the same float32 assembly) and its gradient follows the float64 one.
    /// </summary>
    [TestMethod]
    [DataRow("exchange")]
    [DataRow("uaniso")]
    public void TheFloat32GradientWithRespectToMComputesInFloat32AndMatchesFloat64(string term)
    {
        int[] n = { 9, 7, 5 };
        var pbc = new Pbc[] { true, false, false };
        double[] reference = null!;
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var state = NewState(dtype, n, pbc);
            FieldTerm ft = term == "exchange" ? new ExchangeField() : new UniaxialAnisotropyField();
            var op = new FieldTermOperator(state, ft.Density, ft.Density.DefaultGaussPoints, term, Array.Empty<string>(), useOperators: true);
            var args = op.FieldParameters.Select(p => Arg(state, p)).ToArray();
            var m = args[0];
            var w = state.Tensor(Enumerable.Range(0, m.Size).Select(i => Math.Sin(0.3 * i)).ToArray(), m.GetShape());
            var g = Autodiff.Grad(v => (op.Field(args.Select((t, i) => i == 0 ? v : t).ToArray()) * w).Sum())(m);
            Assert.AreEqual(dtype, op.LastFieldPrecision, "the precision the recorded field was computed in");
            Assert.AreEqual(dtype, g.DType);
            if (dtype == DType.Float64) reference = g.ToArray();
            else
            {
                double err = RelativeError(Single(g), reference);
                Console.WriteLine($"{term}: float32 vs float64 gradient relative max error {err:E2}");
                Assert.IsTrue(err < Float32Tolerance, $"{term}: float32 gradient differs from float64 by {err:E2} (relative)");
            }
        }
    }

    /// <summary>The convolution in float32 uses libfftw3f and equals the float64 convolution to float32 round-off.</summary>
    [TestMethod]
    [DataRow(new[] { 12, 10, 6 })]
    [DataRow(new[] { 1, 16, 9 })]
    [DataRow(new[] { 1, 1, 20 })]
    public void TheFloat32DemagConvolutionUsesSinglePrecisionFftwAndMatchesFloat64(int[] n)
    {
        if (!FftwNative.SingleAvailable) Assert.Inconclusive($"libfftw3f not available: {FftwNative.SingleLoadError}");
        var kernel = new DemagKernel(n, new[] { 2e-9, 3e-9, 2.5e-9 }, new[] { 0, 0, 0 });
        var rng = new Random(3);
        var m = Enumerable.Range(0, n.Aggregate(1, (a, b) => a * b) * 3).Select(_ => 8e5 * (rng.NextDouble() - 0.5)).ToArray();
        var mf = Array.ConvertAll(m, v => (float)v);
        var reference = DemagConvolution.Apply(kernel, Array.ConvertAll(mf, v => (double)v));
        var h = DemagConvolution.Apply(kernel, mf);
        StringAssert.StartsWith(kernel.SingleTransformLibrary, "libfftw3f", "the float32 convolution ran on single-precision FFTW plans");
        double err = RelativeError(h, reference);
        Console.WriteLine($"[{string.Join("x", n)}] float32 vs float64 convolution relative max error {err:E2}");
        Assert.IsTrue(err < Float32Tolerance, $"float32 convolution differs from float64 by {err:E2} (relative)");
    }

    /// <summary>
    /// A float32 source that is zero outside a few slabs of the first transformed axis (the single-precision slab plans
    /// then start at an offset, or transform every slab where the offset would break FFTW's alignment) against the
    /// float64 convolution of the same values.
    /// </summary>
    [TestMethod]
    [DataRow(new[] { 9, 4, 3 }, 4, 6)]
    [DataRow(new[] { 9, 4, 4 }, 3, 5)]
    [DataRow(new[] { 9, 4, 3 }, 7, 9)]
    public void ALocalizedFloat32SourceConvolvesLikeFloat64(int[] n, int from, int to)
    {
        if (!FftwNative.SingleAvailable) Assert.Inconclusive($"libfftw3f not available: {FftwNative.SingleLoadError}");
        var kernel = new DemagKernel(n, new[] { 2e-9, 3e-9, 2.5e-9 }, new[] { 0, 0, 0 });
        int inner = 3 * n[1] * n[2];
        var rng = new Random(5);
        var mf = new float[n[0] * inner];
        for (int i = from * inner; i < to * inner; i++) mf[i] = (float)(rng.NextDouble() + 0.5);
        var reference = DemagConvolution.Apply(kernel, Array.ConvertAll(mf, v => (double)v));
        double err = RelativeError(DemagConvolution.Apply(kernel, mf), reference);
        Console.WriteLine($"[{string.Join("x", n)}] slabs {from}..{to}: float32 vs float64 relative max error {err:E2}");
        Assert.IsTrue(err < Float32Tolerance, $"float32 convolution of a localized source differs from float64 by {err:E2} (relative)");
    }

    /// <summary>The nodal demag field of a float32 state (cell mean, convolution, node gather) in float32 against float64.</summary>
    [TestMethod]
    [DataRow(new[] { 10, 6, 4 }, "open")]
    [DataRow(new[] { 8, 6, 3 }, "images")]
    [DataRow(new[] { 6, 5, 4 }, "true")]
    public void TheFloat32DemagFieldComputesInFloat32AndMatchesFloat64(int[] n, string boundary)
    {
        bool truePbc = boundary == "true";
        var pbc = truePbc ? new Pbc[] { true, true, true } : new Pbc[] { boundary == "images" ? 2 : false, false, false };
        double[] reference = null!;
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var state = NewState(dtype, n, pbc);
            var op = new DemagOperator(state, 20, truePbc: truePbc, float32Mass: true, cuFft: false);
            var h = op.Field(new[] { Arg(state, "m"), Arg(state, "material__Ms"), Arg(state, "rho") });
            Assert.AreEqual(dtype, op.LastFieldPrecision, "the precision the field was computed in");
            if (dtype == DType.Float64) reference = h.ToArray();
            else
            {
                if (FftwNative.SingleAvailable) StringAssert.StartsWith(op.Kernel!.SingleTransformLibrary, "libfftw3f");
                double err = RelativeError(Single(h), reference);
                Console.WriteLine($"demag [{string.Join("x", n)}]: float32 vs float64 relative max error {err:E2}");
                Assert.IsTrue(err < Float32Tolerance, $"float32 demag field differs from float64 by {err:E2} (relative)");
            }
        }
    }
}
