namespace NeuralMag;

/// <summary>
/// Counter-based random numbers (Philox4x32-10, Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as
/// 1, 2, 3", SC'11): each value is a pure function of (key, counter), so a field of random numbers is the same on any
/// number of threads and any device, and any step of a run can be regenerated without replaying the others.
/// </summary>
public static class CounterRandom
{
    private const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    /// <summary>The Philox4x32-10 block for counter (c0, c1, c2, c3) and key (k0, k1).</summary>
    public static (uint, uint, uint, uint) Philox(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int round = 0; round < 10; round++)
        {
            if (round > 0) { k0 += W0; k1 += W1; }
            ulong p0 = (ulong)M0 * c0, p1 = (ulong)M1 * c2;
            uint hi0 = (uint)(p0 >> 32), lo0 = (uint)p0, hi1 = (uint)(p1 >> 32), lo1 = (uint)p1;
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0);
        }
        return (c0, c1, c2, c3);
    }

    /// <summary>
    /// Standard normal numbers z_i, i = 0 … count − 1, of stream <paramref name="stream"/> (e.g. a step index) under
    /// <paramref name="seed"/>: pair i/2 comes from the Philox block with counter (i/2, stream) and key seed, its two
    /// 32-bit pairs made into uniforms in (0, 1) with 53 bits and turned into two normals by the Box–Muller transform.
    /// </summary>
    public static double[] Normal(ulong seed, ulong stream, int count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "The count of random numbers must be 0 or more.");
        var z = new double[count];
        int pairs = (count + 1) / 2;
        uint k0 = (uint)seed, k1 = (uint)(seed >> 32), s0 = (uint)stream, s1 = (uint)(stream >> 32);
        NeuralMag.AD.ParallelLoop.For(pairs, (lo, hi) =>
        {
            for (int p = lo; p < hi; p++)
            {
                var (a, b, c, d) = Philox((uint)p, 0, s0, s1, k0, k1);
                // 53-bit uniforms in (0, 1): never 0, so the logarithm is finite.
                double u1 = (((ulong)a << 21 ^ (ulong)b >> 11) + 0.5) * (1.0 / (1UL << 53));
                double u2 = (((ulong)c << 21 ^ (ulong)d >> 11) + 0.5) * (1.0 / (1UL << 53));
                double r = Math.Sqrt(-2 * Math.Log(u1)), phi = 2 * Math.PI * u2;
                z[2 * p] = r * Math.Cos(phi);
                if (2 * p + 1 < count) z[2 * p + 1] = r * Math.Sin(phi);
            }
        }, 4096);
        return z;
    }
}
