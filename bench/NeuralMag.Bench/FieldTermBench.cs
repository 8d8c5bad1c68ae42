using NeuralMag.AD;

namespace NeuralMag.Bench;

/// <summary>
/// Exchange + uniaxial anisotropy through the generic energy-density assembler, against a hand-written loop of the
/// same finite-element exchange field (8x8 element stiffness applied cell by cell), timed in the same run; and the
/// float32 exchange field against the float64 one of the same grid (float32 computes in float32).
/// </summary>
public sealed class FieldTermBench : IBenchSuite
{
    public string Name => "field terms";

    public IEnumerable<BenchRow> Run(bool quick)
    {
        var sizes = quick ? new[] { new[] { 64, 64, 8 } } : new[] { new[] { 128, 128, 16 }, new[] { 256, 256, 64 } };
        foreach (var n in sizes)
        {
            Action? exchange64 = null;
            foreach (var dtype in new[] { DType.Float64, DType.Float32 })
            {
                var state = new State(new Mesh(n, new[] { 2e-9, 2e-9, 2e-9 }), Device.Cpu, dtype);
                state.Material["Ms"] = 8e5;
                state.Material["A"] = 1.3e-11;
                state.Material["Ku"] = 1e5;
                state.Material["Ku_axis"] = new[] { 0.0, 0, 1 };
                var rng = new Random(1);
                var nodes = state.Mesh.NodeCounts;
                var m = NTensor.FromArray(Enumerable.Range(0, state.Mesh.NumNodes * 3).Select(_ => rng.NextDouble() - 0.5).ToArray(), nodes.Append(3).ToArray(), dtype);
                m = m / m.Norm(-1).Unsqueeze(-1);
                state["m"] = new VectorFunction(state, m);
                new ExchangeField().Register(state, "exchange");
                new UniaxialAnisotropyField().Register(state, "uaniso");
                var hEx = state.Resolve("h_exchange", new[] { "m" });
                var hAn = state.Resolve("h_uaniso", new[] { "m" });
                int reps = n[0] >= 256 ? 2 : 10;
                double both = BenchTimer.Median(() => { hEx.Invoke(m); hAn.Invoke(m); }, reps, 2);
                double exchange = BenchTimer.Median(() => hEx.Invoke(m), reps, 2);
                var md = m.ToArray();
                double hand = BenchTimer.Median(() => HandExchange(n, state.Mesh.Dx, md, 1.3e-11, 0, 8e5), reps, 2);
                double handBoth = BenchTimer.Median(() => HandExchange(n, state.Mesh.Dx, md, 1.3e-11, 1e5, 8e5), reps, 2);
                string size = $"{string.Join("x", n)} {dtype.Name()}";
                yield return new BenchRow($"exchange {size}", exchange, "hand-written exchange loop", hand);
                yield return new BenchRow($"exchange+uaniso {size}", both, "hand-written exchange loop", hand);
                yield return new BenchRow($"exchange+uaniso {size}", both, "hand-written fused exchange+uaniso loop", handBoth);
                if (dtype == DType.Float64) exchange64 = () => hEx.Invoke(m);
                else
                {
                    // Timed in alternation with the float64 field of the same grid.
                    var (t32, t64) = PairedTimer.Median(() => hEx.Invoke(m), exchange64!, reps, 1);
                    yield return new BenchRow($"exchange {string.Join("x", n)} float32 vs float64", t32, "exchange float64", t64);
                }
                if (n[0] < 256)
                {
                    // The generic dual-number assembler, which every density can use (and nonlinear ones must).
                    var dual = new State(state.Mesh, Device.Cpu, dtype);
                    foreach (var (k, v) in new (string, object)[] { ("Ms", 8e5), ("A", 1.3e-11) }) dual.Material[k] = v;
                    dual["m"] = new VectorFunction(dual, m);
                    new ExchangeField { ElementOperators = false }.Register(dual, "exchange");
                    var hDual = dual.Resolve("h_exchange", new[] { "m" });
                    double generic = BenchTimer.Median(() => hDual.Invoke(m), 1, 1);
                    yield return new BenchRow($"exchange, dual-number path {size}", generic, "hand-written exchange loop", hand);
                }
            }
        }
    }

