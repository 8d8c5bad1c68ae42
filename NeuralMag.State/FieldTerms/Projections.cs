using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>
/// The mass-lumped projections between cells and nodes that upstream uses for FIC (m on cells), with one-point
/// quadrature: cells to nodes is the rho-weighted mean of the adjacent cells, nodes to cells the mean of the corners.
/// As upstream, the cells-to-nodes mass may be rounded to float32 (its rho is a float32 tensor); see
/// <see cref="DemagField.UpstreamFloat32Mass"/>.
/// </summary>
internal sealed class Projections
{
    private readonly GridGeometry _g;
    private readonly bool _float32Mass;

    public Projections(GridGeometry geometry, bool float32Mass)
    {
        _g = geometry;
        _float32Mass = float32Mass;
    }

    /// <summary>Node values sum_c s rho_c f_c / sum_c mass(s rho_c), s = V/2^d; returns the denominators too.</summary>
    public double[] CellsToNodes(double[] cellValues, int width, double[] rho, out double[] denominators)
    {
        double share = _g.CellVolume / _g.Corners;
        var r = new double[_g.NumNodes * width];
        var d = new double[_g.NumNodes];
        Span<int> nodes = stackalloc int[8];
        for (int c = 0; c < _g.NumCells; c++)
        {
            _g.CornerNodes(c, nodes);
            double mass = _float32Mass ? (double)((float)share * (float)rho[c]) : share * rho[c];
            for (int k = 0; k < _g.Corners; k++)
            {
                d[nodes[k]] += mass;
                for (int i = 0; i < width; i++) r[nodes[k] * width + i] += share * cellValues[c * width + i] * rho[c];
            }
        }
        // A node whose adjacent cells all have rho = 0 gets 0 (no magnetization there), not 0/0.
        for (int n = 0; n < d.Length; n++)
            for (int i = 0; i < width; i++) r[n * width + i] *= ElementAssembler.InverseMass(d[n]);
        denominators = d;
        return r;
    }

    /// <summary>Adjoint of <see cref="CellsToNodes"/> in the cell values.</summary>
    public double[] CellsToNodesAdjoint(double[] nodeGrad, int width, double[] rho, double[] denominators)
    {
        double share = _g.CellVolume / _g.Corners;
        var r = new double[_g.NumCells * width];
        Span<int> nodes = stackalloc int[8];
        for (int c = 0; c < _g.NumCells; c++)
        {
            _g.CornerNodes(c, nodes);
            for (int k = 0; k < _g.Corners; k++)
                for (int i = 0; i < width; i++) r[c * width + i] += share * rho[c] * nodeGrad[nodes[k] * width + i] * ElementAssembler.InverseMass(denominators[nodes[k]]);
        }
        return r;
    }

    /// <summary>Cell values = mean of the corner values.</summary>
    public double[] NodesToCells(double[] nodeValues, int width)
    {
        var r = new double[_g.NumCells * width];
        Span<int> nodes = stackalloc int[8];
        double w = 1.0 / _g.Corners;
        for (int c = 0; c < _g.NumCells; c++)
        {
            _g.CornerNodes(c, nodes);
            for (int k = 0; k < _g.Corners; k++)
                for (int i = 0; i < width; i++) r[c * width + i] += w * nodeValues[nodes[k] * width + i];
        }
        return r;
    }

    /// <summary>Adjoint of <see cref="NodesToCells"/>.</summary>
    public double[] NodesToCellsAdjoint(double[] cellGrad, int width)
    {
        var r = new double[_g.NumNodes * width];
        Span<int> nodes = stackalloc int[8];
        double w = 1.0 / _g.Corners;
        for (int c = 0; c < _g.NumCells; c++)
        {
            _g.CornerNodes(c, nodes);
            for (int k = 0; k < _g.Corners; k++)
                for (int i = 0; i < width; i++) r[nodes[k] * width + i] += w * cellGrad[c * width + i];
        }
        return r;
    }
}
