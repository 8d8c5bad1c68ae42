using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Precession and Gilbert damping in the effective field (the Landau–Lifshitz form of the Gilbert equation):
/// tau = -γ' m × h - α γ' m × (m × h), γ' = γ/(1 + α²), γ = <see cref="Constants.Gamma"/> = 221276.14725379366 m/(A s),
/// h the effective field (attribute "h", A/m), α = material.alpha (dimensionless); tau in 1/s. Registered as
/// <c>dmdt_llg</c>, and the whole right-hand side of a state without other torque terms.
/// </summary>
public sealed class PrecessionDampingTorque : TorqueTerm
{
    /// <summary>"llg": attribute dmdt_llg.</summary>
    public override string DefaultName => "llg";

    /// <summary>The torque as a function of the attributes h, m and material__alpha, in 1/s.</summary>
    public static readonly NamedFunction Function = new(new[] { "h", "m", "material__alpha" }, a => Of(a[1], a[0], a[2]));

    /// <summary>-γ'(m × h + α m × (m × h)) for any field h in A/m (nodal vectors) and damping α.</summary>
    /// <param name="m">Unit magnetization, shape (nodes..., 3).</param>
    /// <param name="h">Field in A/m, broadcastable to m.</param>
    /// <param name="alpha">Gilbert damping: a scalar, a tensor broadcastable to m, a scalar per node (shape of the
    /// nodes) or a cell function (shape of the cells, e.g. an absorbing boundary layer), which enters at each node as
    /// the mean over the node's adjacent cells (differentiable). On a mesh periodic along every axis cells and nodes
    /// have the same shape and α is taken per node as given (node i with cell i, half a cell apart).</param>
    public static NTensor Of(NTensor m, NTensor h, NTensor alpha) => Of(m, h, alpha, 0);

    /// <summary>
    /// The torque of a batch (<see cref="State.Batch"/>) when <paramref name="members"/> &gt; 0: m and h of shape
    /// [B, nodes..., 3]; α shared by all members (any form of the one-system overload) or one per member: [B] + one of
    /// those forms with size-1 axes, e.g. [B, 1, 1, 1] for one damping per member on a 3-d mesh.
    /// </summary>
    public static NTensor Of(NTensor m, NTensor h, NTensor alpha, int members)
    {
        alpha = members > 0 ? PerNodeOfMembers(m, alpha, members) : PerNode(m.GetShape()[..^1], alpha);
        var gammaPrime = Constants.Gamma / (alpha.Square() + 1.0);
        return NTensor.CrossPair(m, h, -gammaPrime, alpha * gammaPrime);
    }

    /// <inheritdoc />
    public override NamedFunction Torque(State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Batch is not int members) return Function;
        return new(new[] { "h", "m", "material__alpha" }, a => Of(a[1], a[0], a[2], members));
    }

    /// <summary>α of a batch as a tensor broadcastable to m = [B, nodes..., 3].</summary>
    private static NTensor PerNodeOfMembers(NTensor m, NTensor alpha, int members)
    {
        var nodes = m.GetShape()[1..^1];
        if (alpha.Rank <= nodes.Length) return PerNode(nodes, alpha);
        if (alpha.Size == members) return alpha.Reshape(Batch.MemberScalarShape(members, m.Rank - 1));
        if (alpha.Rank != nodes.Length + 1 || alpha.GetShape()[0] != members)
            throw new ArgumentException($"material.alpha has shape {Shapes.Format(alpha.GetShape())}; on a batch of {members} members it is shared (a scalar, node or cell function) or [B] + such a shape.", "material__alpha");
        var memberShape = alpha.GetShape()[1..];
        return Batch.Map(members, new[] { alpha }, new[] { memberShape }, (_, a) => PerNode(nodes, a[0]));
    }

    /// <summary>
    /// α as a tensor broadcastable to m on <paramref name="nodes"/>: unchanged when it already is; a scalar per node
    /// gains the vector axis; a cell function (one entry fewer than m's nodes along each open axis, as many along
    /// periodic ones) is carried to the nodes as the mean of the adjacent cells.
    /// </summary>
    private static NTensor PerNode(int[] nodes, NTensor alpha)
    {
        int dim = nodes.Length;
        if (alpha.Rank != dim || dim is < 1 or > 3) return alpha;
        var cells = alpha.GetShape();
        if (nodes.SequenceEqual(cells)) return alpha.Unsqueeze(-1);
        for (int k = 0; k < dim; k++)
            if (cells[k] != nodes[k] && cells[k] != nodes[k] - 1)
                throw new ArgumentException($"material.alpha has shape {Shapes.Format(cells)}; with m on {Shapes.Format(nodes)} nodes it must be a scalar, a node function or a cell function (one cell fewer than nodes along open axes).", "material__alpha");
        // Periodic axes have as many nodes as cells; the cell size does not enter an unweighted mean.
        var geometry = new NeuralMag.Kernels.FieldTerms.GridGeometry(cells, Enumerable.Range(0, dim).Select(k => cells[k] == nodes[k]).ToArray(), new[] { 1.0, 1.0, 1.0 });
        var ones = NTensor.Full(cells, 1.0, alpha.DType, alpha.Device);
        return NeuralMag.Function.CellsToNodes(alpha, ones, geometry, 1).Unsqueeze(-1);
    }
}
