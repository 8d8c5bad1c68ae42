using System.Numerics;

namespace NeuralMag.Kernels.FieldTerms;

/// <summary>
/// Moves fields of <c>width</c> components per point (1 for scalars, 3 for vectors) between the nodes and the cells
/// of a grid along structured index lines (no per-cell index decoding, no colouring): the weighted cell mean of the
/// corner values, and the weighted gather from the adjacent cells to a node. These two loops are the whole node/cell
/// transfer of the code (the demag field every evaluation, the FIC projections, Function.ToCell/ToNode), each other's
/// adjoint up to the weights, so both run in parallel over x-y lines. Both are generic over the element type (float32
/// states transfer in float32).
/// </summary>
public static class NodeCellTransfer
{
    /// <summary>cell[c, i] = weight[c] · (1/2^d) Σ_corners node[n, i] for 3-vectors.</summary>
    public static void CellMean<T>(GridGeometry g, T[] node, T[] weight, T[] cell) where T : unmanaged, IFloatingPointIeee754<T> => CellMean(g, node, weight, cell, 3);

    /// <summary>node[n, i] = scale[n] · Σ_{cells c at n} weight[c] cell[c, i] for 3-vectors.</summary>
    public static void NodeGather<T>(GridGeometry g, T[] cell, T[] weight, T[] scale, T[] node) where T : unmanaged, IFloatingPointIeee754<T> => NodeGather(g, cell, weight, scale, node, 3);

