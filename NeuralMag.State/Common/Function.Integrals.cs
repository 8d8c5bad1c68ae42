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
    /// On a batched state with a per-member tensor or ρ, the average of each member: [B] + <see cref="Shape"/>.
    /// </summary>
    public NTensor Avg(int? domainId = null)
    {
        var rho = domainId is null
            ? State.Tensor("rho")
            : NTensor.Where(State.Tensor("domains").Eq(State.Scalar(domainId.Value)), State.Scalar(1.0), State.Scalar(State.Eps));
        return PerMember(Tensor, rho, (f, r) => WeightedSum(f, r) / r.Sum());
    }

    /// <summary>
    /// ∫ρ f dV (per component) with the state's density ρ, in [unit of f]·m³; on a batched state with a per-member
    /// tensor or ρ, the integral of each member: [B] + <see cref="Shape"/>.
    /// </summary>
    public NTensor Integral() => PerMember(Tensor, State.Tensor("rho"), (f, r) => WeightedSum(f, r) * State.Mesh.CellVolume);

    /// <summary>
    /// <paramref name="op"/>(f, w) of the function's tensor f and a scalar cell tensor w; member by member when either
    /// has a batch axis on a batched state (each member as it would be alone), else once.
    /// </summary>
    private NTensor PerMember(NTensor f, NTensor cells, Func<NTensor, NTensor, NTensor> op)
    {
        if (State.Batch is int members)
        {
            var shapes = new[] { TensorShape, State.Mesh.N };
            if (Batch.Members(f, shapes[0], Name, members) > 0 || Batch.Members(cells, shapes[1], "rho", members) > 0)
                return Batch.Map(members, new[] { f, cells }, shapes, (_, x) => op(x[0], x[1]));
        }
        return op(f, cells);
    }

    private NTensor WeightedSum(NTensor f, NTensor rhoCells)
    {
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
