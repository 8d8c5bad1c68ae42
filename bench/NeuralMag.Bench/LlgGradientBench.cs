using System.Diagnostics;
using NeuralMag.AD;
using NeuralMag.IO;

namespace NeuralMag.Bench;

/// <summary>
/// Time and peak memory of a gradient through standard problem 4 dynamics (field 1 from the shared s-state, 100x25x1
/// cells, float64): d&lt;m_y&gt;(t1)/d(m0, alpha) by checkpointed backpropagation, against the forward solve without a
/// tape, by binomial checkpointing (revolve, the default and a logarithmic snapshot budget) and by the continuous adjoint. Full mode integrates 1 ns; the peak managed heap above the idle state is sampled every 2 ms. Plain
/// backpropagation (the whole tape kept) is shown over a short span, with its memory per simulated ns.
/// </summary>
public sealed class LlgGradientBench : IBenchSuite
{
    public string Name => "llg gradient";

    public IEnumerable<BenchRow> Run(bool quick)
    {
        double t1 = quick ? 0.02e-9 : 1e-9;
        int segments = quick ? 2 : 50;
        var (state, llg) = Setup();
        var m0 = state.M.Tensor;
        var alpha = state.Scalar(0.02);
        var (fwd, fwdPeak) = Measure(() => llg.Solve(t1, m0, [alpha])[.., .., .., 1].Mean().Item());
        // The 1 ns rows are collected and printed after a second forward solve: on a shared machine the load changes
        // over the minutes these take, so each ratio is taken against the mean of the forward solves before and after.
        var rows = new List<(string Case, double Seconds)>();
        NTensor[]? exact = null;
        var (ckpt, ckptPeak) = Measure(() => exact = Gradient(m => llg.SolveCheckpointed(t1, m.Item1, [m.Item2], segments), m0, alpha));
        rows.Add(($"gradient {t1 * 1e9:G3} ns, checkpointed backprop, {segments} segments: peak heap {Mb(ckptPeak)} ({ckptPeak / (double)Math.Max(fwdPeak, 1):F1}x forward, forward {Mb(fwdPeak)})", ckpt));
        foreach (int snapshots in new[] { LLGSolver.DefaultRevolveSnapshots })
            rows.Add(RevolveRow(llg, t1, m0, alpha, snapshots, exact!, $"checkpointed backprop ({segments} segments, its own steps)", fwdPeak));
        // The target: exact, at most 64 MB of heap (garbage included), at most 4x the forward solve.
        rows.Add(RevolveRow(llg, t1, m0, alpha, LLGSolver.DefaultRevolveSnapshots, exact!, $"checkpointed backprop ({segments} segments, its own steps)", fwdPeak, 64_000_000));
        foreach (int checkpoints in new[] { 1, segments })
        {
            NTensor[]? adjoint = null;
            var (adj, adjPeak) = Measure(() => adjoint = Gradient(m => llg.SolveAdjoint(t1, m.Item1, [m.Item2], checkpoints), m0, alpha));
            double alphaErr = Math.Abs(adjoint![1].Item() - exact![1].Item()) / Math.Abs(exact[1].Item());
            double mErr = (adjoint[0] - exact[0]).Abs().Max().Item() / exact[0].Abs().Max().Item();
            rows.Add(($"gradient {t1 * 1e9:G3} ns, continuous adjoint, {checkpoints} m checkpoint(s): peak heap {Mb(adjPeak)} ({adjPeak / (double)Math.Max(fwdPeak, 1):F1}x forward); vs checkpointed backprop: d/dalpha {alphaErr:E1}, d/dm0 {mErr:E1} relative", adj));
        }
        // ⌈log2 n⌉ + 1 snapshots for the n ≈ 1200 steps of 1 ns: O(log n) memory, a few recomputation sweeps.
        if (!quick) rows.Add(RevolveRow(llg, t1, m0, alpha, 12, exact!, $"checkpointed backprop ({segments} segments, its own steps)", fwdPeak));
        var (fwdAfter, _) = Measure(() => llg.Solve(t1, m0, [alpha])[.., .., .., 1].Mean().Item());
        double baseline = (fwd + fwdAfter) / 2;
        foreach (var (label, secs) in rows)
            yield return new BenchRow(label, secs, $"forward solve (mean of {BenchTimer.Format(fwd)} before and {BenchTimer.Format(fwdAfter)} after)", baseline);
        double span = quick ? 0.005e-9 : 0.02e-9;
        NTensor[]? plain = null;
        var (bp, bpPeak) = Measure(() => plain = Gradient(m => llg.Solve(span, m.Item1, [m.Item2]), m0, alpha));
        yield return new BenchRow($"gradient {span * 1e9:G3} ns, plain backprop: peak heap {Mb(bpPeak)} (~{bpPeak / (span * 1e9) / 1e9:F0} GB per simulated ns)",
            bp, "forward solve (scaled to the span)", baseline * span / t1);
        var (spanFwd, _) = Measure(() => llg.Solve(span, m0, [alpha])[.., .., .., 1].Mean().Item());
        var (spanCase, spanSecs) = RevolveRow(llg, span, m0, alpha, LLGSolver.DefaultRevolveSnapshots, plain!, "plain backprop (the same steps)", fwdPeak);
        yield return new BenchRow(spanCase, spanSecs, "forward solve", spanFwd);
    }

