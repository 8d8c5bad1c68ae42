using NeuralMag.Kernels.Demag;

namespace NeuralMag.Tests.Demag;

/// <summary>
/// The true-PBC kernel (TruePeriodicDemag.cs) against closed forms of the discrete Poisson problem. For a single
/// Fourier mode of M along a lattice direction k, Ĥ = −conj(a)(a·M̂) with a = d/|d|, d_j = (1 − e^{−i k_j})/Δx_j:
/// a wave along x (any n) gives H_x = −M_x and leaves M_y, M_z without field (they are divergence-free); a wave along
/// the xy diagonal on square cells has a = (1, 1, 0)/√2 up to a common phase, so H = −½ (M_x + M_y)(1, 1, 0);
/// uniform M has no field (the k = 0 potential is free). The operator is symmetric, and float32 follows float64.
/// </summary>
[TestClass]
public sealed class TruePeriodicDemagTests
{
    private static readonly double[] Dx = { 2e-9, 2e-9, 3e-9 };

    /// <summary>Cells x 3 values of M(c) = f(i, j, k) · direction.</summary>
    private static double[] Wave(int[] n, Func<int, int, int, double> f, double[] direction)
    {
        var m = new double[n[0] * n[1] * n[2] * 3];
        for (int i = 0; i < n[0]; i++)
            for (int j = 0; j < n[1]; j++)
                for (int k = 0; k < n[2]; k++)
                {
                    int c = (i * n[1] + j) * n[2] + k;
                    for (int a = 0; a < 3; a++) m[3 * c + a] = 8e5 * f(i, j, k) * direction[a];
                }
        return m;
    }

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        double scale = Math.Max(1, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
            Assert.AreEqual(expected[i], actual[i], 1e-12 * 8e5, $"{what}, element {i} (scale {scale:E2})");
    }

    [TestMethod]
    [DataRow(6, 1)]
    [DataRow(5, 2)]
    [DataRow(7, 3)]
    public void AWaveAlongXGivesMinusItsXComponent(int nx, int mode)
    {
        var n = new[] { nx, 3, 4 };
        var kernel = DemagKernel.TruePeriodic(n, Dx);
        Assert.IsTrue(kernel.IsTruePeriodic);
        double F(int i, int j, int k) => Math.Cos(2 * Math.PI * mode * i / nx + 0.4);
        var direction = new[] { 0.6, -0.48, 0.64 };
        var h = DemagConvolution.Apply(kernel, Wave(n, F, direction));
        AssertClose(Wave(n, F, new[] { -direction[0], 0, 0 }), h, $"wave along x, n = {nx}, mode {mode}");
    }

    [TestMethod]
    public void AWaveAlongTheDiagonalIsProjectedOntoIt()
    {
        var n = new[] { 6, 6, 2 };
        var kernel = DemagKernel.TruePeriodic(n, Dx);
        double F(int i, int j, int k) => Math.Sin(2 * Math.PI * (i + j) / 6 + 0.3);
        var direction = new[] { 0.8, 0.0, 0.6 };
        var h = DemagConvolution.Apply(kernel, Wave(n, F, direction));
        double p = -0.5 * (direction[0] + direction[1]);
        AssertClose(Wave(n, F, new[] { p, p, 0 }), h, "diagonal wave");
    }

    [TestMethod]
    public void UniformMagnetizationHasNoFieldAndASingleCellNone()
    {
        var n = new[] { 4, 3, 5 };
        var h = DemagConvolution.Apply(DemagKernel.TruePeriodic(n, Dx), Wave(n, (_, _, _) => 1, new[] { 0.0, 0.6, 0.8 }));
        AssertClose(new double[h.Length], h, "uniform M");
        var one = DemagConvolution.Apply(DemagKernel.TruePeriodic(new[] { 1, 1, 1 }, Dx), new[] { 1e5, 2e5, 3e5 });
        CollectionAssert.AreEqual(new double[3], one);
    }

    [TestMethod]
    public void TheOperatorIsSymmetricAndFloat32FollowsFloat64()
    {
        var n = new[] { 5, 4, 3 };
        var kernel = DemagKernel.TruePeriodic(n, Dx);
        var rng = new Random(3);
        var u = Enumerable.Range(0, 60 * 3).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var v = Enumerable.Range(0, 60 * 3).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var nu = DemagConvolution.Apply(kernel, u);
        var nv = DemagConvolution.Apply(kernel, v);
        double left = nu.Zip(v, (a, b) => a * b).Sum(), right = u.Zip(nv, (a, b) => a * b).Sum();
        Assert.AreEqual(left, right, 1e-13 * Math.Abs(left), "<N u, v> = <u, N v>");
        // A projector, negated: N(N u) = -N u.
        AssertClose(nu.Select(x => -x * 8e5).ToArray(), DemagConvolution.Apply(kernel, nu).Select(x => x * 8e5).ToArray(), "N N u = -N u");
        var single = DemagConvolution.Apply(kernel, Array.ConvertAll(u, x => (float)x));
        double err = nu.Zip(single, (a, b) => Math.Abs(a - b)).Max() / nu.Max(Math.Abs);
        Console.WriteLine($"true PBC float32 vs float64: relative max error {err:E2}");
        Assert.IsTrue(err < 2e-6, $"float32 true-PBC convolution differs from float64 by {err:E2}");
    }
}
