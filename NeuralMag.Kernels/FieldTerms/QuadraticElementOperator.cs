namespace NeuralMag.Kernels.FieldTerms;

/// <summary>
/// The fast path for energy densities that are quadratic in u = (m, grad m) with cell-constant parameters (exchange,
/// uniaxial anisotropy, DMI, Lifshitz invariants). Such a density is e(u) = ½ uᵀQu + cᵀu + e0 with Q, c, e0 fixed by
/// the cell's parameters, so the energy of one element is exactly
/// <code>E_c = rho_c (½ m_cᵀ K m_c + bᵀ m_c + e0 V),  K = Σ_q w_q B_qᵀ Q B_q,  b = Σ_q w_q B_qᵀ c,</code>
/// where m_c holds the element's 3·2^d nodal values and B_q maps them to u at Gauss point q. K is built once per
/// distinct parameter tuple by probing the same <see cref="EnergyDensity"/> with dual numbers (nothing is written by
/// hand), after checking at random points that the density really is quadratic; field and energy then cost one small
/// matrix-vector product per cell, like a hand-written stencil.
/// </summary>
public sealed class QuadraticElementOperator
{
    /// <summary>Operators kept at most; beyond this many distinct parameter tuples the generic path is used.</summary>
    public const int MaxOperators = 256;

    /// <summary>Corners of the element, 2^d.</summary>
    public int Corners { get; }

    /// <summary>Per operator: (3C)x(3C), row (i*C + a), column (j*C + b), i, j components and a, b corners.</summary>
    internal double[][] K { get; }

    /// <summary>Per operator: 3C linear coefficients.</summary>
    internal double[][] B { get; }

    /// <summary>Per operator: e0 times the cell volume.</summary>
    internal double[] E0V { get; }

    /// <summary>Per operator: the component blocks (i, j) of K that are not all zero.</summary>
    internal (int I, int J)[][] Blocks { get; }

    /// <summary>Per operator and nonzero block: the C x C block transposed, [b * C + a] = K[(i, a), (j, b)].</summary>
    internal double[][][] BlocksTransposed { get; }

    /// <summary>Operator index per cell, or null when one operator serves every cell.</summary>
    internal int[]? CellOperator { get; }

    /// <summary>The energy at m = 0, Σ_c ρ_c e₀ V_c (J): the constant of E(m) = ½ mᵀKm + bᵀm + E₀.</summary>
    /// <param name="rho">Density per cell.</param>
    public double ConstantEnergy(double[] rho)
    {
        ArgumentNullException.ThrowIfNull(rho);
        double e0 = 0;
        for (int c = 0; c < rho.Length; c++) e0 += rho[c] * E0V[CellOperator?[c] ?? 0];
        return e0;
    }

    /// <summary>
    /// The tables the assembly reads, in precision T: for double K's blocks, B and E0V themselves; for float the same
    /// values computed in float64 and rounded once (made on first request and kept).
    /// </summary>
    internal QuadraticTables<T> Tables<T>() where T : unmanaged
    {
        // Callers on several threads (members of a batch) may ask at once: the first table stored is the one every caller gets.
        if (typeof(T) == typeof(double))
            return (QuadraticTables<T>)(object)(Volatile.Read(ref _double) ?? Interlocked.CompareExchange(ref _double, QuadraticTables<double>.Create(this, BlocksTransposed, B, E0V), null) ?? _double!);
        if (typeof(T) == typeof(float))
            return (QuadraticTables<T>)(object)(Volatile.Read(ref _single) ?? Interlocked.CompareExchange(ref _single, QuadraticTables<float>.Create(this,
                BlocksTransposed.Select(o => o.Select(Round).ToArray()).ToArray(), B.Select(Round).ToArray(), Round(E0V)), null) ?? _single!);
        throw new NotSupportedException($"QuadraticElementOperator: no tables in {typeof(T).Name}.");
    }

    private static float[] Round(double[] v) => Array.ConvertAll(v, x => (float)x);

    private QuadraticTables<double>? _double;
    private QuadraticTables<float>? _single;

    /// <summary>True when some operator has a nonzero linear part b.</summary>
    public bool HasLinear { get; }