    /// <summary>
    /// h = -(mu0 Ms V/8 per cell)^-1 (2A K m - 2Ku M m_z e_z) for the trilinear element stiffness K and consistent mass
    /// M (uniaxial axis z; ku = 0 leaves exchange alone), open boundaries.
    /// </summary>
    internal static double[] HandExchange(int[] n, double[] dx, double[] m, double a, double ku, double ms)
    {
        int nx = n[0] + 1, ny = n[1] + 1, nz = n[2] + 1;
        var k = Stiffness(dx, mass: false);
        var mm = Stiffness(dx, mass: true);
        var g = new double[m.Length];
        var mass = new double[nx * ny * nz];
        double share = dx[0] * dx[1] * dx[2] / 8 * ms * Constants.Mu0;
        // Cells in 8 colour groups so the parallel scatter never races.
        for (int color = 0; color < 8; color++)
        {
            int cx = color & 1, cy = (color >> 1) & 1, cz = (color >> 2) & 1;
            Parallel.For(0, (n[0] - cx + 1) / 2, ii =>
            {
                int i = 2 * ii + cx;
                Span<int> node = stackalloc int[8];
                for (int j = cy; j < n[1]; j += 2)
                    for (int l = cz; l < n[2]; l += 2)
                    {
                        for (int c = 0; c < 8; c++) node[c] = ((i + (c & 1)) * ny + j + ((c >> 1) & 1)) * nz + l + ((c >> 2) & 1);
                        for (int r = 0; r < 8; r++)
                        {
                            double gx = 0, gy = 0, gz = 0;
                            for (int c = 0; c < 8; c++)
                            {
                                double kk = k[r * 8 + c];
                                gx += kk * m[node[c] * 3];
                                gy += kk * m[node[c] * 3 + 1];
                                gz += kk * m[node[c] * 3 + 2];
                            }
                            if (ku != 0)
                            {
                                double uz = 0;
                                for (int c = 0; c < 8; c++) uz += mm[r * 8 + c] * m[node[c] * 3 + 2];
                                g[node[r] * 3 + 2] -= 2 * ku * uz;
                            }
                            g[node[r] * 3] += 2 * a * gx;
                            g[node[r] * 3 + 1] += 2 * a * gy;
                            g[node[r] * 3 + 2] += 2 * a * gz;
                            mass[node[r]] += share;
                        }
                    }
            });
        }
        for (int i = 0; i < g.Length; i++) g[i] = -g[i] / mass[i / 3];
        return g;
    }

    private static double[] Stiffness(double[] dx, bool mass)
    {
        // K_ab = integral of grad N_a . grad N_b (or of N_a N_b for the mass) over the brick, by 2-point Gauss (exact).
        var k = new double[64];
        double[] p = { 0.5 - 0.5 / Math.Sqrt(3), 0.5 + 0.5 / Math.Sqrt(3) };
        double vol = dx[0] * dx[1] * dx[2] / 8;
        foreach (var x in p) foreach (var y in p) foreach (var z in p)
        {
            var xi = new[] { x, y, z };
            var grad = new double[8, 3];
            for (int a = 0; a < 8; a++)
                for (int d = 0; d < 3; d++)
                {
                    double v = (((a >> d) & 1) == 1 ? 1 : -1) / dx[d];
                    for (int e = 0; e < 3; e++) if (e != d) v *= ((a >> e) & 1) == 1 ? xi[e] : 1 - xi[e];
                    grad[a, d] = v;
                }
            for (int a = 0; a < 8; a++)
                for (int b = 0; b < 8; b++)
                {
                    double na = 1, nb = 1;
                    for (int d = 0; d < 3; d++)
                    {
                        na *= ((a >> d) & 1) == 1 ? xi[d] : 1 - xi[d];
                        nb *= ((b >> d) & 1) == 1 ? xi[d] : 1 - xi[d];
                    }
                    k[a * 8 + b] += vol * (mass ? na * nb : grad[a, 0] * grad[b, 0] + grad[a, 1] * grad[b, 1] + grad[a, 2] * grad[b, 2]);
                }
        }
        return k;
    }
}
