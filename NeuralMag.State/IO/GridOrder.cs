namespace NeuralMag.IO;

/// <summary>
/// Reorders grid data between our row-major layout (x slowest, components last) and the x-fastest layout of VTK and
/// OVF files (components still interleaved).
/// </summary>
internal static class GridOrder
{
    /// <summary>Our (x slowest) order to the files' x-fastest order; <paramref name="v"/> holds g0 * g1 * g2 * comps values.</summary>
    public static double[] ToXFastest(double[] v, int[] g, int comps)
    {
        CheckLength(v, g, comps);
        var r = new double[v.Length];
        for (int i = 0; i < g[0]; i++)
            for (int j = 0; j < g[1]; j++)
                for (int k = 0; k < g[2]; k++)
                    for (int c = 0; c < comps; c++)
                        r[((k * g[1] + j) * g[0] + i) * comps + c] = v[((i * g[1] + j) * g[2] + k) * comps + c];
        return r;
    }

    /// <summary>The files' x-fastest order to ours; <paramref name="v"/> holds g0 * g1 * g2 * comps values.</summary>
    public static double[] FromXFastest(double[] v, int[] g, int comps)
    {
        CheckLength(v, g, comps);
        var r = new double[v.Length];
        for (int i = 0; i < g[0]; i++)
            for (int j = 0; j < g[1]; j++)
                for (int k = 0; k < g[2]; k++)
                    for (int c = 0; c < comps; c++)
                        r[((i * g[1] + j) * g[2] + k) * comps + c] = v[((k * g[1] + j) * g[0] + i) * comps + c];
        return r;
    }

    private static void CheckLength(double[] v, int[] g, int comps)
    {
        if (g.Length != 3 || g.Any(n => n < 1) || comps < 1)
            throw new ArgumentException($"Grid ({string.Join(", ", g)}) with {comps} components: need 3 positive cell counts and at least 1 component.");
        long expected = (long)g[0] * g[1] * g[2] * comps;
        if (v.Length != expected)
            throw new ArgumentException($"{v.Length} values do not fill a grid of {string.Join(" x ", g)} points/cells with {comps} components ({expected} values).");
    }
}
