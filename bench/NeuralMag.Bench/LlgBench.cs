using System.Diagnostics;
using NeuralMag.AD;
using NeuralMag.IO;

namespace NeuralMag.Bench;

/// <summary>
/// Standard problem 4 (field 1) from the shared relaxed s-state: wall time per simulated ns of LLG integration on the
/// CPU, float64 and float32, with the number of right-hand-side (effective field) evaluations. The baseline is the
/// cost of the same number of bare effective-field evaluations, so the difference is the integrator's own overhead.
/// Float32 rows compare with float64 in the same run: sp4 per simulated ns, and the LLG integration (exchange + demag)
/// of 128x128x16 and 256x256x64 grids per right-hand-side evaluation.
/// </summary>
public sealed class LlgBench : IBenchSuite
{
    public string Name => "llg sp4";

    public IEnumerable<BenchRow> Run(bool quick)
    {
        double simulated = quick ? 0.01e-9 : 1e-9;
        int chunks = quick ? 2 : 10;
        var dtypes = new[] { DType.Float64, DType.Float32 };
        var states = dtypes.Select(StandardProblem4.Field1).ToArray();
        var solvers = states.Select(s => new LLGSolver(s)).ToArray();
        foreach (var llg in solvers) llg.Step(1e-13); // warm-up: demag kernel, JIT
        var ev0 = solvers.Select(l => l.Evaluations).ToArray();
        // The two precisions integrate in alternating chunks, so machine load falls on both alike.
        var (secs64, secs32) = PairedTimer.Total(() => solvers[0].Step(simulated / chunks), () => solvers[1].Step(simulated / chunks), chunks);
        double perNs = 1e-9 / simulated;
        for (int d = 0; d < 2; d++)
        {
            var state = states[d];
            long evals = solvers[d].Evaluations - ev0[d];
            var h = state.Resolve("h", new[] { "m" });
            // Two m tensors in turn: a resolved plan reuses an intermediate field whose inputs did not change.
            var ms = new[] { state.M.Tensor, state.M.Tensor * 1.0 };
            int call = 0;
            double perEval = BenchTimer.Median(() => h.Invoke(ms[call++ % 2]), quick ? 4 : 10, 2);
            double my = state.M.Avg().ToArray()[1];
            // Memory allocated per step, measured on a short run of its own (6 RHS evaluations per Dormand–Prince
            // step, first same as last), in units of one field (nodes × 3 × element size).
            long bytes0 = GC.GetTotalAllocatedBytes(precise: true), allocEv0 = solvers[d].Evaluations;
            solvers[d].Step(quick ? 0.002e-9 : 0.01e-9);
            long bytes = GC.GetTotalAllocatedBytes(precise: true) - bytes0, allocEvals = solvers[d].Evaluations - allocEv0;
            long hBytes0 = GC.GetTotalAllocatedBytes(precise: true);
            h.Invoke(ms[call++ % 2]);
            long hBytes = GC.GetTotalAllocatedBytes(precise: true) - hBytes0;
            double field = state.M.Tensor.Size * dtypes[d].SizeInBytes();
            double perStep = 6.0 * bytes / allocEvals;
            yield return new BenchRow($"sp4 {dtypes[d].Name()} per simulated ns ({evals * perNs:F0} RHS evals/ns, <m_y> = {my:F4}; " +
                $"allocated per step {perStep / 1024:F0} KiB = {perStep / field:F1} fields, of which the 6 bare h evaluations {6.0 * hBytes / field:F1})",
                (d == 0 ? secs64 : secs32) * perNs, "bare h evaluations", perEval * evals * perNs);
        }
        yield return new BenchRow($"sp4 float32 vs float64 per simulated ns ({simulated * 1e9:G2} ns run)", secs32 * perNs, "sp4 float64", secs64 * perNs);
        foreach (var n in quick ? new[] { new[] { 32, 32, 4 } } : new[] { new[] { 128, 128, 16 }, new[] { 256, 256, 64 } })
        {
            var grid = dtypes.Select(dtype =>
            {
                var state = new State(new Mesh(n, new[] { 3e-9, 3e-9, 3e-9 }), Device.Cpu, dtype);
                state.Material["Ms"] = 8e5;
                state.Material["A"] = 1.3e-11;
                state.Material["alpha"] = 0.1;
                // A smooth non-uniform start (a tilted helix along x), the same for both precisions.
                var nodes = state.Mesh.NodeCounts;
                var m0 = new double[state.Mesh.NumNodes * 3];
                for (int i = 0; i < state.Mesh.NumNodes; i++)
                {
                    double phase = 2 * Math.PI * (i / (nodes[1] * nodes[2])) / nodes[0];
                    m0[3 * i] = 0.6;
                    m0[3 * i + 1] = 0.8 * Math.Cos(phase);
                    m0[3 * i + 2] = 0.8 * Math.Sin(phase);
                }
                state["m"] = new VectorFunction(state, NTensor.FromArray(m0, nodes.Append(3).ToArray(), dtype));
                new ExchangeField().Register(state, "exchange");
                new DemagField().Register(state, "demag");
                new TotalField("exchange", "demag").Register(state);
                var llg = new LLGSolver(state);
                llg.Step(1e-14); // warm-up: demag kernel, plans, JIT
                return llg;
            }).ToArray();
            var e0 = grid.Select(l => l.Evaluations).ToArray();
            double dt = n[0] >= 256 ? 1e-13 : 5e-13;
            var (t64, t32) = PairedTimer.Total(() => grid[0].Step(dt), () => grid[1].Step(dt), quick ? 1 : 2);
            long evals64 = grid[0].Evaluations - e0[0], evals32 = grid[1].Evaluations - e0[1];
            yield return new BenchRow($"llg exchange+demag {string.Join("x", n)} float32 vs float64 per RHS evaluation ({evals32} vs {evals64} evals)",
                t32 / evals32, "same, float64", t64 / evals64);
        }
    }
}
