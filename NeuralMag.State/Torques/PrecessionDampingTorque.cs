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
    public static NTensor Of(NTensor m, NTensor h, NTensor alpha)
    {
        alpha = PerNode(m, alpha);
        var gammaPrime = Constants.Gamma / (alpha.Square() + 1.0);
        return NTensor.CrossPair(m, h, -gammaPrime, alpha * gammaPrime);
    }

    /// <inheritdoc />
    public override NamedFunction Torque(State state) => Function;

    /// <summary>
    /// α as a tensor broadcastable to m: unchanged when it already is; a scalar per node gains the vector axis; a cell
    /// function (one entry fewer than m's nodes along each open axis, as many along periodic ones) is carried to the
    /// nodes as the mean of the adjacent cells.
    /// </summary>
    private static NTensor PerNode(NTensor m, NTensor alpha)
    {
        int dim = m.Rank - 1;
        if (alpha.Rank != dim || dim is < 1 or > 3) return alpha;
        var nodes = m.GetShape()[..dim];
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
