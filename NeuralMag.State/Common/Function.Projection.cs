using NeuralMag.AD;
using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>
/// Mass-lumped L² projections between the node space and the cell space (upstream's <c>to_cell</c>/<c>to_node</c>):
/// <list type="bullet">
/// <item>nodes → cells: f_c = ∫_c f dV / V_c, for the multilinear nodal f the mean of the cell's 2^d corners;</item>
/// <item>cells → nodes with a cell weight w (1 when none): f_n = Σ_{c ∋ n} w_c f_c / Σ_{c ∋ n} w_c, the lumped
/// projection ∫ w φ_n f dV / ∫ w φ_n dV with the hat function φ_n of node n (each adjacent cell contributes
/// V_c/2^d to both integrals). A node whose adjacent cells all have w = 0 gets 0.</item>
/// </list>
/// Both are differentiable on the tape (in f, and in w for the weighted projection) and keep the state's dtype. On a
/// batched state a per-member tensor (or weight) is projected member by member: [B] + the projected shape.
/// </summary>
public partial class Function
{
    /// <summary>
    /// This function projected to cells (the mean of each cell's corner values); a cell function is returned as it
    /// is. The weight of upstream's weighted variant cancels for a cell-constant weight, so there is none here.
    /// </summary>
    /// <exception cref="InvalidOperationException">The function mixes node and cell axes.</exception>
    public Function ToCell()
    {
        if (Spaces.All(s => s == 'c')) return this;
        RequireUniformSpaces("ToCell");
        var geometry = State.Mesh.Geometry;
        int width = Shapes.Product(Shape);
        var f = Tensor;
        var cells = State.Batch is int members && Batch.Members(f, TensorShape, Name, members) > 0
            ? Batch.Map(members, new[] { f }, new[] { TensorShape }, (_, x) => NodesToCells(x[0], geometry, width))
            : NodesToCells(f, geometry, width);
        return new Function(State, new string('c', Spaces.Length), Shape, cells, Name);
    }

    /// <summary>
    /// This function projected to nodes: the (w-weighted) mean of the adjacent cells' values; a node function is
    /// returned as it is.
    /// </summary>
    /// <param name="weight">Optional scalar cell function w (e.g. Ms or rho) weighting the cells at each node.</param>
    /// <exception cref="InvalidOperationException">The function mixes node and cell axes.</exception>
    /// <exception cref="ArgumentException">The weight is not a scalar cell function of the same state.</exception>
    public Function ToNode(Function? weight = null)
    {
        if (weight != null)
        {
            if (!ReferenceEquals(weight.State, State))
                throw new ArgumentException($"The weight '{weight.Name}' belongs to another state; it must be a scalar cell function of this one.", nameof(weight));
            if (weight.Spaces.Any(s => s != 'c') || weight.Shape.Length != 0)
                throw new ArgumentException($"The weight '{weight.Name}' has spaces '{weight.Spaces}' and value shape {Shapes.Format(weight.Shape)}; it must be a scalar cell function.", nameof(weight));
        }
        if (Spaces.All(s => s == 'n')) return this;
        RequireUniformSpaces("ToNode");
        var geometry = State.Mesh.Geometry;
        int width = Shapes.Product(Shape);
        var w = weight?.Tensor ?? State.Full(geometry.Cells, 1.0);
        var f = Tensor;
        var shapes = new[] { TensorShape, geometry.Cells };
        var nodes = State.Batch is int members && (Batch.Members(f, shapes[0], Name, members) > 0 || Batch.Members(w, shapes[1], weight?.Name ?? "weight", members) > 0)
            ? Batch.Map(members, new[] { f, w }, shapes, (_, x) => CellsToNodes(x[0], x[1], geometry, width))
            : CellsToNodes(f, w, geometry, width);
        return new Function(State, new string('n', Spaces.Length), Shape, nodes, Name);
    }

    private void RequireUniformSpaces(string operation)
    {
        if (Spaces.Distinct().Count() > 1)
            throw new InvalidOperationException($"{operation} projects a function that lives on nodes on every axis or on cells on every axis; '{Name}' has spaces '{Spaces}'.");
    }

