namespace NeuralMag.Kernels.FieldTerms;

/// <summary>Gauss–Legendre points and weights on [0, 1] (weights sum to 1).</summary>
public static class Gauss
{
    /// <summary>The n-point rule: exact for polynomials of degree up to 2n − 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is not 1 to 10.</exception>
    public static (double[] Points, double[] Weights) Rule(int n)
    {
        if (n < 1 || n > 10) throw new ArgumentOutOfRangeException(nameof(n), $"n_gauss must be between 1 and 10, got {n}.");
        var x = new double[n];
        var w = new double[n];
        for (int i = 0; i < n; i++)
        {
            // Newton iteration on the Legendre polynomial P_n from the Chebyshev guess.
            double z = Math.Cos(Math.PI * (i + 0.75) / (n + 0.5));
            double dp = 0;
            for (int it = 0; it < 100; it++)
            {
                double p0 = 1, p1 = z;
                for (int k = 2; k <= n; k++)
                {
                    double p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
                    p0 = p1;
                    p1 = p2;
                }
                if (n == 1) { p1 = z; p0 = 1; }
                dp = n * (z * p1 - p0) / (z * z - 1);
                double dz = p1 / dp;
                z -= dz;
                if (Math.Abs(dz) < 1e-16) break;
            }
            x[i] = 0.5 * (1 - z);
            w[i] = 1.0 / ((1 - z * z) * dp * dp);
        }
        if (n == 1) { x[0] = 0.5; w[0] = 1; }
        return (x, w);
    }
}
