using System.Diagnostics;
using NeuralMag.AD;

namespace NeuralMag.Bench;

/// <summary>
/// Standard problem 4 (field 1) on the converged mesh, 200 x 50 x 1 cells of 2.5 x 2.5 x 3 nm, the whole run a user
/// makes: relax the s-state with alpha = 1 from the uniform m ∥ (1, 0.25, 0.1) (<see cref="LLGSolver.Relax"/>), then
/// 1 ns with alpha = 0.02. The baseline is the same run on the benchmarks' 100 x 25 x 1 mesh in this run. Quick mode:
/// the relaxation stops at a 100 times larger torque and the integration runs 0.01 ns.
/// </summary>
public sealed class ConvergedSp4Bench : IBenchSuite
{
    public string Name => "llg sp4 converged";

    public IEnumerable<BenchRow> Run(bool quick)
    {
        double simulated = quick ? 0.01e-9 : 1e-9;
        var fine = Measure(new[] { 200, 50, 1 }, new[] { 2.5e-9, 2.5e-9, 3e-9 }, simulated, quick);
        var coarse = Measure(new[] { 100, 25, 1 }, new[] { 5e-9, 5e-9, 3e-9 }, simulated, quick);
        static string Evals(Result r) => $"{r.RelaxEvaluations} + {r.SolveEvaluations} RHS evaluations, <m_y> at the end {r.My:F4}";
        yield return new BenchRow($"sp4 200x50x1 float64 relax ({Evals(fine)})", fine.Relax, "same on 100x25x1", coarse.Relax);
        yield return new BenchRow($"sp4 200x50x1 float64 {simulated * 1e9:G2} ns", fine.Solve, "same on 100x25x1", coarse.Solve);
        yield return new BenchRow($"sp4 200x50x1 float64 relax + {simulated * 1e9:G2} ns (coarse: {Evals(coarse)})", fine.Relax + fine.Solve, "same on 100x25x1", coarse.Relax + coarse.Solve);
    }

    private sealed record Result(double Relax, double Solve, long RelaxEvaluations, long SolveEvaluations, double My);

    private static Result Measure(int[] cells, double[] dx, double simulated, bool quick)
    {
        double norm = Math.Sqrt(1 + 0.25 * 0.25 + 0.1 * 0.1);
        var state = StandardProblem4.Film(cells, dx, DType.Float64, new double[3],
            s => (VectorFunction)new VectorFunction(s, name: "m").Fill(new[] { 1 / norm, 0.25 / norm, 0.1 / norm }));
        state.Material["alpha"] = 1.0;
        var clock = Stopwatch.StartNew();
        var relax = new LLGSolver(state);
        relax.Relax(tol: quick ? 2e9 * Math.PI : 2e7 * Math.PI);
        double relaxSeconds = clock.Elapsed.TotalSeconds;
        long relaxEvals = relax.Evaluations;
        state.T = 0;
        state["h_external"] = new VectorFunction(state, name: "h_external").Fill(StandardProblem4.H1);
        state.Material["alpha"] = 0.02;
        clock.Restart();
        var llg = new LLGSolver(state);
        llg.Step(simulated);
        return new Result(relaxSeconds, clock.Elapsed.TotalSeconds, relaxEvals, llg.Evaluations, state.M.Avg().ToArray()[1]);
    }
}
