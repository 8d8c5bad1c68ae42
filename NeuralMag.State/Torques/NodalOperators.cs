using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Tensor operations (on the tape) that the torque terms and the thermal field share on the nodal grid: sums of the
/// cells around each node, cell parameters carried to the nodes, node masses and first derivatives of nodal fields.
/// Along an open axis of n cells there are n + 1 nodes (node i touches cells i − 1 and i), along a periodic one n
/// (node i touches cells i − 1 mod n and i).
/// </summary>
internal static class NodalOperators
{
    /// <summary>True when <paramref name="t"/> holds one value (or one vector of <paramref name="width"/>) per cell.</summary>
    public static bool IsCellShaped(State state, NTensor t, int width = 1)
    {
        var n = state.Mesh.N;
        var shape = t.GetShape();
        int rank = width == 1 ? n.Length : n.Length + 1;
        if (shape.Length != rank) return false;
        for (int i = 0; i < n.Length; i++) if (shape[i] != n[i]) return false;
        return width == 1 || shape[^1] == width;
    }

    /// <summary>The sum over the cells around each node of a cell tensor (cells, or cells × k) → nodes (× k).</summary>
    public static NTensor CellSumToNodes(State state, NTensor cells)
    {
        var mesh = state.Mesh;
        var a = cells;
        for (int k = 0; k < mesh.Dim; k++)
        {
            int n = mesh.N[k];
            if (mesh.Pbc[k].IsPeriodic)
            {
                a = n == 1 ? a + a : a + NTensor.Concat(k, a.Slice(k, n - 1, n), a.Slice(k, 0, n - 1));
            }
            else
            {
                var zeroShape = a.GetShape();
                zeroShape[k] = 1;
                var zero = state.Zeros(zeroShape);
                var padded = NTensor.Concat(k, zero, a, zero);
                a = padded.Slice(k, 0, n + 1) + padded.Slice(k, 1, n + 2);
            }
        }
        return a;
    }

    /// <summary>The cell magnetic moment weights Ms_c rho_c (A/m) as a cell tensor.</summary>
    public static NTensor MomentWeights(State state, NTensor ms, NTensor rho)
    {
        var w = ms * rho;
        return IsCellShaped(state, w) ? w : w.Reshape().Expand(state.Mesh.N);
    }

    /// <summary>
    /// The lumped nodal moment M_i = sum_c Ms_c rho_c V / 2^d in A m² (the mass of the field terms' h = −(mu0 M)⁻¹ ∂E/∂m).
    /// </summary>
    public static NTensor NodeMoment(State state, NTensor ms, NTensor rho)
    {
        var mesh = state.Mesh;
        double share = mesh.Dx[0] * mesh.Dx[1] * mesh.Dx[2] / (1 << mesh.Dim);
        return CellSumToNodes(state, MomentWeights(state, ms, rho)) * share;
    }

    /// <summary>
    /// A parameter on the nodes: a scalar or a vector of <paramref name="width"/> is returned as is (it broadcasts),
    /// a cell tensor becomes the moment-weighted mean of the cells around each node, sum_c w_c f_c / sum_c w_c with
    /// w = Ms rho (0 where the node touches no magnetic cell), and a nodal tensor is returned as is. Scalars per node
    /// get a trailing axis of length 1 so that they broadcast against nodal vectors.
    /// </summary>
    public static NTensor ToNodes(State state, NTensor value, NTensor weights, int width, string what)
    {
        if (value.Size == 1) return value.Reshape();
        if (width > 1 && value.Rank == 1 && value.Size == width) return value;
        var nodal = state.M.TensorShape;
        if (IsCellShaped(state, value, width))
        {
            var w = width == 1 ? weights : weights.Unsqueeze(-1);
            var num = CellSumToNodes(state, value * w);
            var den = CellSumToNodes(state, w);
            var has = den.Gt(0.0);
            var r = NTensor.Where(has, num / NTensor.Where(has, den, 1.0), 0.0);
            return width == 1 ? r.Unsqueeze(-1) : r;
        }
        var nodeShape = width == 1 ? nodal[..^1] : nodal[..^1].Append(width).ToArray();
        if (Shapes.Equal(value.GetShape(), nodeShape)) return width == 1 ? value.Unsqueeze(-1) : value;
        throw new ArgumentException(
            $"'{what}' has shape {Shapes.Format(value.GetShape())}; expected a scalar{(width > 1 ? $", a vector of length {width}" : "")}, " +
            $"a cell function of shape {Shapes.Format(width == 1 ? state.Mesh.N : state.Mesh.N.Append(width).ToArray())} " +
            $"or a nodal function of shape {Shapes.Format(nodeShape)}.", what);
    }

    /// <summary>1/x where x &gt; 0, 0 elsewhere (empty cells or nodes).</summary>
    public static NTensor SafeReciprocal(NTensor x)
    {
        var has = x.Gt(0.0);
        return NTensor.Where(has, NTensor.Where(has, x, 1.0).Reciprocal(), 0.0);
    }

    /// <summary>
    /// (u · ∇) m on the nodes: sum over the mesh axes k of u_k ∂m/∂x_k, with central differences (m_{i+1} − m_{i−1})/(2 dx)
    /// inside and at periodic boundaries, one-sided ones at open ends. u: a vector (3,) or one per node (nodes × 3) in m/s.
    /// </summary>
    public static NTensor Advection(State state, NTensor m, NTensor u)
    {
        var mesh = state.Mesh;
        NTensor? sum = null;
        for (int k = 0; k < mesh.Dim; k++)
        {
            var d = Derivative(m, k, mesh.Dx[k], mesh.Pbc[k].IsPeriodic, state);
            var uk = u.Slice(u.Rank - 1, k, k + 1);
            var term = d * uk;
            sum = sum is null ? term : sum + term;
        }
        return sum!;
    }

    private static NTensor Derivative(NTensor m, int axis, double dx, bool periodic, State state)
    {
        int n = m.GetShape()[axis];
        if (periodic)
        {
            if (n < 3) return state.Zeros(m.GetShape());
            var next = NTensor.Concat(axis, m.Slice(axis, 1, n), m.Slice(axis, 0, 1));
            var prev = NTensor.Concat(axis, m.Slice(axis, n - 1, n), m.Slice(axis, 0, n - 1));
            return (next - prev) * (0.5 / dx);
        }
        var first = (m.Slice(axis, 1, 2) - m.Slice(axis, 0, 1)) * (1 / dx);
        var last = (m.Slice(axis, n - 1, n) - m.Slice(axis, n - 2, n - 1)) * (1 / dx);
        if (n == 2) return NTensor.Concat(axis, first, last);
        var inner = (m.Slice(axis, 2, n) - m.Slice(axis, 0, n - 2)) * (0.5 / dx);
        return NTensor.Concat(axis, first, inner, last);
    }

    /// <summary>Refuses m on cells (FIC): the torque terms work on nodal m.</summary>
    public static void RequireNodalM(State state, string term)
    {
        if (state.M.Spaces.Contains('c'))
            throw new NotSupportedException($"{term}: m lives on cells ('{state.M.Spaces}'); torque terms and the thermal field need a nodal m (spaces of 'n').");
    }
}
