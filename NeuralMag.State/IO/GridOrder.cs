namespace NeuralMag.IO;

/// <summary>
/// Reorders grid data between our row-major layout (x slowest, components last) and the x-fastest layout of VTK and
/// OVF files (components still interleaved).
/// </summary>
internal static class GridOrder
{
    public static double[] ToXFastest(double[] v, int[] g, int comps)
    {
        var r = new double[v.Length];
        for (int i = 0; i < g[0]; i++)
            for (int j = 0; j < g[1]; j++)
                for (int k = 0; k < g[2]; k++)
                    for (int c = 0; c < comps; c++)
                        r[((k * g[1] + j) * g[0] + i) * comps + c] = v[((i * g[1] + j) * g[2] + k) * comps + c];
        return r;
    }

    public static double[] FromXFastest(double[] v, int[] g, int comps)
    {
        var r = new double[v.Length];
        for (int i = 0; i < g[0]; i++)
            for (int j = 0; j < g[1]; j++)
                for (int k = 0; k < g[2]; k++)
                    for (int c = 0; c < comps; c++)
                        r[((i * g[1] + j) * g[2] + k) * comps + c] = v[((k * g[1] + j) * g[0] + i) * comps + c];
        return r;
    }
}
