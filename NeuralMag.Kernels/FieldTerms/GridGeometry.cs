namespace NeuralMag.Kernels.FieldTerms;

/// <summary>
/// The regular grid a kernel works on: cells per axis (1 to 3 axes), periodicity per axis and the cell size (always
/// 3 entries; on 1D/2D grids the unused ones give the cross-section, so the cell volume is dx·dy·dz).
/// </summary>
public sealed class GridGeometry
{
    /// <summary>A grid of <paramref name="cells"/> cells per axis.</summary>
    /// <param name="cells">Cells per axis (1 to 3 entries).</param>
    /// <param name="periodic">Periodicity per axis (at least one entry per axis).</param>
    /// <param name="dx">Cell size in m (3 entries).</param>
    /// <exception cref="ArgumentException">The entries do not fit these rules.</exception>
    public GridGeometry(int[] cells, bool[] periodic, double[] dx)
    {
        if (cells.Length is < 1 or > 3) throw new ArgumentException($"1 to 3 axes expected, got {cells.Length}.");
        if (periodic.Length < cells.Length) throw new ArgumentException("One periodicity flag per axis expected.");
        if (dx.Length != 3) throw new ArgumentException("dx needs 3 entries.");
        Cells = (int[])cells.Clone();
        Periodic = periodic.Take(cells.Length).ToArray();
        Dx = (double[])dx.Clone();
        Nodes = Cells.Select((n, i) => Periodic[i] ? n : n + 1).ToArray();
    }

    /// <summary>Number of axes (1 to 3).</summary>
    public int Dim => Cells.Length;
    /// <summary>Cells per axis.</summary>
    public int[] Cells { get; }
    /// <summary>Nodes per axis: n + 1, or n along periodic axes.</summary>
    public int[] Nodes { get; }
    /// <summary>Periodicity per axis.</summary>
    public bool[] Periodic { get; }
    /// <summary>Cell size in m (3 entries).</summary>
    public double[] Dx { get; }
    /// <summary>dx · dy · dz in m^3.</summary>
    public double CellVolume => Dx[0] * Dx[1] * Dx[2];
    /// <summary>Total number of cells.</summary>
    public int NumCells => Cells.Aggregate(1, (a, b) => a * b);
    /// <summary>Total number of nodes.</summary>
    public int NumNodes => Nodes.Aggregate(1, (a, b) => a * b);
    /// <summary>Corners of an element: 2^dim.</summary>
    public int Corners => 1 << Dim;

    /// <summary>Flat node indices of the corners of a cell (corner bit k set = upper node along axis k).</summary>
    public void CornerNodes(int cell, Span<int> nodes)
    {
        Span<int> idx = stackalloc int[3];
        int c = cell;
        for (int k = Dim - 1; k >= 0; k--)
        {
            idx[k] = c % Cells[k];
            c /= Cells[k];
        }
        for (int a = 0; a < Corners; a++)
        {
            int flat = 0;
            for (int k = 0; k < Dim; k++)
            {
                int i = idx[k] + ((a >> k) & 1);
                if (i == Nodes[k]) i = 0; // periodic wrap
                flat = flat * Nodes[k] + i;
            }
            nodes[a] = flat;
        }
    }

    /// <summary>
    /// Cells grouped so that no two cells of a group share a node (safe to assemble in parallel): by parity per axis,
    /// with the last cell of an odd periodic axis in a group of its own.
    /// </summary>
    public int[][] ColorGroups()
    {
        var groups = new Dictionary<int, List<int>>();
        Span<int> idx = stackalloc int[3];
        for (int cell = 0; cell < NumCells; cell++)
        {
            int c = cell;
            for (int k = Dim - 1; k >= 0; k--)
            {
                idx[k] = c % Cells[k];
                c /= Cells[k];
            }
            int color = 0;
            for (int k = 0; k < Dim; k++)
            {
                int ck = idx[k] % 2;
                if (Periodic[k] && Cells[k] % 2 == 1 && idx[k] == Cells[k] - 1) ck = 2;
                color = color * 3 + ck;
            }
            if (!groups.TryGetValue(color, out var list)) groups[color] = list = new List<int>();
            list.Add(cell);
        }
        return groups.OrderBy(g => g.Key).Select(g => g.Value.ToArray()).ToArray();
    }
}
