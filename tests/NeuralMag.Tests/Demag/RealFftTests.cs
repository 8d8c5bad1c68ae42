using System.Numerics;
using NeuralMag.Kernels.Demag;

namespace NeuralMag.Tests.Demag;

/// <summary>The real-to-complex transforms (managed and, where libfftw3 loads, FFTW) against a direct DFT.</summary>
[TestClass]
public sealed unsafe class RealFftTests
{
    public static IEnumerable<object[]> Shapes => new[]
    {
        new object[] { new[] { 8 } }, new object[] { new[] { 7 } }, new object[] { new[] { 1 } },
        new object[] { new[] { 6, 5 } }, new object[] { new[] { 4, 8 } }, new object[] { new[] { 3, 4, 6 } },
        new object[] { new[] { 5, 3, 7 } }, new object[] { new[] { 2, 8, 1 } },
    };

    private static Complex[] DirectHalfSpectrum(double[] x, int[] shape)
    {
        var s3 = new int[3];
        for (int k = 0; k < 3; k++) s3[k] = k < 3 - shape.Length ? 1 : shape[k - (3 - shape.Length)];
        int h = s3[2] / 2 + 1;
        var r = new Complex[s3[0] * s3[1] * h];
        for (int a = 0; a < s3[0]; a++)
            for (int b = 0; b < s3[1]; b++)
                for (int c = 0; c < h; c++)
                {
                    Complex sum = 0;
                    for (int i = 0; i < s3[0]; i++)
                        for (int j = 0; j < s3[1]; j++)
                            for (int k = 0; k < s3[2]; k++)
                            {
                                double phase = -2 * Math.PI * ((double)a * i / s3[0] + (double)b * j / s3[1] + (double)c * k / s3[2]);
                                sum += x[(i * s3[1] + j) * s3[2] + k] * Complex.FromPolarCoordinates(1, phase);
                            }
                    r[(a * s3[1] + b) * h + c] = sum;
                }
        return r;
    }

    private static void Check(RealFft3D fft)
    {
        var rng = new Random(3);
        var x = Enumerable.Range(0, (int)fft.RealLength).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var expected = DirectHalfSpectrum(x, fft.Shape);
        using var real = new NativeBuffer<double>(fft.RealLength);
        using var spec = new NativeBuffer<Complex>(fft.SpectrumLength);
        x.CopyTo(real.Span);
        fft.Forward(real, spec);
        CollectionAssert.AreEqual(x, real.Span.ToArray(), "the forward transform must keep its input");
        for (int i = 0; i < expected.Length; i++)
            Assert.AreEqual(0, (spec.Span[i] - expected[i]).Magnitude, 1e-12, $"{fft.Backend} [{string.Join(",", fft.Shape)}] frequency {i}");
        real.Clear();
        fft.Inverse(spec, real);
        for (int i = 0; i < x.Length; i++) Assert.AreEqual(x[i] * fft.RealLength, real.Span[i], 1e-12 * fft.RealLength, $"{fft.Backend} round trip {i}");
    }

    [TestMethod]
    [DynamicData(nameof(Shapes))]
    public void ManagedMatchesDirectDft(int[] shape) => Check(RealFft3D.Create(shape, FftBackend.Managed));

    [TestMethod]
    [DynamicData(nameof(Shapes))]
    public void FftwMatchesDirectDft(int[] shape)
    {
        if (!FftwNative.Available) Assert.Inconclusive($"libfftw3 not available: {FftwNative.LoadError}");
        Check(RealFft3D.Create(shape, FftBackend.Fftw));
    }

    public static IEnumerable<object[]> PrunedCases => new[]
    {
        new object[] { new[] { 16 }, new[] { 5 } }, new object[] { new[] { 8, 16 }, new[] { 3, 8 } },
        new object[] { new[] { 8, 4, 16 }, new[] { 4, 2, 7 } }, new object[] { new[] { 5, 8, 4 }, new[] { 5, 3, 2 } },
        new object[] { new[] { 8, 8, 8 }, new[] { 8, 8, 8 } },
    };

