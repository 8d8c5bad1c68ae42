using NeuralMag.AD;

namespace NeuralMag.Bench;

/// <summary>
/// The fixed cost of one effective-field evaluation as the LLG solver makes it, through <c>Resolve("h", ["m"])</c>
/// on thin films of 16x16x1, 64x64x1 and 128x128x1 cells (float64, CPU): exchange alone and exchange + demag, with
/// two m tensors in turn so that no intermediate is reused. The baseline is the hand-written exchange loop of the
/// field-terms suite on the same grid (its arithmetic, without dispatch), so the 16x16x1 row is the per-evaluation
/// overhead. bench/upstream.sh runs the same cases with upstream NeuralMag.
/// </summary>
public sealed class FixedCostBench : IBenchSuite
{
    public string Name => "fixed cost";

    public IEnumerable<BenchRow> Run(bool quick)
    {
        var sizes = quick ? new[] { 16, 64 } : new[] { 16, 64, 128 };
        foreach (int size in sizes)
        {
            var n = new[] { size, size, 1 };
            foreach (bool demag in new[] { false, true })
            {
                var state = new State(new Mesh(n, new[] { 2e-9, 2e-9, 2e-9 }));
                state.Material["Ms"] = 8e5;
                state.Material["A"] = 1.3e-11;
                var rng = new Random(1);
                var nodes = state.Mesh.NodeCounts;
                var m = NTensor.FromArray(Enumerable.Range(0, state.Mesh.NumNodes * 3).Select(_ => rng.NextDouble() - 0.5).ToArray(), nodes.Append(3).ToArray());
                m = m / m.Norm(-1).Unsqueeze(-1);
                state["m"] = new VectorFunction(state, m);
                new ExchangeField().Register(state, "exchange");
                if (demag) new DemagField().Register(state, "demag");
                new TotalField(demag ? new[] { "exchange", "demag" } : new[] { "exchange" }).Register(state);
                var h = state.Resolve("h", new[] { "m" });
                var ms = new[] { m, m * 1.0 };
                int call = 0;
                int reps = quick ? 20 : 200;
                double perEval = BenchTimer.Median(() => { for (int i = 0; i < reps; i++) h.Invoke(ms[call++ % 2]); }, 5, 2) / reps;
                var md = m.ToArray();
                double hand = BenchTimer.Median(() => { for (int i = 0; i < reps; i++) FieldTermBench.HandExchange(n, state.Mesh.Dx, md, 1.3e-11, 0, 8e5); }, 5, 2) / reps;
                yield return new BenchRow($"h = {(demag ? "exchange + demag" : "exchange")} {size}x{size}x1 float64, per evaluation of Resolve(h, [m])", perEval, "hand-written exchange loop", hand);
            }
        }
    }
}
