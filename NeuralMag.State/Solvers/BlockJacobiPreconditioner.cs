using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Block-Jacobi preconditioner M = I − hγ D of the Newton stage systems (I − hγ J) δ = r of
/// <see cref="ImplicitRungeKutta"/>, D the block diagonal of J = ∂f_I/∂y: one c × c block per node of a state of shape
/// [n_1, …, n_k, c] (c the last axis, e.g. the 3 components of m at each mesh node).
/// <para>The blocks come from Jacobian–vector products with coloured unit vectors (Curtis, Powell and Reid, IMA J.
/// Appl. Math. 13 (1974) 117): node (i_1, …, i_k) has the colour (i_1 mod 2, …, i_k mod 2), and the probe of colour q
/// and component a is 1 in component a of every node of colour q, 0 elsewhere. Two distinct nodes of one colour lie
/// at least two indices apart along some axis, so where f_I couples a node only with the nodes within one index along
/// each axis (nodal exchange, DMI, anisotropy, Zeeman: nodes that share a cell) the entries of J v at a node of colour
/// q are exactly column a of that node's diagonal block. That takes c · Π_j min(2, n_j) products (24 on a 3-d mesh of
/// more than one cell per axis) once per Jacobian refresh. Couplings farther out (demag, when it is implicit in the
/// Kvaerno methods) add the sum over the node's same-coloured partners to its block: M is then an approximation,
/// which weakens the preconditioner but not the solution, since GMRES is preconditioned from the right and tests the
/// true residual.</para>
/// <para>For uniform m and the exchange operator H (∝ Δ, diagonal d), the spectrum of I − hγJ on the tangent plane,
/// 1 + hγ λ_k (α ± i) with λ_k ∈ [0, 2d], reaches far along the imaginary axis; M⁻¹(I − hγJ) has the eigenvalues
/// (1 + hγ λ_k (α ± i)) / (1 + hγ d (α ± i)), close to the real segment [1/(1 + hγ d), 2], where GMRES converges
/// like conjugate gradients on a condition number ~2 hγ d.</para>
/// </summary>
internal sealed class BlockJacobiPreconditioner
{
    /// <summary>Largest block (last axis) probed and inverted; a longer last axis is not preconditioned.</summary>
    public const int MaxBlockSize = 8;

    private readonly double[] _jacobianBlocks; // node-major, each block c × c row-major: D[node][row, column]

    private BlockJacobiPreconditioner(int nodes, int blockSize, double[] jacobianBlocks, int products)
    {
        Nodes = nodes;
        BlockSize = blockSize;
        _jacobianBlocks = jacobianBlocks;
        Products = products;
    }

    /// <summary>Nodes (blocks).</summary>
    public int Nodes { get; }

    /// <summary>Rows and columns of each block (the state's last axis).</summary>
    public int BlockSize { get; }

    /// <summary>Jacobian–vector products the probing took.</summary>
    public int Products { get; }

    /// <summary>Entry (row, column) of node <paramref name="node"/>'s diagonal block of J.</summary>
    public double this[int node, int row, int column] => _jacobianBlocks[(node * BlockSize + row) * BlockSize + column];

    /// <summary>The preconditioner of the given blocks (node-major, each c × c row-major), probed elsewhere.</summary>
    internal static BlockJacobiPreconditioner FromBlocks(int nodes, int blockSize, double[] blocks) => new(nodes, blockSize, blocks, 0);

