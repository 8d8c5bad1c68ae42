using NeuralMag.AD;

namespace NeuralMag;

public partial class Function
{
    /// <summary>
    /// Density-weighted componentwise average ∫ρ f dV / ∫ρ dV (upstream's <c>avg</c>). ρ is the state's "rho" when
    /// <paramref name="domainId"/> is null, else 1 on cells with domains == domainId and eps elsewhere (upstream remaps
    /// domain → subdomain). Nodal axes are integrated exactly for multilinear f: each cell takes the mean of the two
    /// nodes bounding it along every nodal axis (wrapping on periodic axes). Differentiable in the tensor. This is the
    /// physical (volume-weighted) average; <see cref="EntryMean"/> is the unweighted mean of the stored values.
    /// </summary>
    public NTensor Avg(int? domainId = null)
    {
        var rho = domainId is null
            ? State.Tensor("rho")
            : NTensor.Where(State.Tensor("domains").Eq(State.Scalar(domainId.Value)), State.Scalar(1.0), State.Scalar(State.Eps));
        return WeightedSum(rho) / rho.Sum();
    }

    /// <summary>∫ρ f dV (per component) with the state's density ρ, in [unit of f]·m³.</summary>
    public NTensor Integral() => WeightedSum(State.Tensor("rho")) * State.Mesh.CellVolume;

    private NTensor WeightedSum(NTensor rhoCells)
    {
        var f = Tensor;
        for (int i = 0; i < Spaces.Length; i++)
        {
            if (Spaces[i] != 'n') continue;
            int n = State.Mesh.N[i];
            var lo = f.Slice(i, 0, n, 1);
            var hi = State.Mesh.Pbc[i].IsPeriodic
                ? NTensor.Concat(i, f.Slice(i, 1, n, 1), f.Slice(i, 0, 1, 1))
                : f.Slice(i, 1, n + 1, 1);
            f = (lo + hi) * 0.5;
        }
        var w = Shape.Length == 0 ? rhoCells : rhoCells.Unsqueeze(rhoCells.Rank);
        var prod = f * w;
        for (int i = 0; i < Spaces.Length; i++) prod = prod.Sum(0, false);
        return prod;
    }
}
