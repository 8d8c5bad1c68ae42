using System.Diagnostics;

namespace NeuralMag.Bench;

/// <summary>
/// Times two actions in alternation (a, b, a, b, ...), so that load from other processes on a shared machine falls on
/// both alike; the ratio of the two medians is then steadier than that of two medians taken one after the other.
/// </summary>
internal static class PairedTimer
{
    /// <summary>Median wall times of <paramref name="a"/> and <paramref name="b"/> over <paramref name="reps"/> alternating runs after <paramref name="warmup"/> unmeasured pairs.</summary>
    public static (double A, double B) Median(Action a, Action b, int reps = 7, int warmup = 1)
    {
        for (int i = 0; i < warmup; i++) { a(); b(); }
        var ta = new double[reps];
        var tb = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            var sw = Stopwatch.StartNew();
            a();
            ta[i] = sw.Elapsed.TotalSeconds;
            sw.Restart();
            b();
            tb[i] = sw.Elapsed.TotalSeconds;
        }
        Array.Sort(ta);
        Array.Sort(tb);
        return (ta[reps / 2], tb[reps / 2]);
    }

    /// <summary>Total wall times of <paramref name="chunks"/> alternating runs of each action (for long runs split in parts).</summary>
    public static (double A, double B) Total(Action a, Action b, int chunks)
    {
        double sa = 0, sb = 0;
        for (int i = 0; i < chunks; i++)
        {
            var sw = Stopwatch.StartNew();
            a();
            sa += sw.Elapsed.TotalSeconds;
            sw.Restart();
            b();
            sb += sw.Elapsed.TotalSeconds;
        }
        return (sa, sb);
    }
}