    private QuadraticElementOperator(int corners, double[][] k, double[][] b, double[] e0v, int[]? cellOperator)
    {
        Corners = corners;
        K = k;
        B = b;
        E0V = e0v;
        CellOperator = cellOperator;
        int n = 3 * corners;
        Blocks = k.Select(kk =>
        {
            var list = new List<(int, int)>();
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                {
                    bool any = false;
                    for (int a = 0; a < corners && !any; a++)
                        for (int c = 0; c < corners && !any; c++) any = kk[(i * corners + a) * n + j * corners + c] != 0;
                    if (any) list.Add((i, j));
                }
            return list.ToArray();
        }).ToArray();
        HasLinear = b.Any(v => v.Any(x => x != 0));
        BlocksTransposed = k.Select((kk, o) => Blocks[o].Select(blk =>
        {
            var t = new double[corners * corners];
            for (int a = 0; a < corners; a++)
                for (int c = 0; c < corners; c++) t[c * corners + a] = kk[(blk.Item1 * corners + a) * n + blk.Item2 * corners + c];
            return t;
        }).ToArray()).ToArray();
    }

    /// <summary>
    /// Builds the operators for these cell parameters, or returns null when the density is not quadratic in (m, grad m),
    /// reads nodal fields, or has more than <see cref="MaxOperators"/> distinct parameter tuples.
    /// </summary>
    public static QuadraticElementOperator? TryBuild(ElementAssembler asm, EnergyDensity density, double[][] parameters)
    {
        if (density.NodalFields.Count > 0) return null;
        var prm = density.Parameters;
        int width = prm.Sum(p => p.Width);
        int nCells = asm.Geometry.NumCells;
        // Distinct parameter tuples; a parameter array of width entries (one value for all cells) is common.
        var tuples = new List<double[]>();
        var index = new Dictionary<TupleKey, int>();
        int[]? cellOp = null;
        bool uniform = parameters.Select((p, i) => Uniform(p, prm[i].Width)).All(u => u);
        int cellsToScan = uniform ? 1 : nCells;
        if (!uniform) cellOp = new int[nCells];
        for (int c = 0; c < cellsToScan; c++)
        {
            var t = new double[width];
            int o = 0;
            for (int p = 0; p < prm.Count; p++)
                for (int k = 0; k < prm[p].Width; k++) t[o++] = parameters[p][c * prm[p].Width + k];
            var key = new TupleKey(t);
            if (!index.TryGetValue(key, out int op))
            {
                if (tuples.Count == MaxOperators) return null;
                op = tuples.Count;
                index[key] = op;
                tuples.Add(t);
            }
            if (cellOp != null) cellOp[c] = op;
        }
        var ks = new double[tuples.Count][];
        var bs = new double[tuples.Count][];
        var e0 = new double[tuples.Count];
        var offsets = new int[prm.Count];
        for (int p = 1; p < prm.Count; p++) offsets[p] = offsets[p - 1] + prm[p - 1].Width;
        var scale = asm.Geometry.Dx.Select(d => 1.0 / d).ToArray();
        for (int t = 0; t < tuples.Count; t++)
        {
            if (!Probe(density, tuples[t], offsets, scale, out var q, out var lin, out double e00)) return null;
            (ks[t], bs[t]) = asm.ElementMatrices(q, lin);
            e0[t] = e00 * asm.Geometry.CellVolume;
        }
        return new QuadraticElementOperator(asm.Geometry.Corners, ks, bs, e0, cellOp);
    }

    private static bool Uniform(double[] values, int width)
    {
        for (int i = width; i < values.Length; i++)
            if (values[i] != values[i % width]) return false;
        return true;
    }

