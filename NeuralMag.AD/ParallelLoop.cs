namespace NeuralMag.AD;

/// <summary>
/// The one parallel loop of the library's host code: body(start, end) over [0, n) in at most 4 chunks per core,
/// on the calling thread when n is small or there is one core. Chunk boundaries depend only on n, the grain and the
/// core count, so a loop whose chunks write disjoint ranges is bit-reproducible run to run.
/// </summary>
public static class ParallelLoop
{
    /// <summary>Below this many iterations (the default grain) a loop runs on the calling thread.</summary>
    public const int DefaultGrain = 1 << 15;

    /// <summary>Runs body(start, end) over [0, n) in fixed chunks, in parallel when n exceeds <paramref name="grain"/>.</summary>
    /// <param name="n">Iterations (0 or more).</param>
    /// <param name="body">Called with each chunk's half-open range.</param>
    /// <param name="grain">Smallest amount of work worth a chunk of its own (1 or more).</param>
    public static void For(int n, Action<int, int> body, int grain = DefaultGrain)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "The iteration count must be 0 or more.");
        if (grain < 1) throw new ArgumentOutOfRangeException(nameof(grain), grain, "The grain must be 1 or more.");
        if (n <= grain || Environment.ProcessorCount == 1)
        {
            body(0, n);
            return;
        }
        int chunks = Math.Min((n + grain - 1) / grain, Environment.ProcessorCount * 4);
        Parallel.For(0, chunks, c =>
        {
            long start = (long)n * c / chunks, end = (long)n * (c + 1) / chunks;
            body((int)start, (int)end);
        });
    }
}
