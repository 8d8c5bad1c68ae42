namespace NeuralMag.Kernels.FieldTerms;

/// <summary>
/// Integrates an <see cref="EnergyDensity"/> over the trilinear nodal elements of a grid with a tensor Gauss rule
/// (upstream NeuralMag's form compiler, done numerically): E = sum_cells rho_c sum_q w_q V e(m(x_q), grad m(x_q), p_c).
/// From one pass over the cells it returns the energy, its gradient with respect to the nodal m (the Gateaux
/// derivative tested with each shape function), the integral of e times each shape function, and, in the parameter
/// pass, the gradient with respect to each cell parameter. Cells are processed in colour groups that share no node,
/// so the scatter to nodes runs in parallel without races.
/// </summary>
public sealed partial class ElementAssembler
{
    private readonly GridGeometry _g;
    private readonly int _nq;
    private readonly double[] _weight;   // [q] w_q * V
    private readonly double[] _shape;    // [q * corners + a] N_a(x_q)
    private readonly double[] _dshape;   // [(q * corners + a) * 3 + k] d N_a / d x_k (1/m)
    private readonly int[][] _colors;

    /// <summary>An assembler on <paramref name="geometry"/> with a tensor-product Gauss rule.</summary>
    /// <param name="geometry">The grid.</param>
    /// <param name="gaussPoints">Gauss points per axis (1 to 10).</param>
    public ElementAssembler(GridGeometry geometry, int gaussPoints)
    {
        _g = geometry;
        var (pts, wts) = Gauss.Rule(gaussPoints);
        int dim = geometry.Dim, corners = geometry.Corners;
        _nq = (int)Math.Pow(gaussPoints, dim);
        _weight = new double[_nq];
        _shape = new double[_nq * corners];
        _dshape = new double[_nq * corners * 3];
        for (int q = 0; q < _nq; q++)
        {
            var xi = new double[dim];
            double w = geometry.CellVolume;
            int r = q;
            for (int k = dim - 1; k >= 0; k--)
            {
                xi[k] = pts[r % gaussPoints];
                w *= wts[r % gaussPoints];
                r /= gaussPoints;
            }
            _weight[q] = w;
            for (int a = 0; a < corners; a++)
            {
                double n = 1;
                for (int k = 0; k < dim; k++) n *= ((a >> k) & 1) == 1 ? xi[k] : 1 - xi[k];
                _shape[q * corners + a] = n;
                for (int k = 0; k < dim; k++)
                {
                    double d = (((a >> k) & 1) == 1 ? 1.0 : -1.0) / geometry.Dx[k];
                    for (int j = 0; j < dim; j++)
                        if (j != k) d *= ((a >> j) & 1) == 1 ? xi[j] : 1 - xi[j];
                    _dshape[(q * corners + a) * 3 + k] = d;
                }
            }
        }
        _colors = geometry.ColorGroups();
    }

    /// <summary>The grid.</summary>
    public GridGeometry Geometry => _g;

    /// <summary>What <see cref="Assemble"/> computes besides the energy.</summary>
    public enum Mode
    {
        /// <summary>E only.</summary>
        Energy,
        /// <summary>E, dE/dm at the nodes and the integral of e N_i (for the mass-lumped energy density).</summary>
        MGradient,
        /// <summary>E and dE/dp for every component of every cell parameter.</summary>
        ParamGradient,
        /// <summary>E and dE/d(nodal field) for every nodal field of the density.</summary>
        NodalGradient,
    }

    /// <summary>Output of one assembly pass; the arrays not asked for by the <see cref="Mode"/> are null.</summary>
    public sealed class Result
    {
        /// <summary>E = Σ_cells rho ∫ e dV in J.</summary>
        public double Energy;
        /// <summary>dE/dm, nodes x 3 (MGradient).</summary>
        public double[]? DEdm;
        /// <summary>Integral of rho e N_i per node (MGradient).</summary>
        public double[]? EN;
        /// <summary>dE/dp per parameter: cells x width (ParamGradient).</summary>
        public double[][]? DEdp;
        /// <summary>dE/d(nodal field), nodes x 3 per field (NodalGradient).</summary>
        public double[][]? DEdNodal;
        /// <summary>Energy of each cell, rho included (every mode).</summary>
        public double[] CellEnergy = Array.Empty<double>();
    }

