using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Banded direct preconditioner M = I − hγ J̃ of the Newton stage systems (I − hγ J) δ = r of
/// <see cref="ImplicitRungeKutta"/>, J̃ the part of J = ∂f_I/∂y that couples each node of a state of shape
/// [n_1, …, n_k, c] with the nodes within one index along each axis (all the nodal exchange, DMI, anisotropy and Zeeman
/// couplings: nodes that share a cell), factorized by LU in band storage, as the banded difference-quotient Jacobians of
/// stiff ODE codes (Hindmarsh et al., ACM TOMS 31 (2005) 363, CVODE's band solver).
/// <para>J̃ comes from Jacobian–vector products with coloured unit vectors (Curtis, Powell and Reid, IMA J. Appl. Math.
/// 13 (1974) 117): node (i_1, …, i_k) has the colour (i_1 mod 3, …, i_k mod 3), and the probe of colour q and
/// component a is 1 in component a of every node of colour q. Among the nodes within one index of a node, exactly one
/// has colour q, so J v at that node is column a of its coupling to that neighbour: c · Π_j min(3, n_j) products (54
/// for a film one cell thick). Couplings farther out (demag, when implicit in the Kvaerno methods) fold into the
/// neighbours' entries: M is then an approximation, which weakens the preconditioner but not the solution, since GMRES
/// is preconditioned from the right and tests the true residual.</para>
/// <para>In the row-major node order the band's half-width is w = c (Σ_j s_j + 1) − 1, s_j the node strides, and the
/// factorization costs ~n w² multiply–adds for n unknowns; it runs without pivoting (for uniform m the symmetric part of
/// I − hγ J is I + hγ α γ' P_m ⊗ L ≥ I, L the exchange operator, so the LU exists), and a pivot that is not clearly
/// non-zero makes <see cref="Factor"/> return false.</para>
/// </summary>
internal sealed class BandedStagePreconditioner
{
    /// <summary>Most multiply–adds n w² of one factorization before the band preconditioner gives way to block Jacobi.</summary>
    public const double MaxFactorizationWork = 2e9;

    /// <summary>Most band entries n (2w + 1) stored (200 MB of float64) before the band preconditioner gives way to block Jacobi.</summary>
    public const double MaxBandEntries = 2.5e7;

    private readonly double[] _jacobianBand; // row p, entry (p, p + d) at p·(2w+1) + d + w, |d| ≤ w
    private double[]? _lu;

    private BandedStagePreconditioner(int unknowns, int halfWidth, double[] jacobianBand, int products)
    {
        Unknowns = unknowns;
        HalfWidth = halfWidth;
        _jacobianBand = jacobianBand;
        Products = products;
    }

    /// <summary>Rows of the matrix (all entries of the state).</summary>
    public int Unknowns { get; }

    /// <summary>Half-width w of the band: entries (p, p') with |p − p'| ≤ w.</summary>
    public int HalfWidth { get; }

    /// <summary>Jacobian–vector products the probing took.</summary>
    public int Products { get; }

    private int Width => 2 * HalfWidth + 1;

    /// <summary>Entry (row, column) of the probed J̃ (0 outside the band).</summary>
    public double this[int row, int column] => Math.Abs(column - row) > HalfWidth ? 0 : _jacobianBand[row * Width + column - row + HalfWidth];

    /// <summary>The half-width a state shaped like <paramref name="shape"/> gives and the work n w² of its factorization.</summary>
    public static (int HalfWidth, double Work) Band(IReadOnlyList<int> shape)
    {
        int rank = shape.Count, c = shape[rank - 1];
        long stride = 1, strides = 0, n = c;
        for (int axis = rank - 2; axis >= 0; axis--)
        {
            if (shape[axis] > 1) strides += stride;
            stride *= shape[axis];
            n *= shape[axis];
        }
        long w = c * (strides + 1) - 1;
        return ((int)Math.Min(w, int.MaxValue), (double)n * w * w);
    }