    /// <summary>
    /// The block diagonal of the linear map <paramref name="jacobianTimes"/> on tensors shaped like
    /// <paramref name="like"/> (its dtype and device), by coloured probes; null when <paramref name="like"/> is a
    /// scalar or its last axis is longer than <see cref="MaxBlockSize"/>.
    /// </summary>
    public static BlockJacobiPreconditioner? Probe(Func<NTensor, NTensor> jacobianTimes, NTensor like)
    {
        ArgumentNullException.ThrowIfNull(jacobianTimes);
        ArgumentNullException.ThrowIfNull(like);
        int rank = like.Rank;
        if (rank == 0) return null;
        var shape = like.Shape.ToArray();
        int c = shape[rank - 1];
        if (c < 1 || c > MaxBlockSize) return null;
        int nodes = like.Size / c;
        // Colour of each node: the parities of its indices along the leading axes, packed into bits (an axis of
        // length 1 contributes only parity 0, so it doubles nothing).
        var colourOf = new int[nodes];
        var usedColours = new SortedSet<int>();
        for (int node = 0; node < nodes; node++)
        {
            int rest = node, colour = 0;
            for (int axis = rank - 2; axis >= 0; axis--)
            {
                int index = rest % shape[axis];
                rest /= shape[axis];
                colour |= (index & 1) << (rank - 2 - axis);
            }
            colourOf[node] = colour;
            usedColours.Add(colour);
        }
        var blocks = new double[nodes * c * c];
        int products = 0;
        foreach (int colour in usedColours)
            for (int a = 0; a < c; a++)
            {
                var probe = new double[nodes * c];
                for (int node = 0; node < nodes; node++)
                    if (colourOf[node] == colour) probe[node * c + a] = 1;
                var jv = jacobianTimes(NTensor.FromArray(probe, shape, like.DType, like.Device)).ToArray();
                products++;
                if (jv.Length != probe.Length)
                    throw new InvalidOperationException($"The Jacobian–vector product returned {jv.Length} entries for a vector of {probe.Length}; it must keep the state's shape.");
                for (int node = 0; node < nodes; node++)
                    if (colourOf[node] == colour)
                        for (int row = 0; row < c; row++)
                            blocks[(node * c + row) * c + a] = jv[node * c + row];
            }
        return new BlockJacobiPreconditioner(nodes, c, blocks, products);
    }

    /// <summary>
    /// The inverses of the blocks of M = I − <paramref name="hg"/> D, node-major, each row-major (Gaussian elimination
    /// with partial pivoting); a block that is singular to working precision or not finite is replaced by the identity,
    /// so that node is not preconditioned.
    /// </summary>
    public double[] ShiftedInverse(double hg)
    {
        int c = BlockSize;
        var inverse = new double[Nodes * c * c];
        var a = new double[c, 2 * c];
        for (int node = 0; node < Nodes; node++)
        {
            int o = node * c * c;
            double scale = 0;
            for (int i = 0; i < c; i++)
                for (int j = 0; j < c; j++)
                {
                    double mij = (i == j ? 1 : 0) - hg * _jacobianBlocks[o + i * c + j];
                    a[i, j] = mij;
                    a[i, c + j] = i == j ? 1 : 0;
                    scale = Math.Max(scale, Math.Abs(mij));
                }
            bool regular = double.IsFinite(scale) && scale > 0;
            for (int k = 0; k < c && regular; k++)
            {
                int pivot = k;
                for (int i = k + 1; i < c; i++)
                    if (Math.Abs(a[i, k]) > Math.Abs(a[pivot, k])) pivot = i;
                if (!(Math.Abs(a[pivot, k]) > 1e-13 * scale)) { regular = false; break; }
                if (pivot != k)
                    for (int j = 0; j < 2 * c; j++) (a[k, j], a[pivot, j]) = (a[pivot, j], a[k, j]);
                double p = a[k, k];
                for (int j = 0; j < 2 * c; j++) a[k, j] /= p;
                for (int i = 0; i < c; i++)
                {
                    if (i == k || a[i, k] == 0) continue;
                    double f = a[i, k];
                    for (int j = 0; j < 2 * c; j++) a[i, j] -= f * a[k, j];
                }
            }
            for (int i = 0; i < c; i++)
                for (int j = 0; j < c; j++)
                {
                    double e = regular ? a[i, c + j] : (i == j ? 1 : 0);
                    inverse[o + i * c + j] = double.IsFinite(e) ? e : (i == j ? 1 : 0);
                }
        }
        return inverse;
    }

    /// <summary>M⁻¹ v (or M⁻ᵀ v when <paramref name="transpose"/>) with the blocks of <paramref name="inverse"/> (from <see cref="ShiftedInverse"/>).</summary>
    public static double[] Apply(double[] inverse, int blockSize, double[] v, bool transpose)
    {
        int c = blockSize;
        if (inverse.Length * 1L != (long)v.Length * c)
            throw new ArgumentException($"The vector has {v.Length} entries; the {inverse.Length / (c * c)} blocks of size {c} need {inverse.Length / c}.", nameof(v));
        var result = new double[v.Length];
        for (int node = 0, o = 0; node < v.Length / c; node++, o += c * c)
        {
            int b = node * c;
            for (int i = 0; i < c; i++)
            {
                double s = 0;
                for (int j = 0; j < c; j++)
                    s += (transpose ? inverse[o + j * c + i] : inverse[o + i * c + j]) * v[b + j];
                result[b + i] = s;
            }
        }
        return result;
    }
}
