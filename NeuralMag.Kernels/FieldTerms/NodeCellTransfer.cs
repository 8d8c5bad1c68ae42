namespace NeuralMag.Kernels.FieldTerms;

/// <summary>
/// Moves 3-vector fields between the nodes and the cells of a grid along structured index lines (no per-cell index
/// decoding, no colouring): the weighted cell mean of the corner values, and the weighted gather from the adjacent
/// cells to a node. Used by the demag field every evaluation, so both run in parallel over x-y lines.
/// </summary>
public static class NodeCellTransfer
{
    /// <summary>cell[c, i] = weight[c] · (1/2^d) Σ_corners node[n, i].</summary>
    public static void CellMean(GridGeometry g, double[] node, double[] weight, double[] cell)
    {
        var (cells, nodes, dim) = Pad(g);
        int corners = g.Corners;
        double share = 1.0 / corners;
        int sy = nodes[2], sx = nodes[1] * nodes[2];
        NeuralMag.AD.CpuBackend.For(cells[0] * cells[1], (lo, hi) =>
        {
            Span<int> off = stackalloc int[8];
            for (int row = lo; row < hi; row++)
            {
                int ix = row / cells[1], iy = row % cells[1];
                int ox = ix + 1 == nodes[0] ? -ix * sx : sx, oy = iy + 1 == nodes[1] ? -iy * sy : sy;
                for (int iz = 0; iz < cells[2]; iz++)
                {
                    int oz = iz + 1 == nodes[2] ? -iz : 1;
                    int baseNode = ix * sx + iy * sy + iz, c = row * cells[2] + iz;
                    double x = 0, y = 0, z = 0;
                    for (int a = 0; a < corners; a++)
                    {
                        int n = (baseNode + ((a & 1) != 0 ? ox : 0) + ((a & 2) != 0 ? oy : 0) + ((a & 4) != 0 ? oz : 0)) * 3;
                        x += node[n];
                        y += node[n + 1];
                        z += node[n + 2];
                    }
                    double w = weight[c] * share;
                    cell[3 * c] = w * x;
                    cell[3 * c + 1] = w * y;
                    cell[3 * c + 2] = w * z;
                }
            }
        }, Math.Max(1, 8192 / cells[2]));
    }

    /// <summary>node[n, i] = scale[n] · Σ_{cells c at n} weight[c] cell[c, i].</summary>
    public static void NodeGather(GridGeometry g, double[] cell, double[] weight, double[] scale, double[] node)
    {
        var (cells, nodes, dim) = Pad(g);
        int corners = g.Corners;
        NeuralMag.AD.CpuBackend.For(nodes[0] * nodes[1], (lo, hi) =>
        {
            for (int row = lo; row < hi; row++)
            {
                int ix = row / nodes[1], iy = row % nodes[1];
                for (int iz = 0; iz < nodes[2]; iz++)
                {
                    int n = row * nodes[2] + iz;
                    double x = 0, y = 0, z = 0;
                    for (int a = 0; a < corners; a++)
                    {
                        // The cell with this node at corner a starts one index lower along the axes of a's set bits.
                        int cx = ix - (a & 1), cy = iy - ((a >> 1) & 1), cz = iz - ((a >> 2) & 1);
                        if (cx < 0) { if (cells[0] == nodes[0]) cx += cells[0]; else continue; }
                        if (cy < 0) { if (cells[1] == nodes[1]) cy += cells[1]; else continue; }
                        if (cz < 0) { if (cells[2] == nodes[2]) cz += cells[2]; else continue; }
                        if (cx >= cells[0] || cy >= cells[1] || cz >= cells[2]) continue;
                        int c = (cx * cells[1] + cy) * cells[2] + cz;
                        double w = weight[c];
                        x += w * cell[3 * c];
                        y += w * cell[3 * c + 1];
                        z += w * cell[3 * c + 2];
                    }
                    double s = scale[n];
                    node[3 * n] = s * x;
                    node[3 * n + 1] = s * y;
                    node[3 * n + 2] = s * z;
                }
            }
        }, Math.Max(1, 8192 / nodes[2]));
    }

    /// <summary>Cells and nodes per axis padded to 3 axes (1 cell and 1 node on missing axes).</summary>
    private static (int[] Cells, int[] Nodes, int Dim) Pad(GridGeometry g)
    {
        var cells = new[] { 1, 1, 1 };
        var nodes = new[] { 1, 1, 1 };
        for (int k = 0; k < g.Dim; k++)
        {
            cells[k] = g.Cells[k];
            nodes[k] = g.Nodes[k];
        }
        return (cells, nodes, g.Dim);
    }
}