    /// <summary>
    /// The probed nearest-neighbour part of the linear map <paramref name="jacobianTimes"/> on tensors shaped like
    /// <paramref name="like"/> (its dtype and device); null when <paramref name="like"/> is a scalar, its last axis is
    /// longer than <see cref="BlockJacobiPreconditioner.MaxBlockSize"/> or the band would exceed
    /// <see cref="MaxFactorizationWork"/> or <see cref="MaxBandEntries"/>.
    /// </summary>
    public static BandedStagePreconditioner? Probe(Func<NTensor, NTensor> jacobianTimes, NTensor like)
    {
        ArgumentNullException.ThrowIfNull(jacobianTimes);
        ArgumentNullException.ThrowIfNull(like);
        int rank = like.Rank;
        if (rank == 0) return null;
        var shape = like.Shape.ToArray();
        int c = shape[rank - 1];
        if (c < 1 || c > BlockJacobiPreconditioner.MaxBlockSize) return null;
        var (w, work) = Band(shape);
        if (work > MaxFactorizationWork || (double)like.Size * (2.0 * w + 1) > MaxBandEntries) return null;
        int nodes = like.Size / c, axes = rank - 1, width = 2 * w + 1;
        var index = new int[nodes, Math.Max(axes, 1)];
        var colourOf = new int[nodes];
        var colours = new SortedSet<int>();
        for (int node = 0; node < nodes; node++)
        {
            int rest = node, colour = 0, weight = 1;
            for (int axis = axes - 1; axis >= 0; axis--)
            {
                int i = rest % shape[axis];
                rest /= shape[axis];
                index[node, axis] = i;
                colour += i % 3 * weight;
                weight *= 3;
            }
            colourOf[node] = colour;
            colours.Add(colour);
        }
        var strides = new int[axes];
        for (int axis = axes - 1, s = 1; axis >= 0; axis--) { strides[axis] = s; s *= shape[axis]; }
        // Neighbour offsets δ ∈ {−1, 0, 1}^k.
        int offsets = 1;
        for (int axis = 0; axis < axes; axis++) offsets *= 3;
        var delta = new int[offsets, Math.Max(axes, 1)];
        for (int o = 0; o < offsets; o++)
            for (int axis = 0, r = o; axis < axes; axis++, r /= 3) delta[o, axis] = r % 3 - 1;
        // The nodes within one index of each node (−1 outside the mesh) and the nodes of each colour.
        var neighbours = new int[nodes * offsets];
        for (int node = 0; node < nodes; node++)
            for (int o = 0; o < offsets; o++)
            {
                int neighbour = node;
                for (int axis = 0; axis < axes && neighbour >= 0; axis++)
                {
                    int j = index[node, axis] + delta[o, axis];
                    neighbour = j < 0 || j >= shape[axis] ? -1 : neighbour + delta[o, axis] * strides[axis];
                }
                neighbours[node * offsets + o] = neighbour;
            }
        var band = new double[(long)nodes * c * width];
        int products = 0;
        foreach (int colour in colours)
        {
            var members = Enumerable.Range(0, nodes).Where(node => colourOf[node] == colour).ToArray();
            for (int a = 0; a < c; a++)
            {
                var probe = new double[nodes * c];
                foreach (int node in members) probe[node * c + a] = 1;
                var jv = jacobianTimes(NTensor.FromArray(probe, shape, like.DType, like.Device)).ToArray();
                products++;
                if (jv.Length != probe.Length)
                    throw new InvalidOperationException($"The Jacobian–vector product returned {jv.Length} entries for a vector of {probe.Length}; it must keep the state's shape.");
                // Column (member, a) of J̃: the entries of J v at the member's neighbours (the coupling is symmetric in
                // reach, so the nodes that see this member are its neighbours, each of which sees no other member).
                foreach (int member in members)
                {
                    int column = member * c + a;
                    for (int o = 0; o < offsets; o++)
                    {
                        int node = neighbours[member * offsets + o];
                        if (node < 0) continue;
                        for (int r = 0; r < c; r++)
                        {
                            int row = node * c + r;
                            band[(long)row * width + column - row + w] = jv[row];
                        }
                    }
                }
            }
        }
        return new BandedStagePreconditioner(nodes * c, w, band, products);
    }

    /// <summary>The c × c diagonal blocks of J̃ (for block Jacobi where the factorization fails).</summary>
    public BlockJacobiPreconditioner DiagonalBlocks(int blockSize)
    {
        int c = blockSize, nodes = Unknowns / c;
        var blocks = new double[nodes * c * c];
        for (int node = 0; node < nodes; node++)
            for (int r = 0; r < c; r++)
                for (int a = 0; a < c; a++)
                    blocks[(node * c + r) * c + a] = this[node * c + r, node * c + a];
        return BlockJacobiPreconditioner.FromBlocks(nodes, c, blocks);
    }

