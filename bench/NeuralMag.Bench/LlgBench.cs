using System.Diagnostics;
using NeuralMag.AD;
using NeuralMag.IO;

namespace NeuralMag.Bench;

/// <summary>
/// Standard problem 4 (field 1) from the shared relaxed s-state: wall time per simulated ns of LLG integration on the
/// CPU, float64 and float32, with the number of right-hand-side (effective field) evaluations. The baseline is the
/// cost of the same number of bare effective-field evaluations, so the difference is the integrator's own overhead.
/// </summary>
public sealed class LlgBench : IBenchSuite
{
    public string Name => "llg sp4";

    public IEnumerable<BenchRow> Run(bool quick)
    {
        double simulated = quick ? 0.01e-9 : 0.05e-9;
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var state = StandardProblem4.Field1(dtype);
            var llg = new LLGSolver(state);
            llg.Step(1e-13); // warm-up: demag kernel, JIT
            long ev0 = llg.Evaluations;
            long bytes0 = GC.GetTotalAllocatedBytes(precise: true);
            var sw = Stopwatch.StartNew();
            llg.Step(simulated);
            double secs = sw.Elapsed.TotalSeconds;
            long bytes = GC.GetTotalAllocatedBytes(precise: true) - bytes0;
            long evals = llg.Evaluations - ev0;
            var h = state.Resolve("h", new[] { "m" });
            // Two m tensors in turn: a resolved plan reuses an intermediate field whose inputs did not change.
            var ms = new[] { state.M.Tensor, state.M.Tensor * 1.0 };
            int call = 0;
            double perEval = BenchTimer.Median(() => h.Invoke(ms[call++ % 2]), quick ? 4 : 10, 2);
            long hBytes0 = GC.GetTotalAllocatedBytes(precise: true);
            h.Invoke(ms[call++ % 2]);
            long hBytes = GC.GetTotalAllocatedBytes(precise: true) - hBytes0;
            double perNs = 1e-9 / simulated;
            // Dormand–Prince takes 6 RHS evaluations per step (first same as last), so bytes per step ≈ 6 bytes/eval;
            // in units of one field (nodes × 3 × element size).
            double field = state.M.Tensor.Size * dtype.SizeInBytes();
            double perStep = 6.0 * bytes / evals;
            yield return new BenchRow($"sp4 {dtype.Name()} per simulated ns ({evals * perNs:F0} RHS evals/ns, <m_y> = {state.M.Avg().ToArray()[1]:F4}; " +
                $"allocated per step {perStep / 1024:F0} KiB = {perStep / field:F1} fields, of which the 6 bare h evaluations {6.0 * hBytes / field:F1})",
                secs * perNs, "bare h evaluations", perEval * evals * perNs);
        }
    }
}
