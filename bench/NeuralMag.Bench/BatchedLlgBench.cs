using System.Diagnostics;
using NeuralMag.AD;
using NeuralMag.IO;

namespace NeuralMag.Bench;

/// <summary>
/// Batched against sequential on the CPU (issue 16's measure): B standard-problem-4 members (100 x 25 x 1 cells,
/// exchange + demag + Zeeman; member b starts from the stored s-state tilted by 0.002 b rad out of plane) relaxed
/// without the field (LLGSolver.Relax) and then integrated 0.1 ns in field 1, as one batched state, against the same B members run one after
/// another; and EnergyMinimizer.MinimizeMany of B members against B Minimize calls (200 iterations each, so both do the
/// same iterations). Rows per member, B = 1, 8 and 64 (quick: 1 and 8); the ratio is the batch's throughput gain.
/// </summary>
public sealed class BatchedLlgBench : IBenchSuite
{
    public string Name => "batch llg";

    private static NTensor StartOf(NTensor sState, int b)
    {
        double a = 0.002 * b;
        var tilt = sState * Math.Cos(a) + NTensor.FromArray(new[] { 0.0, 0, Math.Sin(a) });
        return tilt / tilt.Norm(-1).Unsqueeze(-1);
    }

    private static State Members(int[] members, bool batched)
    {
        var vti = ReferenceCase.FindFile(Path.Combine("oommf", "s_state_init.vti"))
            ?? throw new FileNotFoundException("oommf/s_state_init.vti not found in any reference-data root.");
        var state = new State(new Mesh(new[] { 100, 25, 1 }, new[] { 5e-9, 5e-9, 3e-9 }), Device.Cpu, DType.Float64, batch: batched ? members.Length : null);
        state.Material["Ms"] = 8e5;
        state.Material["A"] = 1.3e-11;
        state.Material["alpha"] = 0.02;
        var s = Vti.ReadTensor(vti, "m", DType.Float64);
        var starts = members.Select(b => StartOf(s, b)).ToArray();
        state["m"] = new VectorFunction(state, batched ? NTensor.Stack(0, starts) : starts[0]);
        new ExchangeField().Register(state, "exchange");
        new DemagField().Register(state, "demag");
        state["bias"] = new[] { 0.0, 0, 0 }; // the applied field, switched on after the relaxation
        new ExternalField((Func<NTensor, NTensor>)(bias => bias)).Register(state, "external");
        new TotalField("exchange", "demag", "external").Register(state);
        return state;
    }

    /// <summary>Relax in zero field, then 0.1 ns of sp4 field 1 (a solver built after the field is set reads it).</summary>
    private static void RelaxAndSwitch(State state)
    {
        new LLGSolver(state).Relax();
        state["bias"] = new[] { -19576.05800030313, 3421.8312764757497, 0.0 };
        new LLGSolver(state).Step(0.1e-9);
    }

    private static double Time(Action run)
    {
        var sw = Stopwatch.StartNew();
        run();
        return sw.Elapsed.TotalSeconds;
    }

    public IEnumerable<BenchRow> Run(bool quick)
    {
        // Warm-up (JIT, FFTW plans) of both paths, not timed.
        RelaxAndSwitch(Members(new[] { 0 }, batched: true));
        RelaxAndSwitch(Members(new[] { 0 }, batched: false));
        foreach (int size in quick ? new[] { 1, 8 } : new[] { 1, 8, 64 })
        {
            var ids = Enumerable.Range(0, size).ToArray();
            double batched = Time(() =>
            {
                RelaxAndSwitch(Members(ids, batched: true));
            });
            double sequential = Time(() =>
            {
                foreach (int b in ids)
                {
                    RelaxAndSwitch(Members(new[] { b }, batched: false));
                }
            });
            yield return new BenchRow($"sp4 relax + 0.1 ns, B = {size} batched, per member", batched / size, $"{size} runs one after another", sequential / size);
        }
        foreach (int size in quick ? new[] { 8 } : new[] { 8, 64 })
        {
            var ids = Enumerable.Range(0, size).ToArray();
            const int iterations = 200;
            double batched = Time(() => new EnergyMinimizer(Members(ids, batched: true), tol: 0, maxIter: iterations).MinimizeMany());
            double sequential = Time(() =>
            {
                foreach (int b in ids) new EnergyMinimizer(Members(new[] { b }, batched: false), tol: 0, maxIter: iterations).Minimize();
            });
            yield return new BenchRow($"sp4 MinimizeMany, {iterations} iterations, B = {size}, per member", batched / size, $"{size} Minimize calls", sequential / size);
        }
    }
}
