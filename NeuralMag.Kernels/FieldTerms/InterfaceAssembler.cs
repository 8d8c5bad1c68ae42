namespace NeuralMag.Kernels.FieldTerms;

/// <summary>
/// Integrates an <see cref="InterfaceEnergyDensity"/> over the interface between the xy node layers k₁ and k₂ of a 3D
/// grid: E = Σ_faces Σ_q w_q A e(m₁(x_q), m₂(x_q), p), A = dx dy, with the 2 x 2 Gauss rule on each bilinear face
/// (exact for densities quadratic in m). From one pass it returns E and, as asked, dE/dm at the nodes of both layers
/// (each quadrature point's ∂e/∂m₁ and ∂e/∂m₂ tested with the face's shape functions) or dE/dp per face parameter.
/// Periodic x and y wrap the face's upper nodes.
/// </summary>
public sealed class InterfaceAssembler
{
    private readonly GridGeometry _g;
    private readonly int _layer1, _layer2;
    private readonly double[] _weight = new double[4];     // [q] w_q A
    private readonly double[] _shape = new double[16];     // [q * 4 + a] N_a(x_q), corner bit 0 = x, bit 1 = y

    /// <param name="geometry">A 3D grid.</param>
    /// <param name="layer1">z index of the first node layer.</param>
    /// <param name="layer2">z index of the second node layer (equal to the first for a density on one layer).</param>
    public InterfaceAssembler(GridGeometry geometry, int layer1, int layer2)
    {
        _g = geometry ?? throw new ArgumentNullException(nameof(geometry));
        if (geometry.Dim != 3) throw new ArgumentException($"An interface between xy node layers needs a 3D grid, this one is {geometry.Dim}D.", nameof(geometry));
        foreach (var (k, name) in new[] { (layer1, nameof(layer1)), (layer2, nameof(layer2)) })
            if (k < 0 || k >= geometry.Nodes[2])
                throw new ArgumentOutOfRangeException(name, k, $"The layer index must be a z index of a node layer, 0..{geometry.Nodes[2] - 1}.");
        _layer1 = layer1;
        _layer2 = layer2;
        var (pts, wts) = Gauss.Rule(2);
        double area = geometry.Dx[0] * geometry.Dx[1];
        for (int q = 0; q < 4; q++)
        {
            double x = pts[q >> 1], y = pts[q & 1];
            _weight[q] = area * wts[q >> 1] * wts[q & 1];
            for (int a = 0; a < 4; a++)
                _shape[q * 4 + a] = ((a & 1) == 1 ? x : 1 - x) * ((a >> 1) == 1 ? y : 1 - y);
        }
    }

    /// <summary>The face rule: the weights w_q A (4) and the shape values N_a(x_q) at [q * 4 + a] (16), corner bit 0 = x, bit 1 = y.</summary>
    internal (double[] Weights, double[] Shape) Rule() => ((double[])_weight.Clone(), (double[])_shape.Clone());

    /// <summary>z index of the first node layer.</summary>
    public int Layer1 => _layer1;

    /// <summary>z index of the second node layer.</summary>
    public int Layer2 => _layer2;

    /// <summary>Faces per layer: cells in x times cells in y.</summary>
    public int Faces => _g.Cells[0] * _g.Cells[1];

    /// <summary>Entries of a face parameter (spaces "ccn"): cells in x, cells in y, node layers in z.</summary>
    public int ParameterLength => Faces * _g.Nodes[2];

    /// <summary>Output of <see cref="Assemble"/>; arrays not asked for are null.</summary>
    public sealed class Result
    {
        /// <summary>E in J.</summary>
        public double Energy;
        /// <summary>dE/dm, nodes x 3 (nonzero on the two layers only).</summary>
        public double[]? DEdm;
        /// <summary>dE/dp per parameter, on the "ccn" grid (nonzero on the two layers only).</summary>
        public double[][]? DEdp;
    }

