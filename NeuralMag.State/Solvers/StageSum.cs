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
    public static NTensor Of(NTensor y, NTensor[] k, IReadOnlyList<double> a, int count, double h)
    {
        var terms = new List<NTensor>(count + 1) { y };
        var coefficients = new List<double>(count + 1) { 1 };
        for (int j = 0; j < count; j++)
        {
            if (a[j] == 0) continue;
            terms.Add(k[j]);
            coefficients.Add(h * a[j]);
        }
        return terms.Count == 1 ? y : NTensor.LinearCombination(terms, coefficients);
    }
}