    /// <param name="density">The energy density.</param>
    /// <param name="m">Nodal magnetization, nodes x 3.</param>
    /// <param name="parameters">Per parameter of the density: cells x width values.</param>
    /// <param name="nodal">Per nodal field of the density: nodes x 3 values.</param>
    /// <param name="rho">Density per cell (1 inside the magnet, eps outside).</param>
    /// <param name="mode">What to compute besides E.</param>
    /// <param name="cellFields">Per nodal field: true when it is given per cell (constant over the cell) instead of per node.</param>
    public Result Assemble(EnergyDensity density, double[] m, double[][] parameters, double[][] nodal, double[] rho, Mode mode, bool[]? cellFields = null)
    {
        var prm = density.Parameters;
        if (parameters.Length != prm.Count) throw new ArgumentException($"{prm.Count} parameters expected, got {parameters.Length}.");
        int nCells = _g.NumCells, nNodes = _g.NumNodes, corners = _g.Corners;
        var offsets = new int[prm.Count];
        int width = 0;
        for (int p = 0; p < prm.Count; p++)
        {
            offsets[p] = width;
            width += prm[p].Width;
            if (parameters[p].Length != nCells * prm[p].Width)
                throw new ArgumentException($"Parameter '{prm[p].Name}' has {parameters[p].Length} values, expected {nCells * prm[p].Width} (cells x {prm[p].Width}).");
        }
        if (mode == Mode.ParamGradient && width > Dual.Width)
            throw new NotSupportedException($"The density has {width} parameter components; the parameter pass supports {Dual.Width}.");
        int nNodal = nodal.Length;
        // A field given per cell (nodes x 3 or cells x 3) is constant over its cell (upstream's FIC fields).
        var perCell = cellFields ?? nodal.Select(f => f.Length == nCells * 3 && f.Length != nNodes * 3).ToArray();
        for (int f = 0; f < nNodal; f++)
            if (nodal[f].Length != (perCell[f] ? nCells : nNodes) * 3)
                throw new ArgumentException($"Nodal field {f} has {nodal[f].Length} values, expected {nNodes * 3} (nodes x 3) or {nCells * 3} (cells x 3).");
        if (m.Length != nNodes * 3) throw new ArgumentException($"m has {m.Length} values, expected {nNodes * 3} (nodes x 3).");

        var result = new Result();
        if (mode == Mode.MGradient)
        {
            result.DEdm = new double[nNodes * 3];
            result.EN = new double[nNodes];
        }
        if (mode == Mode.ParamGradient)
            result.DEdp = prm.Select(p => new double[nCells * p.Width]).ToArray();
        if (mode == Mode.NodalGradient)
        {
            if (3 * nNodal > Dual.Width) throw new NotSupportedException($"At most {Dual.Width / 3} nodal fields can be differentiated at once.");
            result.DEdNodal = nodal.Select(f => new double[f.Length]).ToArray();
        }

        var cellEnergy = result.CellEnergy = new double[nCells];
        foreach (var group in _colors)
        {
            CpuRange(group.Length, (lo, hi) =>
            {
                Span<int> nodes = stackalloc int[8];
                Span<Dual> mq = stackalloc Dual[3];
                Span<Dual> gq = stackalloc Dual[9];
                Span<Dual> pq = stackalloc Dual[Math.Max(width, 1)];
                Span<Dual> nq = stackalloc Dual[Math.Max(3 * nNodal, 1)];
                Span<double> mloc = stackalloc double[24];
                for (int gi = lo; gi < hi; gi++)
                {
                    double energy = 0;
                    int cell = group[gi];
                    _g.CornerNodes(cell, nodes);
                    for (int a = 0; a < corners; a++)
                        for (int i = 0; i < 3; i++) mloc[a * 3 + i] = m[nodes[a] * 3 + i];
                    double r = rho[cell];
                    for (int p = 0; p < prm.Count; p++)
                        for (int c = 0; c < prm[p].Width; c++)
                        {
                            double v = parameters[p][cell * prm[p].Width + c];
                            pq[offsets[p] + c] = mode == Mode.ParamGradient ? Dual.Seed(v, offsets[p] + c) : new Dual(v);
                        }
                    for (int q = 0; q < _nq; q++)
                    {
                        int sq = q * corners;
                        // m and grad m at the point.
                        for (int i = 0; i < 3; i++)
                        {
                            double v = 0, d0 = 0, d1 = 0, d2 = 0;
                            for (int a = 0; a < corners; a++)
                            {
                                double ma = mloc[a * 3 + i];
                                v += _shape[sq + a] * ma;
                                int ds = (sq + a) * 3;
                                d0 += _dshape[ds] * ma;
                                d1 += _dshape[ds + 1] * ma;
                                d2 += _dshape[ds + 2] * ma;
                            }
                            if (mode == Mode.MGradient)
                            {
                                mq[i] = Dual.Seed(v, i);
                                gq[i * 3] = Dual.Seed(d0, 3 + i * 3);
                                gq[i * 3 + 1] = Dual.Seed(d1, 3 + i * 3 + 1);
                                gq[i * 3 + 2] = Dual.Seed(d2, 3 + i * 3 + 2);
                            }
                            else
                            {
                                mq[i] = v;
                                gq[i * 3] = d0;
                                gq[i * 3 + 1] = d1;
                                gq[i * 3 + 2] = d2;
                            }
                        }
                        for (int f = 0; f < nNodal; f++)
                            for (int i = 0; i < 3; i++)
                            {
                                double v = 0;
                                if (perCell[f]) v = nodal[f][cell * 3 + i];
                                else for (int a = 0; a < corners; a++) v += _shape[sq + a] * nodal[f][nodes[a] * 3 + i];
                                nq[3 * f + i] = mode == Mode.NodalGradient ? Dual.Seed(v, 3 * f + i) : new Dual(v);
                            }
                        var point = new QuadPoint { MValues = mq, GradValues = gq, ParamValues = pq, ParamOffsets = offsets, NodalValues = nq };
                        var e = density.Evaluate(point);
                        double w = _weight[q] * r;
                        energy += w * e.V;
                        if (mode == Mode.MGradient)
                        {
                            var dEdm = result.DEdm!;
                            var en = result.EN!;
                            for (int a = 0; a < corners; a++)
                            {
                                double na = _shape[sq + a];
                                int ds = (sq + a) * 3;
                                double dx = _dshape[ds], dy = _dshape[ds + 1], dz = _dshape[ds + 2];
                                int node = nodes[a];
                                en[node] += w * e.V * na;
                                for (int i = 0; i < 3; i++)
                                {
                                    int b = 3 + i * 3;
                                    dEdm[node * 3 + i] += w * (e.D[i] * na + e.D[b] * dx + e.D[b + 1] * dy + e.D[b + 2] * dz);
                                }
                            }
                        }
                        else if (mode == Mode.NodalGradient)
                        {
                            for (int f = 0; f < nNodal; f++)
                            {
                                if (perCell[f])
                                {
                                    for (int i = 0; i < 3; i++) result.DEdNodal![f][cell * 3 + i] += w * e.D[3 * f + i];
                                    continue;
                                }
                                for (int a = 0; a < corners; a++)
                                {
                                    double na = w * _shape[sq + a];
                                    for (int i = 0; i < 3; i++) result.DEdNodal![f][nodes[a] * 3 + i] += na * e.D[3 * f + i];
                                }
                            }
                        }
                        else if (mode == Mode.ParamGradient)
                        {
                            for (int p = 0; p < prm.Count; p++)
                                for (int c = 0; c < prm[p].Width; c++)
                                    result.DEdp![p][cell * prm[p].Width + c] += w * e.D[offsets[p] + c];
                        }
                    }
                    cellEnergy[cell] = energy;
                }
            });
        }
        // Summed in cell order, so the energy is bit-reproducible whatever the thread timing.
        double total = 0;
        foreach (var e in cellEnergy) total += e;
        result.Energy = total;
        return result;
    }

