using NeuralMag.AD;

namespace NeuralMag.Bench;

/// <summary>
/// NTensor CPU backend: elementwise throughput against plain array loops, and the cost of recording on the tape
/// (forward with recording, forward + backward) against the same forward without a tape.
/// </summary>
public sealed class AdBench : IBenchSuite
{
    public string Name => "AD";

    /// <summary>The chain of 10 elementwise ops used for the tape-overhead rows.</summary>
    private static NTensor Chain(NTensor x)
    {
        var y = x * 1.0001;
        y = y + x;
        y = y * x;
        y = y - 0.5;
        y = y.Square();
        y = y + 1.0;
        y = y.Sqrt();
        y = y * x;
        y = -y;
        y = y + x;
        return y;
    }

    public IEnumerable<BenchRow> Run(bool quick)
    {
        int reps = quick ? 3 : 7;
        foreach (int n in new[] { 1_000_000, 10_000_000 })
        {
            var rng = new Random(1);
            var xa = new double[n];
            var ya = new double[n];
            for (int i = 0; i < n; i++) { xa[i] = rng.NextDouble() + 0.5; ya[i] = rng.NextDouble() + 0.5; }
            var x = NTensor.FromArray(xa);
            var y = NTensor.FromArray(ya);
            string tag = n == 1_000_000 ? "1e6" : "1e7";

            double tMul = BenchTimer.Median(() => GC.KeepAlive(x * y), reps);
            double tLoopMul = BenchTimer.Median(() =>
            {
                var o = new double[n];
                for (int i = 0; i < n; i++) o[i] = xa[i] * ya[i];
                GC.KeepAlive(o);
            }, reps);
            yield return new BenchRow($"x*y n={tag}", tMul, "plain loop", tLoopMul);

            double tExp = BenchTimer.Median(() => GC.KeepAlive(x.Exp()), reps);
            double tLoopExp = BenchTimer.Median(() =>
            {
                var o = new double[n];
                for (int i = 0; i < n; i++) o[i] = Math.Exp(xa[i]);
                GC.KeepAlive(o);
            }, reps);
            yield return new BenchRow($"exp(x) n={tag}", tExp, "plain loop", tLoopExp);

            double tSum = BenchTimer.Median(() => GC.KeepAlive(x.Sum()), reps);
            double tLoopSum = BenchTimer.Median(() =>
            {
                double s = 0;
                for (int i = 0; i < n; i++) s += xa[i];
                GC.KeepAlive(s);
            }, reps);
            yield return new BenchRow($"sum(x) n={tag}", tSum, "plain loop", tLoopSum);

            double tChain = BenchTimer.Median(() => GC.KeepAlive(Chain(x)), reps);
            double tChainRec = BenchTimer.Median(() =>
            {
                using var tape = new Tape();
                GC.KeepAlive(Chain(tape.Watch(x)));
            }, reps);
            yield return new BenchRow($"10-op chain recorded n={tag}", tChainRec, "no tape", tChain);

            double tChainGrad = BenchTimer.Median(() =>
            {
                using var tape = new Tape();
                var w = tape.Watch(x);
                var r = Chain(w);
                GC.KeepAlive(tape.Gradient(r, new[] { w }));
            }, reps);
            yield return new BenchRow($"10-op chain fwd+bwd n={tag}", tChainGrad, "no tape", tChain);
        }
    }
}