    /// <param name="density">The interface density.</param>
    /// <param name="m">Nodal magnetization, nodes x 3.</param>
    /// <param name="parameters">Per density parameter: its values on the "ccn" grid (<see cref="ParameterLength"/>).</param>
    /// <param name="mGradient">Also dE/dm.</param>
    /// <param name="paramGradient">Also dE/dp.</param>
    public Result Assemble(InterfaceEnergyDensity density, double[] m, double[][] parameters, bool mGradient, bool paramGradient)
    {
        ArgumentNullException.ThrowIfNull(density);
        int np = density.Parameters.Count;
        if (parameters.Length != np) throw new ArgumentException($"{np} parameters expected, got {parameters.Length}.", nameof(parameters));
        for (int p = 0; p < np; p++)
            if (parameters[p].Length != ParameterLength)
                throw new ArgumentException($"Parameter '{density.Parameters[p]}' has {parameters[p].Length} values, expected {ParameterLength} (cells in x, cells in y, node layers in z).", nameof(parameters));
        if (m.Length != _g.NumNodes * 3) throw new ArgumentException($"m has {m.Length} values, expected {_g.NumNodes * 3} (nodes x 3).", nameof(m));
        // m takes the seeds 0..5 when its gradient is asked for; the parameters follow.
        int seed0 = mGradient ? 6 : 0;
        if (paramGradient && seed0 + 2 * np > Dual.Width)
            throw new NotSupportedException($"The density has {np} parameters on two sides; one pass differentiates at most {(Dual.Width - seed0) / 2}{(mGradient ? " besides m" : "")}.");
        var result = new Result
        {
            DEdm = mGradient ? new double[m.Length] : null,
            DEdp = paramGradient ? Enumerable.Range(0, np).Select(_ => new double[ParameterLength]).ToArray() : null,
        };
        int[] nodes = _g.Nodes, cells = _g.Cells;
        int nz = nodes[2];
        Span<int> n1 = stackalloc int[4], n2 = stackalloc int[4];
        Span<Dual> mq = stackalloc Dual[6];
        Span<Dual> pq = stackalloc Dual[Math.Max(2 * np, 1)];
        Span<int> face = stackalloc int[2];
        double total = 0;
        for (int cx = 0; cx < cells[0]; cx++)
            for (int cy = 0; cy < cells[1]; cy++)
            {
                for (int a = 0; a < 4; a++)
                {
                    int ix = (cx + (a & 1)) % nodes[0], iy = (cy + (a >> 1)) % nodes[1];
                    n1[a] = (ix * nodes[1] + iy) * nz + _layer1;
                    n2[a] = (ix * nodes[1] + iy) * nz + _layer2;
                }
                face[0] = (cx * cells[1] + cy) * nz + _layer1;
                face[1] = (cx * cells[1] + cy) * nz + _layer2;
                for (int p = 0; p < np; p++)
                    for (int side = 0; side < 2; side++)
                    {
                        double v = parameters[p][face[side]];
                        pq[2 * p + side] = paramGradient ? Dual.Seed(v, seed0 + 2 * p + side) : new Dual(v);
                    }
                for (int q = 0; q < 4; q++)
                {
                    for (int i = 0; i < 3; i++)
                    {
                        double v1 = 0, v2 = 0;
                        for (int a = 0; a < 4; a++)
                        {
                            double na = _shape[q * 4 + a];
                            v1 += na * m[n1[a] * 3 + i];
                            v2 += na * m[n2[a] * 3 + i];
                        }
                        mq[i] = mGradient ? Dual.Seed(v1, i) : new Dual(v1);
                        mq[3 + i] = mGradient ? Dual.Seed(v2, 3 + i) : new Dual(v2);
                    }
                    var e = density.Evaluate(new InterfacePoint { MValues = mq, ParamValues = pq });
                    double w = _weight[q];
                    total += w * e.V;
                    if (mGradient)
                        for (int a = 0; a < 4; a++)
                        {
                            double wn = w * _shape[q * 4 + a];
                            for (int i = 0; i < 3; i++)
                            {
                                result.DEdm![n1[a] * 3 + i] += wn * e.D[i];
                                result.DEdm![n2[a] * 3 + i] += wn * e.D[3 + i];
                            }
                        }
                    if (paramGradient)
                        for (int p = 0; p < np; p++)
                            for (int side = 0; side < 2; side++) result.DEdp![p][face[side]] += w * e.D[seed0 + 2 * p + side];
                }
            }
        result.Energy = total;
        return result;
    }
}
