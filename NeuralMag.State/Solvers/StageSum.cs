using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// The sums of the explicit Runge–Kutta methods, y + h Σ_j a_j k_j (a stage's argument, or the update with the
/// weights b_j), each as one fused <see cref="NTensor.LinearCombination"/>: one result tensor and one tape node
/// instead of two per term, with the rounding of y + k_0 (h a_0) + k_1 (h a_1) + …
/// </summary>
internal static class StageSum
{
    /// <summary>y + h Σ_{j &lt; count} a_j k_j; zero a_j are left out, and y itself is returned when all are zero.</summary>
    public static NTensor Of(NTensor y, NTensor[] k, IReadOnlyList<double> a, int count, double h) =>
        Of(y, Enumerable.Range(0, count).Select(j => ((NTensor?)k[j], a[j])), h);

    /// <summary>
    /// y + h_b Σ_{j &lt; count} a_j k_j for every member b of a batch ([B, ...] tensors) with its own step h_b, as one
    /// per-member <see cref="NTensor.LinearCombination(IReadOnlyList{NTensor}, IReadOnlyList{IReadOnlyList{double}})"/>:
    /// member b's arithmetic is that of <see cref="Of(NTensor, NTensor[], IReadOnlyList{double}, int, double)"/> with h_b.
    /// </summary>
    public static NTensor Of(NTensor y, NTensor[] k, IReadOnlyList<double> a, int count, double[] h)
    {
        var (tensors, used) = Terms(y, Enumerable.Range(0, count).Select(j => ((NTensor?)k[j], a[j])));
        if (tensors.Count == 1) return y;
        var rows = new IReadOnlyList<double>[h.Length];
        for (int b = 0; b < h.Length; b++) rows[b] = new[] { 1.0 }.Concat(used.Select(aj => h[b] * aj)).ToArray();
        return NTensor.LinearCombination(tensors, rows);
    }

    /// <summary>y followed by the k_j of nonzero a_j, and those a_j (a k_j with a_j = 0 is not read).</summary>
    private static (List<NTensor> Tensors, List<double> A) Terms(NTensor y, IEnumerable<(NTensor? K, double A)> terms)
    {
        var tensors = new List<NTensor> { y };
        var used = new List<double>();
        foreach (var (k, a) in terms)
        {
            if (a == 0) continue;
            tensors.Add(k ?? throw new ArgumentNullException(nameof(terms), "StageSum: a stage with a nonzero coefficient has no value."));
            used.Add(a);
        }
        return (tensors, used);
    }

    /// <summary>y + h Σ a_j k_j over the pairs (k_j, a_j) in their order; zero a_j are left out (their k_j is not read),
    /// and y itself is returned when all are zero.</summary>
    public static NTensor Of(NTensor y, IEnumerable<(NTensor? K, double A)> terms, double h)
    {
        var (tensors, used) = Terms(y, terms);
        return tensors.Count == 1 ? y : NTensor.LinearCombination(tensors, new[] { 1.0 }.Concat(used.Select(a => h * a)).ToArray());
    }
}
