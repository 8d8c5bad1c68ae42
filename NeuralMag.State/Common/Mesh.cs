using System.Globalization;

namespace NeuralMag;

/// <summary>
/// Boundary condition along one axis: open, pseudo-periodic with N image copies per side (the field of the copies is
/// added by the demag kernel; nodes are periodic), or truly periodic. As upstream: false/0 = open, a positive integer
/// = pseudo-PBC, true/infinity = true PBC.
/// </summary>
public readonly record struct Pbc(double Value)
{
    /// <summary>Open boundary (no periodicity).</summary>
    public static Pbc Open => new(0);
    /// <summary>True periodicity (infinitely many images; demag by the Fourier-space solver on all three axes).</summary>
    public static Pbc True => new(double.PositiveInfinity);
    /// <summary>Pseudo-PBC with <paramref name="count"/> image copies on each side.</summary>
    public static Pbc Images(int count) => count > 0 ? new(count) : throw new ArgumentOutOfRangeException(nameof(count), count, $"Pseudo-PBC image count must be positive, got {count}.");

    /// <summary>True for an open boundary.</summary>
    public bool IsOpen => Value == 0;
    /// <summary>True for pseudo or true periodicity (then there are n nodes along the axis instead of n + 1).</summary>
    public bool IsPeriodic => Value != 0;
    /// <summary>True for true periodicity.</summary>
    public bool IsTrue => double.IsPositiveInfinity(Value);
    /// <summary>True for pseudo-periodicity with a finite image count.</summary>
    public bool IsPseudo => IsPeriodic && !IsTrue;
    /// <summary>Image copies per side for pseudo-PBC (0 when open or truly periodic).</summary>
    public int ImageCount => IsPseudo ? (int)Value : 0;

    /// <summary>true: true PBC; false: open.</summary>
    public static implicit operator Pbc(bool periodic) => periodic ? True : Open;
    /// <summary>0: open; a positive count: pseudo-PBC with that many images per side (negative counts throw).</summary>
    public static implicit operator Pbc(int images) => images == 0 ? Open : Images(images);

    /// <summary>"open", "true" or the image count.</summary>
    public override string ToString() => IsOpen ? "open" : IsTrue ? "true" : ImageCount.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// Regular cuboid mesh for nodal finite differences (upstream's <c>Mesh</c>). n cells per axis (1, 2 or 3 axes); the
/// cell size dx always has three entries, the unused ones giving the cross-section of 1D and 2D meshes. Along an
/// open axis there are n + 1 nodes, along a periodic one n.
/// </summary>
public sealed class Mesh
{
    /// <param name="n">Cells per axis (1 to 3 entries, each positive).</param>
    /// <param name="dx">Cell size in m (3 positive entries).</param>
    /// <param name="origin">Coordinate of the lower corner in m (default 0).</param>
    /// <param name="pbc">Boundary condition per axis (1 entry for all axes, or one per axis; default open).</param>
    public Mesh(int[] n, double[] dx, double[]? origin = null, Pbc[]? pbc = null)
    {
        ArgumentNullException.ThrowIfNull(n);
        ArgumentNullException.ThrowIfNull(dx);
        if (n.Length is < 1 or > 3) throw new ArgumentException($"Mesh needs 1 to 3 cell counts, got {n.Length}: ({string.Join(", ", n)}).", nameof(n));
        for (int i = 0; i < n.Length; i++)
            if (n[i] <= 0) throw new ArgumentException($"Cell count n[{i}] = {n[i]} must be positive.", nameof(n));
        if (dx.Length != 3) throw new ArgumentException($"dx needs 3 entries (the unused ones set the cross-section of 1D/2D meshes), got {dx.Length}.", nameof(dx));
        for (int i = 0; i < 3; i++)
            if (!(dx[i] > 0) || double.IsInfinity(dx[i])) throw new ArgumentException($"Cell size dx[{i}] = {dx[i]} must be positive and finite.", nameof(dx));
        double cellVolume = dx[0] * dx[1] * dx[2];
        if (!double.IsNormal(cellVolume) || double.IsInfinity(cellVolume))
            throw new ArgumentException($"Cell size ({string.Join(", ", dx.Select(PythonRepr))}) gives the cell volume {PythonRepr(cellVolume)} m^3, " +
                                        "which underflows or overflows a double: the product dx*dy*dz must be a finite number above 2.2e-308 (cell sizes in m, e.g. 1e-9).", nameof(dx));
        origin ??= new double[3];
        if (origin.Length != 3) throw new ArgumentException($"origin needs 3 entries, got {origin.Length}.", nameof(origin));
        for (int i = 0; i < 3; i++)
            if (!double.IsFinite(origin[i])) throw new ArgumentException($"Origin coordinate origin[{i}] = {origin[i]} must be finite.", nameof(origin));
        pbc ??= new[] { NeuralMag.Pbc.Open };
        if (pbc.Length == 1) pbc = Enumerable.Repeat(pbc[0], 3).ToArray();
        if (pbc.Length != 3 && pbc.Length != n.Length)
            throw new ArgumentException($"pbc needs 1, {n.Length} or 3 entries, got {pbc.Length}.", nameof(pbc));
        if (pbc.Length < 3) pbc = pbc.Concat(Enumerable.Repeat(NeuralMag.Pbc.Open, 3 - pbc.Length)).ToArray();
        foreach (var p in pbc)
            if (p.Value < 0 || (p.IsPseudo && p.Value != Math.Floor(p.Value)))
                throw new ArgumentException($"pbc entry {p.Value} is invalid: use open (0/false), a positive image count, or true.", nameof(pbc));
        // Every attribute is one NTensor, indexed by int: the nodal vector field m (3 entries per node, n + 1 nodes per
        // open axis) is the largest and must stay within int.MaxValue elements.
        long nodes = 1, cells = 1;
        for (int i = 0; i < n.Length; i++)
        {
            cells *= n[i];
            nodes *= pbc[i].IsPeriodic ? n[i] : n[i] + 1L;
        }
        if (3 * nodes > MaxTensorElements)
            throw new ArgumentException($"Mesh ({string.Join(", ", n)}) has {cells:N0} cells and {nodes:N0} nodes; its nodal vector field would need " +
                                        $"{3 * nodes:N0} tensor elements, more than a tensor holds ({MaxTensorElements:N0} = int.MaxValue). " +
                                        $"Use at most about {(long)Math.Pow(MaxTensorElements / 3.0, 1.0 / n.Length) - 1:N0} cells per axis for a {n.Length}D mesh.", nameof(n));
        N = (int[])n.Clone();
        Dx = (double[])dx.Clone();
        Origin = (double[])origin.Clone();
        Pbc = pbc;
    }

    /// <summary>Convenience: one boundary condition for every axis.</summary>
    public Mesh(int[] n, double[] dx, Pbc pbc, double[]? origin = null) : this(n, dx, origin, new[] { pbc }) { }

    /// <summary>Cells per axis.</summary>
    public int[] N { get; }

    /// <summary>Cell size in m (3 entries).</summary>
    public double[] Dx { get; }

    /// <summary>Lower corner in m.</summary>
    public double[] Origin { get; }

    /// <summary>Boundary condition per axis (3 entries; axes beyond <see cref="Dim"/> are open).</summary>
    public Pbc[] Pbc { get; }

    /// <summary>1, 2 or 3.</summary>
    public int Dim => N.Length;

    /// <summary>Cell volume in m^3 (dx·dy·dz, also for 1D/2D meshes).</summary>
    public double CellVolume => Dx[0] * Dx[1] * Dx[2];

    /// <summary>Largest number of elements of one tensor (int-indexed): bounds 3 x the node count of a mesh.</summary>
    public const long MaxTensorElements = int.MaxValue;

    /// <summary>Number of cells (the constructor bounds it, so it never overflows).</summary>
    public int NumCells => N.Aggregate(1, (a, b) => a * b);

    /// <summary>Total volume in m^3.</summary>
    public double Volume => (double)NumCells * CellVolume;

    /// <summary>Nodes per axis: n + 1 along open axes, n along periodic ones.</summary>
    public int[] NodeCounts => Enumerable.Range(0, Dim).Select(i => Pbc[i].IsPeriodic ? N[i] : N[i] + 1).ToArray();

    /// <summary>Number of nodes (bounded by the constructor: 3 x NumNodes fits one tensor).</summary>
    public int NumNodes => NodeCounts.Aggregate(1, (a, b) => a * b);

    /// <summary>True when some axis is periodic (pseudo or true).</summary>
    public bool AnyPeriodic => Pbc.Take(Dim).Any(p => p.IsPeriodic);

    private NeuralMag.Kernels.FieldTerms.GridGeometry? _geometry;

    /// <summary>The index geometry of this mesh (cells, nodes, periodic axes, cell size) that the kernels loop over.</summary>
    internal NeuralMag.Kernels.FieldTerms.GridGeometry Geometry =>
        _geometry ??= new NeuralMag.Kernels.FieldTerms.GridGeometry(N, Pbc.Take(Dim).Select(p => p.IsPeriodic).ToArray(), Dx);

    /// <summary>Upstream's str(mesh): cells per axis and cell size in m, e.g. "100x25x1_5e-09x5e-09x3e-09".</summary>
    public override string ToString() =>
        string.Join("x", N) + "_" + string.Join("x", Dx.Select(PythonRepr));

    /// <summary>Formats like Python's repr(float): 1e-09, 2.5, 1.0 (so names match upstream's str(mesh)).</summary>
    private static string PythonRepr(double d)
    {
        var s = d.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e");
        return s.Contains('.') || s.Contains('e') || s.Contains("Infinity") || s.Contains("NaN") ? s : s + ".0";
    }
}
