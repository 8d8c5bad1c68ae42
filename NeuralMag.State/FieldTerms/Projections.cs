using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>
/// The mass-lumped projections between cells and nodes that upstream uses for FIC (m on cells), with one-point
/// quadrature: cells to nodes is the rho-weighted mean of the adjacent cells,
/// f_n = Σ_c s ρ_c f_c / Σ_c mass(s ρ_c) with s = V/2^d, nodes to cells the mean of the corners. Both run on the
/// node/cell transfer loops of <see cref="NodeCellTransfer"/>. As upstream, the cells-to-nodes mass may be rounded to
/// float32 (its rho is a float32 tensor); see <see cref="DemagField.UpstreamFloat32Mass"/>.
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

    /// <summary>Node values Σ_c s ρ_c f_c / Σ_c mass(s ρ_c), s = V/2^d; returns the denominators too.</summary>
    public double[] CellsToNodes(double[] cellValues, int width, double[] rho, out double[] denominators)
    {
        double share = _g.CellVolume / _g.Corners;
        var weight = new double[_g.NumCells];
        var mass = new double[_g.NumCells];
        for (int c = 0; c < weight.Length; c++)
        {
            weight[c] = share * rho[c];
            mass[c] = _float32Mass ? (double)((float)share * (float)rho[c]) : weight[c];
        }
        denominators = Gather(Ones(_g.NumCells), mass, Ones(_g.NumNodes), 1);
        // A node whose adjacent cells all have rho = 0 gets 0 (no magnetization there), not 0/0.
        return Gather(cellValues, weight, InverseMasses(denominators), width);
    }

    /// <summary>Adjoint of <see cref="CellsToNodes"/> in the cell values: g_c = s ρ_c Σ_{corners n} g_n / mass_n.</summary>
    public double[] CellsToNodesAdjoint(double[] nodeGrad, int width, double[] rho, double[] denominators)
    {
        var inv = InverseMasses(denominators);
        var scaled = new double[nodeGrad.Length];
        for (int n = 0; n < inv.Length; n++)
            for (int i = 0; i < width; i++) scaled[n * width + i] = nodeGrad[n * width + i] * inv[n];
        // CellMean averages the 2^d corners; the weight V ρ_c turns the mean into s ρ_c times their sum.
        var weight = new double[_g.NumCells];
        for (int c = 0; c < weight.Length; c++) weight[c] = _g.CellVolume * rho[c];
        var r = new double[_g.NumCells * width];
        NodeCellTransfer.CellMean(_g, scaled, weight, r, width);
        return r;
    }

    /// <summary>Cell values = mean of the corner values.</summary>
    public double[] NodesToCells(double[] nodeValues, int width)
    {
        var r = new double[_g.NumCells * width];
        NodeCellTransfer.CellMean(_g, nodeValues, Ones(_g.NumCells), r, width);
        return r;
    }

    /// <summary>Adjoint of <see cref="NodesToCells"/>: each node gathers 1/2^d of its cells' values.</summary>
    public double[] NodesToCellsAdjoint(double[] cellGrad, int width)
    {
        var share = new double[_g.NumCells];
        Array.Fill(share, 1.0 / _g.Corners);
        return Gather(cellGrad, share, Ones(_g.NumNodes), width);
    }

    private double[] Gather(double[] cell, double[] weight, double[] scale, int width)
    {
        var r = new double[_g.NumNodes * width];
        NodeCellTransfer.NodeGather(_g, cell, weight, scale, r, width);
        return r;
    }

    private static double[] InverseMasses(double[] mass)
    {
        var inv = new double[mass.Length];
        for (int n = 0; n < inv.Length; n++) inv[n] = ElementAssembler.InverseMass(mass[n]);
        return inv;
    }

    private static double[] Ones(int n)
    {
        var a = new double[n];
        Array.Fill(a, 1.0);
        return a;
    }
}