    /// <summary>Lumped mass per node: sum over adjacent cells of weight_c V / 2^dim (exact integral of weight N_i).</summary>
    public double[] LumpedMass(double[] cellWeight)
    {
        var mass = new double[_g.NumNodes];
        Span<int> nodes = stackalloc int[8];
        double share = _g.CellVolume / _g.Corners;
        for (int c = 0; c < _g.NumCells; c++)
        {
            _g.CornerNodes(c, nodes);
            for (int a = 0; a < _g.Corners; a++) mass[nodes[a]] += cellWeight[c] * share;
        }
        return mass;
    }

    /// <summary>
    /// Adjoint of <see cref="LumpedMass"/>: from dL/dM per node, dL/d(weight_c) = V / 2^dim · Σ_corners dL/dM_node.
    /// </summary>
    public double[] LumpedMassAdjoint(double[] massCotangent)
    {
        var g = new double[_g.NumCells];
        Span<int> nodes = stackalloc int[8];
        double share = _g.CellVolume / _g.Corners;
        for (int c = 0; c < _g.NumCells; c++)
        {
            _g.CornerNodes(c, nodes);
            double s = 0;
            for (int a = 0; a < _g.Corners; a++) s += massCotangent[nodes[a]];
            g[c] = s * share;
        }
        return g;
    }

    /// <summary>
    /// dL/dM per node for a nodal field h = f / M (any f independent of M): dL/dM_n = −Σ_i g_n,i h_n,i / M_n. A node
    /// without mass (M_n = 0) has h = 0 by definition (<see cref="InverseMass"/>), a constant: its cotangent is 0.
    /// </summary>
    public static double[] InverseMassCotangent(double[] g, double[] h, double[] mass)
    {
        var r = new double[mass.Length];
        for (int n = 0; n < r.Length; n++) r[n] = -(g[3 * n] * h[3 * n] + g[3 * n + 1] * h[3 * n + 1] + g[3 * n + 2] * h[3 * n + 2]) * InverseMass(mass[n]);
        return r;
    }

    /// <summary>
    /// 1/M for a lumped node mass M (sum of Ms rho V/2^d over the adjacent cells), and 0 where M = 0: a node whose
    /// adjacent cells all have Ms = 0 or rho = 0 carries no magnetic moment, and its field is defined as 0 (the cells
    /// behave as empty), never Inf or NaN.
    /// </summary>
    public static double InverseMass(double mass) => mass == 0 ? 0 : 1 / mass;

    private static void CpuRange(int n, Action<int, int> body) => NeuralMag.AD.ParallelLoop.For(n, body, 256);
}