    /// <summary>cell[c, i] = weight[c] · (1/2^d) Σ_corners node[n, i], i &lt; width.</summary>
    public static void CellMean<T>(GridGeometry g, T[] node, T[] weight, T[] cell, int width) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckWidth(width);
        var (cells, nodes, dim) = Pad(g);
        T share = T.CreateTruncating(1.0 / g.Corners);
        int cy = cells[1], cz = cells[2], ny = nodes[1], nz = nodes[2];
        bool ax = dim == 3, ay = dim >= 2;
        NeuralMag.AD.ParallelLoop.For(cells[0] * cy, (lo, hi) =>
        {
            Span<int> cols = stackalloc int[4];
            Span<T> acc = stackalloc T[width];
            int ix = lo / cy, iy = lo % cy;
            for (int row = lo; row < hi; row++, iy++)
            {
                if (iy == cy) { iy = 0; ix++; }
                int count = 0;
                // The node columns at the cell column's corners on the two outer axes; periodic axes wrap.
                int x1 = ix + 1 == nodes[0] ? 0 : ix + 1, y1 = iy + 1 == ny ? 0 : iy + 1;
                cols[count++] = (ix * ny + iy) * nz;
                if (ay) cols[count++] = (ix * ny + y1) * nz;
                if (ax)
                {
                    cols[count++] = (x1 * ny + iy) * nz;
                    if (ay) cols[count++] = (x1 * ny + y1) * nz;
                }
                int c0 = row * cz;
                for (int iz = 0; iz < cz; iz++)
                {
                    int up = (iz + 1) % nz;
                    int c = c0 + iz;
                    T w = weight[c] * share;
                    if (width == 3)
                    {
                        // Vectors (m, h) in three registers: the same sums in the same order as the general loop.
                        T s0 = T.Zero, s1 = T.Zero, s2 = T.Zero;
                        for (int k = 0; k < count; k++)
                        {
                            int a = (cols[k] + iz) * 3, b = (cols[k] + up) * 3;
                            s0 += node[a] + node[b];
                            s1 += node[a + 1] + node[b + 1];
                            s2 += node[a + 2] + node[b + 2];
                        }
                        cell[3 * c] = w * s0;
                        cell[3 * c + 1] = w * s1;
                        cell[3 * c + 2] = w * s2;
                        continue;
                    }
                    acc.Clear();
                    for (int k = 0; k < count; k++)
                    {
                        // The two corners along the innermost axis: iz and iz + 1 (wrapped when periodic).
                        int a = (cols[k] + iz) * width, b = (cols[k] + up) * width;
                        for (int i = 0; i < width; i++) acc[i] += node[a + i] + node[b + i];
                    }
                    for (int i = 0; i < width; i++) cell[width * c + i] = w * acc[i];
                }
            }
        }, Math.Max(1, 8192 / cz));
    }

    /// <summary>node[n, i] = scale[n] · Σ_{cells c at n} weight[c] cell[c, i], i &lt; width.</summary>
    public static void NodeGather<T>(GridGeometry g, T[] cell, T[] weight, T[] scale, T[] node, int width) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckWidth(width);
        var (cells, nodes, dim) = Pad(g);
        int cy = cells[1], cz = cells[2], ny = nodes[1], nz = nodes[2];
        bool periodicZ = cz == nz, ax = dim == 3, ay = dim >= 2;
        NeuralMag.AD.ParallelLoop.For(nodes[0] * ny, (lo, hi) =>
        {
            Span<int> cols = stackalloc int[4];
            Span<int> zc = stackalloc int[2];
            Span<T> acc = stackalloc T[width];
            int ix = lo / ny, iy = lo % ny;
            for (int row = lo; row < hi; row++, iy++)
            {
                if (iy == ny) { iy = 0; ix++; }
                int count = 0;
                // The cell columns that have this node column at a corner on the two outer axes; open axes skip missing ones.
                for (int bx = 0; bx <= (ax ? 1 : 0); bx++)
                {
                    int cx = ix - bx;
                    if (cx < 0) { if (cells[0] == nodes[0]) cx += cells[0]; else continue; }
                    if (cx >= cells[0]) continue;
                    for (int by = 0; by <= (ay ? 1 : 0); by++)
                    {
                        int cyy = iy - by;
                        if (cyy < 0) { if (cy == ny) cyy += cy; else continue; }
                        if (cyy >= cy) continue;
                        cols[count++] = (cx * cy + cyy) * cz;
                    }
                }
                int n0 = row * nz;
                for (int iz = 0; iz < nz; iz++)
                {
                    // Cells iz (above) and iz - 1 (below) along the innermost axis, in that order.
                    int layers = 0;
                    if (iz < cz) zc[layers++] = iz;
                    int below = iz >= 1 ? iz - 1 : periodicZ ? cz - 1 : -1;
                    if (below >= 0) zc[layers++] = below;
                    int n = n0 + iz;
                    T s = scale[n];
                    if (width == 3)
                    {
                        // Vectors in three registers: the same products and sums in the same order as the general loop.
                        T s0 = T.Zero, s1 = T.Zero, s2 = T.Zero;
                        for (int k = 0; k < count; k++)
                            for (int l = 0; l < layers; l++)
                            {
                                int c = cols[k] + zc[l];
                                T w = weight[c];
                                s0 += w * cell[3 * c];
                                s1 += w * cell[3 * c + 1];
                                s2 += w * cell[3 * c + 2];
                            }
                        node[3 * n] = s * s0;
                        node[3 * n + 1] = s * s1;
                        node[3 * n + 2] = s * s2;
                        continue;
                    }
                    acc.Clear();
                    for (int k = 0; k < count; k++)
                        for (int l = 0; l < layers; l++)
                        {
                            int c = cols[k] + zc[l];
                            T w = weight[c];
                            for (int i = 0; i < width; i++) acc[i] += w * cell[width * c + i];
                        }
                    for (int i = 0; i < width; i++) node[width * n + i] = s * acc[i];
                }
            }
        }, Math.Max(1, 8192 / nz));
    }

    private static void CheckWidth(int width)
    {
        if (width is < 1 or > 16) throw new ArgumentOutOfRangeException(nameof(width), width, "A node/cell transfer moves 1 to 16 components per point.");
    }

    /// <summary>
    /// Cells and nodes per axis padded to 3 axes at the front (1 cell and 1 node on the missing leading axes), so the
    /// last real axis is always the innermost, contiguous loop. Row-major flat indices are unchanged.
    /// </summary>
    private static (int[] Cells, int[] Nodes, int Dim) Pad(GridGeometry g)
    {
        var cells = new[] { 1, 1, 1 };
        var nodes = new[] { 1, 1, 1 };
        for (int k = 0; k < g.Dim; k++)
        {
            cells[3 - g.Dim + k] = g.Cells[k];
            nodes[3 - g.Dim + k] = g.Nodes[k];
        }
        return (cells, nodes, g.Dim);
    }
}
