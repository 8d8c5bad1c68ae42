namespace NeuralMag.IO;

/// <summary>
/// Finds the cell of an unstructured grid that contains a point (VTK's find_containing_cell). Volume cells are split
/// into tetrahedra (hexahedron and voxel into 6 around a main diagonal, wedge into 3, pyramid into 2; exact for cells
/// with planar faces) and a point is inside a tetrahedron when its four barycentric coordinates are ≥ −1e-9; points on
/// a shared face go to the first cell in file order. A uniform bucket grid over the bounding box keeps each query to
/// the few tetrahedra near the point.
/// </summary>
internal sealed class CellLocator
{
    private readonly double[] _points;
    private readonly List<(int Cell, int A, int B, int C, int D)> _tets = new();
    private readonly double[] _lo = new double[3], _size = new double[3];
    private readonly int[] _buckets = new int[3];
    private readonly List<int>[] _grid;

    /// <param name="grid">The unstructured grid; its cells must be tetrahedra (VTK type 10), voxels (11), hexahedra
    /// (12), wedges (13) or pyramids (14).</param>
    /// <param name="path">The file the grid came from, for error messages.</param>
    public CellLocator(Vtu.Grid grid, string path)
    {
        _points = grid.Points;
        for (int c = 0; c < grid.Cells.Length; c++)
        {
            var p = grid.Cells[c];
            int[][] split = (grid.CellTypes[c], p.Length) switch
            {
                (10, 4) => [[0, 1, 2, 3]],
                (11, 8) => Hexahedron([0, 1, 3, 2, 4, 5, 7, 6]),
                (12, 8) => Hexahedron([0, 1, 2, 3, 4, 5, 6, 7]),
                (13, 6) => [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5]],
                (14, 5) => [[0, 1, 2, 4], [0, 2, 3, 4]],
                _ => throw new ArgumentException($"{path}: cell {c} has VTK type {grid.CellTypes[c]} with {p.Length} points; domains are sampled in volume cells: tetrahedra (10), voxels (11), hexahedra (12), wedges (13) and pyramids (14).", nameof(grid)),
            };
            foreach (var t in split) _tets.Add((c, p[t[0]], p[t[1]], p[t[2]], p[t[3]]));
        }
        int n = _points.Length / 3;
        var hi = new double[3];
        for (int k = 0; k < 3; k++)
        {
            _lo[k] = double.PositiveInfinity;
            hi[k] = double.NegativeInfinity;
            for (int i = 0; i < n; i++)
            {
                _lo[k] = Math.Min(_lo[k], _points[3 * i + k]);
                hi[k] = Math.Max(hi[k], _points[3 * i + k]);
            }
        }
        int perAxis = Math.Clamp((int)Math.Round(Math.Cbrt(_tets.Count / 4.0)), 1, 128);
        for (int k = 0; k < 3; k++)
        {
            _buckets[k] = n == 0 ? 1 : perAxis;
            _size[k] = n == 0 || hi[k] <= _lo[k] ? 1 : (hi[k] - _lo[k]) / perAxis;
        }
        _grid = new List<int>[_buckets[0] * _buckets[1] * _buckets[2]];
        Span<int> from = stackalloc int[3], to = stackalloc int[3];
        for (int t = 0; t < _tets.Count; t++)
        {
            var (_, a, b, cc, d) = _tets[t];
            for (int k = 0; k < 3; k++)
            {
                double min = Math.Min(Math.Min(_points[3 * a + k], _points[3 * b + k]), Math.Min(_points[3 * cc + k], _points[3 * d + k]));
                double max = Math.Max(Math.Max(_points[3 * a + k], _points[3 * b + k]), Math.Max(_points[3 * cc + k], _points[3 * d + k]));
                from[k] = Bucket(min, k);
                to[k] = Bucket(max, k);
            }
            for (int i = from[0]; i <= to[0]; i++)
                for (int j = from[1]; j <= to[1]; j++)
                    for (int l = from[2]; l <= to[2]; l++)
                        (_grid[(i * _buckets[1] + j) * _buckets[2] + l] ??= new List<int>()).Add(t);
        }
    }

    /// <summary>Index of the cell containing (x, y, z), or −1 when no cell does.</summary>
    public int Find(double x, double y, double z)
    {
        Span<double> q = [x, y, z];
        Span<int> at = stackalloc int[3];
        for (int k = 0; k < 3; k++)
        {
            double r = (q[k] - _lo[k]) / _size[k];
            // Outside the bounding box (with a little slack for points on its faces): in no cell.
            if (r < -1e-9 || r > _buckets[k] + 1e-9 || double.IsNaN(r)) return -1;
            at[k] = Bucket(q[k], k);
        }
        var candidates = _grid[(at[0] * _buckets[1] + at[1]) * _buckets[2] + at[2]];
        if (candidates == null) return -1;
        int best = -1;
        foreach (int t in candidates)
        {
            var (cell, a, b, c, d) = _tets[t];
            if ((best < 0 || cell < best) && Inside(q, a, b, c, d)) best = cell;
        }
        return best;
    }

    private int Bucket(double v, int axis) => Math.Clamp((int)Math.Floor((v - _lo[axis]) / _size[axis]), 0, _buckets[axis] - 1);

    /// <summary>Barycentric test: q = a + Σ λ_i (p_i − a) with λ_i ≥ 0 and Σ λ_i ≤ 1 (tolerance 1e-9).</summary>
    private bool Inside(ReadOnlySpan<double> q, int a, int b, int c, int d)
    {
        Span<double> e1 = stackalloc double[3], e2 = stackalloc double[3], e3 = stackalloc double[3], r = stackalloc double[3];
        for (int k = 0; k < 3; k++)
        {
            double o = _points[3 * a + k];
            e1[k] = _points[3 * b + k] - o;
            e2[k] = _points[3 * c + k] - o;
            e3[k] = _points[3 * d + k] - o;
            r[k] = q[k] - o;
        }
        double det = Det(e1, e2, e3);
        if (det == 0) return false;
        double l1 = Det(r, e2, e3) / det, l2 = Det(e1, r, e3) / det, l3 = Det(e1, e2, r) / det;
        const double tol = -1e-9;
        return l1 >= tol && l2 >= tol && l3 >= tol && 1 - l1 - l2 - l3 >= tol;
    }

    private static double Det(ReadOnlySpan<double> u, ReadOnlySpan<double> v, ReadOnlySpan<double> w) =>
        u[0] * (v[1] * w[2] - v[2] * w[1]) - u[1] * (v[0] * w[2] - v[2] * w[0]) + u[2] * (v[0] * w[1] - v[1] * w[0]);

    /// <summary>A hexahedron in VTK order (bottom face 0-3, top 4-7) as 6 tetrahedra sharing the diagonal 0–6.</summary>
    private static int[][] Hexahedron(int[] v) =>
    [
        [v[0], v[1], v[2], v[6]], [v[0], v[2], v[3], v[6]], [v[0], v[3], v[7], v[6]],
        [v[0], v[7], v[4], v[6]], [v[0], v[4], v[5], v[6]], [v[0], v[5], v[1], v[6]],
    ];
}
