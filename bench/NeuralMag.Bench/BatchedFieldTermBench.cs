using NeuralMag.AD;

namespace NeuralMag.Bench;

/// <summary>
/// The batch axis of the field terms: exchange + uniaxial anisotropy + Zeeman, h = state.Resolve("h", ["m"]) on the
/// standard-problem-4 grid (100 x 25 x 1 cells), one evaluation of a batch of B members against B evaluations of the
/// unbatched state, timed in alternation in the same run; rows are per member. Every call gets m in a storage other
/// than the previous call's (two copies used in turn), so that the resolved plan's memo of unchanged intermediates
/// does not return the last fields.
/// </summary>
public sealed class BatchedFieldTermBench : IBenchSuite
{
    public string Name => "batch field terms";

    private static readonly int[] Cells = { 100, 25, 1 };

    private static State NewState(int? batch, NTensor m)
    {
        var state = new State(new Mesh(Cells, new[] { 5e-9, 5e-9, 3e-9 }), Device.Cpu, DType.Float64, batch);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["Ku"] = 1e5;
        state.Material["Ku_axis"] = new[] { 1.0, 0, 0 };
        state["m"] = new VectorFunction(state, m);
        new ExchangeField().Register(state, "exchange");
        new UniaxialAnisotropyField().Register(state, "uaniso");
        new ExternalField(new[] { -24.6e-3 / Constants.Mu0, 4.3e-3 / Constants.Mu0, 0 }).Register(state, "external");
        new TotalField("exchange", "uaniso", "external").Register(state);
        return state;
    }

    public IEnumerable<BenchRow> Run(bool quick)
    {
        var batches = quick ? new[] { 1, 8 } : new[] { 1, 8, 64 };
        int reps = quick ? 5 : 21;
        var nodes = new Mesh(Cells, new[] { 5e-9, 5e-9, 3e-9 }).NodeCounts.Append(3).ToArray();
        int size = nodes.Aggregate(1, (a, b) => a * b);
        foreach (int b in batches)
        {
            var rng = new Random(3);
            // Two different batches in turn: the member memo (an m block equal bit for bit to the last) never serves them.
            NTensor Random()
            {
                var raw = NTensor.FromArray(Enumerable.Range(0, b * size).Select(_ => rng.NextDouble() - 0.5).ToArray(), Batch.Prepend(b, nodes));
                return raw / raw.Norm(-1).Unsqueeze(-1);
            }
            var all = Random();
            var copies = new[] { all, Random() };
            var members = copies.Select(c => Enumerable.Range(0, b).Select(k => c.Slice(0, k, k + 1).Squeeze(0)).ToArray()).ToArray();
            var batched = NewState(b, all).Resolve("h", new[] { "m" });
            var single = NewState(null, members[0][0]).Resolve("h", new[] { "m" });
            int turnBatch = 0, turnSingle = 0;
            var (tBatch, tSingles) = PairedTimer.Median(
                () => batched.Invoke(copies[turnBatch++ % 2]),
                () =>
                {
                    var ms = members[turnSingle++ % 2];
                    foreach (var m in ms) single.Invoke(m);
                },
                reps, 2);
            yield return new BenchRow($"exchange+uaniso+Zeeman h, 100x25x1, batch of {b} (per member)", tBatch / b,
                $"{b} single evaluation{(b == 1 ? "" : "s")} (per member)", tSingles / b);
        }
    }
}
