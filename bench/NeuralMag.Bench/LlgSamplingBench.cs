using System.Diagnostics;
using NeuralMag.AD;
using NeuralMag.IO;

namespace NeuralMag.Bench;

/// <summary>
/// Standard problem 4 (field 1, float64) sampled at output times: right-hand-side evaluations and wall time of 1 ns
/// (quick: 0.1 ns) in Steps of 10 ps and 5 ps, with the step-size selection restarted at every output time
/// (<see cref="LLGSolver.ResetStepSize"/>), with the step carried over, and through one Solve over all output times,
/// each against a single run over the whole span in the same process.
/// </summary>
public sealed class LlgSamplingBench : IBenchSuite
{
    public string Name => "llg sampling";

    public IEnumerable<BenchRow> Run(bool quick)
    {
        double span = quick ? 0.1e-9 : 1e-9;
        Measure(llg => llg.Step(1e-12)); // JIT and FFT plans outside the timings
        var (once, onceEvals) = Measure(llg => llg.Step(span));
        foreach (double dt in new[] { 1e-11, 5e-12 })
        {
            int outputs = (int)Math.Round(span / dt);
            var (restart, restartEvals) = Measure(llg => { for (int i = 0; i < outputs; i++) { llg.ResetStepSize(); llg.Step(dt); } });
            var (carried, carriedEvals) = Measure(llg => { for (int i = 0; i < outputs; i++) llg.Step(dt); });
            var times = Enumerable.Range(1, outputs).Select(i => i * dt).ToArray();
            var (solved, solvedEvals) = Measure(llg => llg.Solve(times));
            string label = $"sp4 {span * 1e9:G2} ns every {dt * 1e12:G2} ps";
            yield return new BenchRow($"{label}, step size restarted per output: {restartEvals} RHS evals (one run {onceEvals})", restart, "one run", once);
            yield return new BenchRow($"{label}, step size carried over (Step): {carriedEvals} RHS evals", carried, "one run", once);
            yield return new BenchRow($"{label}, one Solve over the output times: {solvedEvals} RHS evals", solved, "one run", once);
        }
    }

    private static (double Seconds, long Evaluations) Measure(Action<LLGSolver> run)
    {
        var state = StandardProblem4.Field1(DType.Float64);
        var m = state.M.Tensor;
        state["m"] = new VectorFunction(state, m / m.Norm(-1).Unsqueeze(-1)); // the stored s-state is unit to 1.7e-5
        var llg = new LLGSolver(state);
        state.Tensor("h"); // demag kernel and JIT outside the timing
        var sw = Stopwatch.StartNew();
        run(llg);
        return (sw.Elapsed.TotalSeconds, llg.Evaluations);
    }
}