    [TestMethod]
    [DynamicData(nameof(PrunedCases))]
    public void PrunedTransformsEqualTheFullOnesOnTheBlock(int[] shape, int[] block)
    {
        foreach (var backend in new[] { FftBackend.Managed, FftBackend.Fftw })
        {
            if (backend == FftBackend.Fftw && !FftwNative.Available) continue;
            var fft = RealFft3D.Create(shape, backend);
            var rng = new Random(8);
            var x = new double[fft.RealLength];
            var strides = new int[shape.Length];
            strides[^1] = 1;
            for (int k = shape.Length - 2; k >= 0; k--) strides[k] = strides[k + 1] * shape[k + 1];
            bool InBlock(long flat) => Enumerable.Range(0, shape.Length).All(k => flat / strides[k] % shape[k] < block[k]);
            for (long i = 0; i < x.Length; i++) x[i] = InBlock(i) ? rng.NextDouble() - 0.5 : 0;
            using var real = new NativeBuffer<double>(fft.RealLength);
            using var full = new NativeBuffer<Complex>(fft.SpectrumLength);
            using var pruned = new NativeBuffer<Complex>(fft.SpectrumLength);
            // Twice with different data: the pruned transform must not depend on what its buffers held before.
            for (int round = 0; round < 2; round++)
            {
                for (long i = 0; i < x.Length; i++) x[i] = InBlock(i) ? rng.NextDouble() - 0.5 : 0;
                x.CopyTo(real.Span);
                fft.Forward(real, full);
                fft.ForwardPruned(real.Pointer, pruned.Pointer, block);
                for (int i = 0; i < full.Length; i++)
                    Assert.AreEqual(0, (full.Span[i] - pruned.Span[i]).Magnitude, 1e-12, $"{backend} forward frequency {i}, round {round}");
            }
            // A spectrum of something not block-supported: the inverse must still be right on the block.
            for (int i = 0; i < full.Length; i++) full.Span[i] = pruned.Span[i] = new Complex(rng.NextDouble() - 0.5, rng.NextDouble() - 0.5);
            using var outFull = new NativeBuffer<double>(fft.RealLength);
            using var outPruned = new NativeBuffer<double>(fft.RealLength);
            fft.Inverse(full, outFull);
            fft.InversePruned(pruned.Pointer, outPruned.Pointer, block);
            for (long i = 0; i < x.Length; i++)
                if (InBlock(i)) Assert.AreEqual(outFull.Span[(int)i], outPruned.Span[(int)i], 1e-12 * fft.RealLength, $"{backend} inverse element {i}");
        }
    }

    /// <summary>
    /// A forward transform of data in the slabs [first, block[0]) of axis 0 (the zero slabs before first skipped)
    /// equals the full transform, on both backends; odd real slabs at odd offsets take FFTW's unshifted path.
    /// </summary>
    [TestMethod]
    [DataRow(new[] { 8, 16 }, new[] { 5, 8 }, 3)]
    [DataRow(new[] { 8, 4, 16 }, new[] { 4, 2, 7 }, 2)]
    [DataRow(new[] { 8, 4, 16 }, new[] { 4, 2, 7 }, 3)]
    [DataRow(new[] { 6, 3, 5 }, new[] { 4, 3, 5 }, 1)]
    public void ForwardTransformSkippingLeadingZeroSlabsEqualsTheFullOne(int[] shape, int[] block, int first)
    {
        foreach (var backend in new[] { FftBackend.Managed, FftBackend.Fftw })
        {
            if (backend == FftBackend.Fftw && !FftwNative.Available) continue;
            var fft = RealFft3D.Create(shape, backend);
            var rng = new Random(9);
            var strides = new int[shape.Length];
            strides[^1] = 1;
            for (int k = shape.Length - 2; k >= 0; k--) strides[k] = strides[k + 1] * shape[k + 1];
            bool InData(long flat) => flat / strides[0] >= first && Enumerable.Range(0, shape.Length).All(k => flat / strides[k] % shape[k] < block[k]);
            using var real = new NativeBuffer<double>(fft.RealLength);
            using var full = new NativeBuffer<Complex>(fft.SpectrumLength);
            using var pruned = new NativeBuffer<Complex>(fft.SpectrumLength);
            for (int round = 0; round < 2; round++)
            {
                for (int i = 0; i < full.Length; i++) pruned.Span[i] = new Complex(rng.NextDouble(), 1); // stale values must not survive
                for (long i = 0; i < fft.RealLength; i++) real.Span[(int)i] = InData(i) ? rng.NextDouble() - 0.5 : 0;
                fft.Forward(real, full);
                fft.ForwardPruned(real.Pointer, pruned.Pointer, block, first);
                for (int i = 0; i < full.Length; i++)
                    Assert.AreEqual(0, (full.Span[i] - pruned.Span[i]).Magnitude, 1e-12, $"{backend} frequency {i}, round {round}");
            }
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => fft.ForwardPruned(real.Pointer, pruned.Pointer, block, block[0]));
        }
    }
}