    /// <summary>
    /// Reads Q (12x12), c (12) and e0 off the density with unit dual seeds, then checks the quadratic model at two random
    /// points (m of order 1, grad m of order 1/dx). Returns false for a density that is not quadratic.
    /// </summary>
    private static bool Probe(EnergyDensity density, double[] param, int[] offsets, double[] invDx, out double[] q, out double[] c, out double e0)
    {
        const int n = Dual.Width;
        q = new double[n * n];
        c = new double[n];
        Span<double> u = stackalloc double[n];
        Span<double> grad = stackalloc double[n];
        u.Clear();
        e0 = Evaluate(density, param, offsets, u, c);
        for (int j = 0; j < n; j++)
        {
            u.Clear();
            u[j] = 1;
            Evaluate(density, param, offsets, u, grad);
            for (int i = 0; i < n; i++) q[i * n + j] = grad[i] - c[i];
        }
        var rng = new Random(12345);
        for (int trial = 0; trial < 2; trial++)
        {
            for (int j = 0; j < n; j++) u[j] = (rng.NextDouble() - 0.5) * (j < 3 ? 1 : invDx[(j - 3) % 3]);
            double e = Evaluate(density, param, offsets, u, grad);
            double model = e0, size = Math.Abs(e0);
            for (int i = 0; i < n; i++)
            {
                double qu = 0, qs = 0;
                for (int j = 0; j < n; j++)
                {
                    qu += q[i * n + j] * u[j];
                    qs += Math.Abs(q[i * n + j] * u[j]);
                }
                double gi = c[i] + qu;
                if (Math.Abs(grad[i] - gi) > 1e-11 * (Math.Abs(c[i]) + qs) + 1e-300) return false;
                model += (c[i] + 0.5 * qu) * u[i];
                size += Math.Abs(c[i] * u[i]) + 0.5 * qs * Math.Abs(u[i]);
            }
            if (Math.Abs(e - model) > 1e-11 * size + 1e-300) return false;
        }
        return true;
    }

    private static double Evaluate(EnergyDensity density, double[] param, int[] offsets, ReadOnlySpan<double> u, Span<double> grad)
    {
        Span<Dual> mq = stackalloc Dual[3];
        Span<Dual> gq = stackalloc Dual[9];
        Span<Dual> pq = stackalloc Dual[Math.Max(param.Length, 1)];
        for (int i = 0; i < 3; i++) mq[i] = Dual.Seed(u[i], i);
        for (int i = 0; i < 9; i++) gq[i] = Dual.Seed(u[3 + i], 3 + i);
        for (int i = 0; i < param.Length; i++) pq[i] = new Dual(param[i]);
        var point = new QuadPoint { MValues = mq, GradValues = gq, ParamValues = pq, ParamOffsets = offsets, NodalValues = ReadOnlySpan<Dual>.Empty };
        var e = density.Evaluate(point);
        for (int i = 0; i < Dual.Width; i++) grad[i] = e.D[i];
        return e.V;
    }

    private readonly struct TupleKey : IEquatable<TupleKey>
    {
        private readonly double[] _v;
        public TupleKey(double[] v) => _v = v;
        public bool Equals(TupleKey other) => _v.AsSpan().SequenceEqual(other._v);
        public override bool Equals(object? obj) => obj is TupleKey k && Equals(k);
        public override int GetHashCode()
        {
            var h = new HashCode();
            foreach (var x in _v) h.Add(x);
            return h.ToHashCode();
        }
    }
}

/// <summary>Per operator: the transposed nonzero blocks of K, the linear coefficients and e0 V, in precision T.</summary>
internal sealed record QuadraticTables<T>(T[][][] BlocksTransposed, T[][] B, T[] E0V)
{
    /// <summary>
    /// Per operator and output component i, the nonzero blocks (i, j) of K by rows: the source components j and the
    /// transposed C x C blocks one after another, so that y_i = Σ_j K_ij m_j is one pass over contiguous tables.
    /// </summary>
    internal (int[] Sources, T[] Kt)[][] Rows { get; private init; } = null!;

    /// <summary>Per operator: true when K has exactly the three diagonal component blocks (i, i), as exchange does
    /// (y_i = K_ii m_i: the brick loop then reads each corner's m once for all three components).</summary>
    internal bool[] Diagonal { get; private init; } = null!;

    internal static QuadraticTables<T> Create(QuadraticElementOperator op, T[][][] blocksTransposed, T[][] b, T[] e0v)
    {
        var rows = new (int[] Sources, T[] Kt)[op.Blocks.Length][];
        for (int o = 0; o < rows.Length; o++)
        {
            rows[o] = new (int[], T[])[3];
            for (int i = 0; i < 3; i++)
            {
                var mine = Enumerable.Range(0, op.Blocks[o].Length).Where(k => op.Blocks[o][k].I == i).ToArray();
                rows[o][i] = (mine.Select(k => op.Blocks[o][k].J).ToArray(), mine.SelectMany(k => blocksTransposed[o][k]).ToArray());
            }
        }
        var diagonal = rows.Select(r => Enumerable.Range(0, 3).All(i => r[i].Sources is [var j] && j == i)).ToArray();
        return new QuadraticTables<T>(blocksTransposed, b, e0v) { Rows = rows, Diagonal = diagonal };
    }
}