    /// <summary>f_c = mean of the corners; VJP: each node gathers 1/2^d of its cells' cotangents.</summary>
    internal static NTensor NodesToCells(NTensor f, GridGeometry g, int width)
    {
        var cells = new double[g.NumCells * width];
        NodeCellTransfer.CellMean(g, f.ToArray(), Filled(g.NumCells, 1.0), cells, width);
        var y = Host(f, cells, CellShape(g, f, width));
        if (!Tape.IsRecording(f)) return y;
        return Tape.Record(y, new[] { f }, gy =>
        {
            var gf = new double[g.NumNodes * width];
            NodeCellTransfer.NodeGather(g, gy.ToArray(), Filled(g.NumCells, 1.0 / g.Corners), Filled(g.NumNodes, 1.0), gf, width);
            return new NTensor?[] { Host(f, gf, f.GetShape()) };
        });
    }

    /// <summary>
    /// f_n = Σ w_c f_c / W_n with W_n = Σ w_c. VJP: g_f[c] = w_c Σ_{n ∈ c} g_n / W_n and
    /// g_w[c] = Σ_{n ∈ c} g_n · (f_c − f_n) / W_n.
    /// </summary>
    internal static NTensor CellsToNodes(NTensor f, NTensor w, GridGeometry g, int width)
    {
        var fc = f.ToArray();
        var wc = w.ToArray();
        var mass = new double[g.NumNodes];
        NodeCellTransfer.NodeGather(g, Filled(g.NumCells, 1.0), wc, Filled(g.NumNodes, 1.0), mass, 1);
        var inverseMass = mass.Select(ElementAssembler.InverseMass).ToArray();
        var fn = new double[g.NumNodes * width];
        NodeCellTransfer.NodeGather(g, fc, wc, inverseMass, fn, width);
        var nodeShape = g.Nodes.Concat(f.GetShape().Skip(g.Dim)).ToArray();
        var y = Host(f, fn, nodeShape);
        if (!Tape.IsRecording(f) && !Tape.IsRecording(w)) return y;
        return Tape.Record(y, new[] { f, w }, gy =>
        {
            var gn = gy.ToArray();
            // s_n,i = g_n,i / W_n and t_n = Σ_i g_n,i f_n,i / W_n, both averaged over each cell's corners (× 2^d).
            var s = new double[gn.Length];
            var t = new double[g.NumNodes];
            for (int n = 0; n < g.NumNodes; n++)
                for (int i = 0; i < width; i++)
                {
                    s[n * width + i] = gn[n * width + i] * inverseMass[n];
                    t[n] += gn[n * width + i] * fn[n * width + i] * inverseMass[n];
                }
            var sumS = new double[g.NumCells * width];
            var sumT = new double[g.NumCells];
            var corners = Filled(g.NumCells, g.Corners);
            NodeCellTransfer.CellMean(g, s, corners, sumS, width);
            NodeCellTransfer.CellMean(g, t, corners, sumT, 1);
            var gf = new double[fc.Length];
            var gw = new double[g.NumCells];
            for (int c = 0; c < g.NumCells; c++)
            {
                double dot = 0;
                for (int i = 0; i < width; i++)
                {
                    gf[c * width + i] = wc[c] * sumS[c * width + i];
                    dot += fc[c * width + i] * sumS[c * width + i];
                }
                gw[c] = dot - sumT[c];
            }
            return new NTensor?[] { Host(f, gf, f.GetShape()), Host(f, gw, w.GetShape()) };
        });
    }

    /// <summary>Host values as a tensor of f's dtype and device.</summary>
    private static NTensor Host(NTensor like, double[] values, int[] shape) => NTensor.FromArray(values, shape, like.DType, like.Device);

    private static int[] CellShape(GridGeometry g, NTensor nodeTensor, int width) =>
        g.Cells.Concat(nodeTensor.GetShape().Skip(g.Dim)).ToArray();

    private static double[] Filled(int n, double value)
    {
        var a = new double[n];
        Array.Fill(a, value);
        return a;
    }
}