    /// <summary>LU (unit lower, upper) of M = I − <paramref name="hg"/> J̃ in band storage, without pivoting; false when a pivot is not clearly non-zero or not finite.</summary>
    public bool Factor(double hg)
    {
        int n = Unknowns, w = HalfWidth, width = Width;
        var a = new double[_jacobianBand.Length];
        double scale = 0;
        for (int p = 0; p < n; p++)
            for (int d = -w; d <= w; d++)
            {
                long at = (long)p * width + d + w;
                double e = (d == 0 ? 1 : 0) - hg * _jacobianBand[at];
                a[at] = e;
                scale = Math.Max(scale, Math.Abs(e));
            }
        if (!double.IsFinite(scale)) { _lu = null; return false; }
        for (int k = 0; k < n; k++)
        {
            double pivot = a[(long)k * width + w];
            if (!(Math.Abs(pivot) > 1e-12 * scale) || !double.IsFinite(pivot)) { _lu = null; return false; }
            int last = Math.Min(n - 1, k + w);
            var rowK = a.AsSpan((int)((long)k * width + w + 1), last - k); // U(k, k+1..last)
            for (int i = k + 1; i <= last; i++)
            {
                long ik = (long)i * width + k - i + w;
                double l = a[ik];
                if (l == 0) continue;
                l /= pivot;
                a[ik] = l;
                Axpy(-l, rowK, a.AsSpan((int)(ik + 1), last - k)); // row i, columns k+1..last
            }
        }
        _lu = a;
        return true;
    }

    /// <summary>M⁻¹ v (or M⁻ᵀ v when <paramref name="transpose"/>) with the factors of <see cref="Factor"/>.</summary>
    public double[] Solve(double[] v, bool transpose)
    {
        var a = _lu ?? throw new InvalidOperationException("The band preconditioner is not factorized.");
        int n = Unknowns, w = HalfWidth, width = Width;
        if (v.Length != n) throw new ArgumentException($"The vector has {v.Length} entries; the band matrix has {n} rows.", nameof(v));
        var x = (double[])v.Clone();
        if (!transpose)
        {
            for (int i = 0; i < n; i++) // L y = v: y_i = v_i − Σ_{j<i} L(i, j) y_j
            {
                int first = Math.Max(0, i - w);
                x[i] -= Dot(a.AsSpan(i * width - i + w + first, i - first), x.AsSpan(first, i - first));
            }
            for (int i = n - 1; i >= 0; i--) // U x = y
            {
                int count = Math.Min(n - 1, i + w) - i;
                x[i] = (x[i] - Dot(a.AsSpan(i * width + w + 1, count), x.AsSpan(i + 1, count))) / a[i * width + w];
            }
        }
        else
        {
            for (int i = 0; i < n; i++) // Uᵀ z = v, by rows of U: z_i = v_i / U(i, i), then v_j −= U(i, j) z_i for j > i
            {
                x[i] /= a[i * width + w];
                int count = Math.Min(n - 1, i + w) - i;
                Axpy(-x[i], a.AsSpan(i * width + w + 1, count), x.AsSpan(i + 1, count));
            }
            for (int i = n - 1; i >= 0; i--) // Lᵀ x = z, by rows of L: x_i is final, then z_j −= L(i, j) x_i for j < i
            {
                int first = Math.Max(0, i - w);
                Axpy(-x[i], a.AsSpan(i * width - i + w + first, i - first), x.AsSpan(first, i - first));
            }
        }
        return x;
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var sum = System.Numerics.Vector<double>.Zero;
        int k = 0, lanes = System.Numerics.Vector<double>.Count;
        for (; k <= a.Length - lanes; k += lanes)
            sum += new System.Numerics.Vector<double>(a.Slice(k, lanes)) * new System.Numerics.Vector<double>(b.Slice(k, lanes));
        double s = System.Numerics.Vector.Sum(sum);
        for (; k < a.Length; k++) s += a[k] * b[k];
        return s;
    }

    private static void Axpy(double alpha, ReadOnlySpan<double> x, Span<double> y)
    {
        int k = 0, lanes = System.Numerics.Vector<double>.Count;
        var va = new System.Numerics.Vector<double>(alpha);
        for (; k <= x.Length - lanes; k += lanes)
            (new System.Numerics.Vector<double>(y.Slice(k, lanes)) + va * new System.Numerics.Vector<double>(x.Slice(k, lanes))).CopyTo(y.Slice(k, lanes));
        for (; k < x.Length; k++) y[k] += alpha * x[k];
    }
}
