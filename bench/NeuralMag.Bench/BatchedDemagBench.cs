using NeuralMag.AD;

namespace NeuralMag.Bench;

/// <summary>
/// The demag field of a batch of B magnetizations on the standard-problem-4 grid (100 x 25 x 1 cells) per member:
/// one batched evaluation (one FFTW plan over the 3B component grids, the shared kernel spectra) against B single
/// evaluations of the same members in a loop, timed in alternation in the same run.
/// </summary>
public sealed class BatchedDemagBench : IBenchSuite
{
    public string Name => "batch demag";

    public IEnumerable<BenchRow> Run(bool quick)
    {
        int[] n = { 100, 25, 1 };
        var dtypes = quick ? new[] { DType.Float64 } : new[] { DType.Float64, DType.Float32 };
        foreach (var dtype in dtypes)
            foreach (int members in new[] { 1, 8, 64 })
            {
                var mesh = new Mesh(n, new[] { 5e-9, 5e-9, 3e-9 });
                var batched = new State(mesh, Device.Cpu, dtype, batch: members);
                var single = new State(mesh, Device.Cpu, dtype);
                foreach (var s in new[] { batched, single }) s.Material["Ms"] = 8e5;
                var rng = new Random(7);
                var nodes = mesh.NodeCounts;
                int nn = nodes.Aggregate(1, (a, b) => a * b);
                // Two different batches in turn: the member memo (an m block equal bit for bit to the last batch's) never
                // serves them, so both sides compute every member.
                NTensor Random()
                {
                    var raw = NTensor.FromArray(Enumerable.Range(0, members * nn * 3).Select(_ => rng.NextDouble() - 0.5).ToArray(), Batch.Prepend(members, nodes.Append(3).ToArray()), dtype, Device.Cpu);
                    return raw / raw.Norm(-1).Unsqueeze(-1);
                }
                var ms = new[] { Random(), Random() };
                var m = ms[0];
                batched["m"] = new VectorFunction(batched, m);
                var parts = ms.Select(x => Enumerable.Range(0, members).Select(b => x.Slice(0, b, b + 1).Squeeze(0)).ToArray()).ToArray();
                single["m"] = new VectorFunction(single, parts[0][0]);
                new DemagField().Register(batched, "demag");
                new DemagField().Register(single, "demag");
                var hBatch = batched.Resolve("h_demag", new[] { "m" });
                var hSingle = single.Resolve("h_demag", new[] { "m" });
                // Plans, kernel and weights are made before the timing.
                hBatch.Invoke(m);
                hSingle.Invoke(parts[0][0]);
                int reps = quick ? 3 : 7, turnBatch = 0, turnSingle = 0;
                var (tBatch, tLoop) = PairedTimer.Median(() => hBatch.Invoke(ms[turnBatch++ % 2]), () =>
                {
                    foreach (var p in parts[turnSingle++ % 2]) hSingle.Invoke(p);
                }, reps, 1);
                yield return new BenchRow($"h_demag 100x25x1 {dtype.Name()} per member, B = {members} batched", tBatch / members,
                    $"{members} single evaluations in a loop, per member", tLoop / members);
            }
    }
}