    /// <summary>The revolve gradient with a snapshot budget: time against the forward solve, peak heap, the
    /// schedule's work, and its relative difference from a reference gradient.</summary>
    private static (string Case, double Seconds) RevolveRow(LLGSolver llg, double t1, NTensor m0, NTensor alpha, int snapshots, NTensor[] reference, string referenceName, long fwdPeak, long memoryBudget = 0)
    {
        NTensor[]? g = null;
        var (secs, peak) = Measure(() => g = Gradient(m => llg.SolveRevolve(t1, m.Item1, [m.Item2], snapshots, memoryBudget), m0, alpha));
        var stats = llg.LastRevolve!;
        double alphaDiff = Math.Abs(g![1].Item() - reference[1].Item()) / Math.Abs(reference[1].Item());
        double mDiff = (g[0] - reference[0]).Abs().Max().Item() / reference[0].Abs().Max().Item();
        string budget = memoryBudget == 0 ? "" : $", memory budget {Mb(memoryBudget)} ({stats.Collections} collections, live at most {Mb(stats.PeakLiveBytes)})";
        return ($"gradient {t1 * 1e9:G3} ns, revolve, {snapshots} snapshots{budget}: peak heap {Mb(peak)} ({peak / (double)Math.Max(fwdPeak, 1):F1}x forward); {stats.Steps} steps, {stats.RecomputedSteps} recomputed, {stats.PeakSnapshots} snapshots held; vs {referenceName}: d/dalpha {alphaDiff:E1}, d/dm0 {mDiff:E1} relative",
            secs);
    }

    private static string Mb(long bytes) => $"{bytes / 1e6:F0} MB";

    private static (State, LLGSolver) Setup()
    {
        var state = StandardProblem4.Field1(DType.Float64);
        var llg = new LLGSolver(state, parameters: new[] { "material.alpha" });
        llg.Step(1e-13); // demag kernel and JIT outside the measurement
        return (state, llg);
    }

    private static NTensor[] Gradient(Func<(NTensor, NTensor), NTensor> solve, NTensor m0, NTensor alpha)
    {
        using var tape = new Tape();
        var mw = tape.Watch(m0);
        var aw = tape.Watch(alpha);
        var my = solve((mw, aw))[.., .., .., 1].Mean();
        return tape.Gradient(my, new[] { mw, aw });
    }

    /// <summary>Wall time and the peak of the managed heap above its level before the call.</summary>
    private static (double Seconds, long PeakBytes) Measure(Action action)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long idle = GC.GetTotalMemory(true), peak = idle;
        bool done = false;
        var sampler = new Thread(() =>
        {
            while (!Volatile.Read(ref done))
            {
                peak = Math.Max(peak, GC.GetTotalMemory(false));
                Thread.Sleep(2);
            }
        }) { IsBackground = true };
        sampler.Start();
        var sw = Stopwatch.StartNew();
        action();
        double secs = sw.Elapsed.TotalSeconds;
        Volatile.Write(ref done, true);
        sampler.Join();
        peak = Math.Max(peak, GC.GetTotalMemory(false));
        return (secs, peak - idle);
    }
}
