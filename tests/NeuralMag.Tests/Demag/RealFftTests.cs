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
}
