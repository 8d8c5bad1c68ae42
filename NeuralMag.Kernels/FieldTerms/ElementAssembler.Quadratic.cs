using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NeuralMag.Kernels.FieldTerms;

public sealed partial class ElementAssembler
{
    /// <summary>
    /// Element matrices of a quadratic density e(u) = ½ uᵀQu + cᵀu (u = (m, grad m), 12 entries):
    /// K = Σ_q w_q B_qᵀ Q B_q and b = Σ_q w_q B_qᵀ c, rows and columns ordered (component, corner).
    /// </summary>
    internal (double[] K, double[] B) ElementMatrices(double[] q, double[] c)
    {
        int corners = _g.Corners, n = 3 * corners;
        var k = new double[n * n];
        var b = new double[n];
        // phi[s] for s = 0 (N_a) and s = 1..3 (d N_a / d x_{s-1}); u index of (component i, s).
        Span<double> phiA = stackalloc double[4];
        Span<double> phiB = stackalloc double[4];
        static int U(int i, int s) => s == 0 ? i : 3 + 3 * i + (s - 1);
        for (int qp = 0; qp < _nq; qp++)
        {
            double w = _weight[qp];
            for (int a = 0; a < corners; a++)
            {
                Phi(qp, a, phiA);
                for (int i = 0; i < 3; i++)
                {
                    int row = i * corners + a;
                    for (int s = 0; s < 4; s++) b[row] += w * phiA[s] * c[U(i, s)];
                    for (int bb = 0; bb < corners; bb++)
                    {
                        Phi(qp, bb, phiB);
                        for (int j = 0; j < 3; j++)
                        {
                            double sum = 0;
                            for (int s = 0; s < 4; s++)
                            {
                                if (phiA[s] == 0) continue;
                                for (int t = 0; t < 4; t++) sum += phiA[s] * q[U(i, s) * Dual.Width + U(j, t)] * phiB[t];
                            }
                            k[row * n + j * corners + bb] += w * sum;
                        }
                    }
                }
            }
        }
        return (k, b);
    }

    private void Phi(int q, int a, Span<double> phi)
    {
        int idx = q * _g.Corners + a;
        phi[0] = _shape[idx];
        phi[1] = _dshape[idx * 3];
        phi[2] = _dshape[idx * 3 + 1];
        phi[3] = _dshape[idx * 3 + 2];
    }

    /// <summary>
    /// Energy (and, when <paramref name="gradient"/>, dE/dm at the nodes) of a quadratic density through its element
    /// operators: per cell, gather m, one matrix-vector product, scatter. Cells run in colour groups along structured
    /// index lines, so the scatter is race-free and no node index is decoded by division.
    /// </summary>
    /// <param name="op">The element operators of the density and parameters.</param>
    /// <param name="m">Nodal magnetization, nodes x 3.</param>
    /// <param name="rho">Density per cell.</param>
    /// <param name="gradient">Compute dE/dm at the nodes.</param>
    /// <param name="energy">Compute the cell energies and E (always when no gradient is asked for).</param>
    /// <param name="into">Optional array (nodes x 3) to receive dE/dm, cleared first; a new one otherwise.</param>
    public Result AssembleQuadratic(QuadraticElementOperator op, double[] m, double[] rho, bool gradient, bool energy = true, double[]? into = null)
    {
        energy |= !gradient;
        if (into != null && into.Length != m.Length) throw new ArgumentException($"into has {into.Length} values, expected {m.Length}.", nameof(into));
        var result = new Result { CellEnergy = energy ? new double[_g.NumCells] : Array.Empty<double>() };
        var dEdm = gradient ? result.DEdm = into ?? new double[m.Length] : null;
        AssembleQuadratic(op, m, rho, dEdm, energy ? result.CellEnergy : null);
        double total = 0;
        foreach (var e in result.CellEnergy) total += e;
        result.Energy = energy ? total : double.NaN;
        return result;
    }

    /// <summary>
    /// The quadratic assembly in the precision T (float32 states run it in float32 with the operators rounded once
    /// from their float64 construction): dE/dm at the nodes into <paramref name="dEdm"/> (cleared first) and the cell
    /// energies into <paramref name="cellEnergy"/>, each when not null.
    /// </summary>
    /// <param name="op">The element operators of the density and parameters.</param>
    /// <param name="m">Nodal magnetization, nodes x 3.</param>
    /// <param name="rho">Density per cell.</param>
    /// <param name="dEdm">Receives dE/dm (nodes x 3), or null.</param>
    /// <param name="cellEnergy">Receives the cell energies (cells), or null.</param>
    /// <exception cref="ArgumentException">An array does not match the grid or the operator another grid.</exception>
    public void AssembleQuadratic<T>(QuadraticElementOperator op, T[] m, T[] rho, T[]? dEdm, T[]? cellEnergy) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(op);
        if (m.Length != _g.NumNodes * 3) throw new ArgumentException($"m has {m.Length} values, expected {_g.NumNodes * 3} (nodes x 3).", nameof(m));
        if (dEdm != null && dEdm.Length != m.Length) throw new ArgumentException($"dEdm has {dEdm.Length} values, expected {m.Length}.", nameof(dEdm));
        AssembleQuadratic(op, m, 0, rho, dEdm, cellEnergy);
    }

    /// <summary>
    /// dE/dm of member <paramref name="member"/> of a batch into that member's block of <paramref name="dEdm"/> (cleared
    /// first): <paramref name="m"/> and dEdm hold B members of nodes x 3 values each, member after member. The member is
    /// computed by the same loop as <see cref="AssembleQuadratic{T}(QuadraticElementOperator, T[], T[], T[], T[])"/> on
    /// its values alone, so the result is that of the member by itself.
    /// </summary>
    /// <param name="op">The element operators of the density and parameters.</param>
    /// <param name="m">Nodal magnetizations of the batch, B x nodes x 3.</param>
    /// <param name="member">The member, 0 to B - 1.</param>
    /// <param name="rho">Density per cell.</param>
    /// <param name="dEdm">Receives the member's dE/dm in its block (B x nodes x 3).</param>
    /// <exception cref="ArgumentException">An array does not match the grid or the batch, or the operator another grid.</exception>
    public void AssembleQuadraticMember<T>(QuadraticElementOperator op, T[] m, int member, T[] rho, T[] dEdm) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(op);
        ArgumentNullException.ThrowIfNull(dEdm);
        int size = _g.NumNodes * 3;
        if (m.Length % size != 0 || m.Length == 0) throw new ArgumentException($"m has {m.Length} values, expected B times {size} (nodes x 3 per member).", nameof(m));
        if (member < 0 || member >= m.Length / size) throw new ArgumentOutOfRangeException(nameof(member), member, $"The batch has {m.Length / size} members.");
        if (dEdm.Length != m.Length) throw new ArgumentException($"dEdm has {dEdm.Length} values, expected {m.Length}.", nameof(dEdm));
        AssembleQuadratic(op, m, member * size, rho, dEdm, null);
    }

    /// <summary>The quadratic assembly on the nodes x 3 values of m and dEdm that start at <paramref name="offset"/>.</summary>
    private void AssembleQuadratic<T>(QuadraticElementOperator op, T[] m, int offset, T[] rho, T[]? dEdm, T[]? cellEnergy) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (op.Corners != _g.Corners) throw new ArgumentException("The operator was built for another grid.", nameof(op));
        if (rho.Length != _g.NumCells) throw new ArgumentException($"rho has {rho.Length} values, expected {_g.NumCells} (cells).", nameof(rho));
        if (cellEnergy != null && cellEnergy.Length != _g.NumCells) throw new ArgumentException($"cellEnergy has {cellEnergy.Length} values, expected {_g.NumCells}.", nameof(cellEnergy));
        int dim = _g.Dim, corners = _g.Corners, n = 3 * corners;
        var cells = new[] { 1, 1, 1 };
        var nodes = new[] { 1, 1, 1 };
        for (int k = 0; k < dim; k++)
        {
            cells[k] = _g.Cells[k];
            nodes[k] = _g.Nodes[k];
        }
        var stride = new[] { nodes[1] * nodes[2], nodes[2], 1 };
        var lists = new int[3][][];
        for (int k = 0; k < 3; k++) lists[k] = k < dim ? ColorClasses(_g.Cells[k], _g.Periodic[k]) : new[] { new[] { 0 }, Array.Empty<int>(), Array.Empty<int>() };
        if (dEdm != null) Array.Clear(dEdm, offset, _g.NumNodes * 3);
        var tables = op.Tables<T>();
        // Brick elements (3-D grids) on SIMD hardware: the specialised row loop; other grids the general one below.
        if (corners == 8 && Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var pass = new BrickPass<T>(m, offset, rho, dEdm, cellEnergy, tables, op.CellOperator, op.HasLinear, cells, nodes, stride);
            for (int cx = 0; cx < 3; cx++)
                for (int cy = 0; cy < 3; cy++)
                    for (int cz = 0; cz < 3; cz++)
                    {
                        int[] lx = lists[0][cx], ly = lists[1][cy], lz = lists[2][cz];
                        if (lx.Length == 0 || ly.Length == 0 || lz.Length == 0) continue;
                        NeuralMag.AD.ParallelLoop.For(lx.Length * ly.Length, (lo, hi) => BrickRows(pass, lx, ly, lz, lo, hi), Math.Max(1, 512 / lz.Length));
                    }
            return;
        }
        var cellOp = op.CellOperator;
        T half = T.CreateTruncating(0.5);
        for (int cx = 0; cx < 3; cx++)
            for (int cy = 0; cy < 3; cy++)
                for (int cz = 0; cz < 3; cz++)
                {
                    int[] lx = lists[0][cx], ly = lists[1][cy], lz = lists[2][cz];
                    if (lx.Length == 0 || ly.Length == 0 || lz.Length == 0) continue;
                    int rows = lx.Length * ly.Length;
                    NeuralMag.AD.ParallelLoop.For(rows, (lo, hi) =>
                    {
                        Span<int> node = stackalloc int[8];
                        Span<int> off = stackalloc int[3];
                        // Node offset of each corner from the cell's first node; changes only where an axis wraps.
                        Span<int> cornerOffset = stackalloc int[8];
                        Span<T> local = stackalloc T[24];
                        Span<T> y = stackalloc T[24];
                        for (int r = lo; r < hi; r++)
                        {
                            int ix = lx[r / ly.Length], iy = ly[r % ly.Length];
                            off[0] = ix + 1 == nodes[0] ? -ix * stride[0] : stride[0];
                            off[1] = iy + 1 == nodes[1] ? -iy * stride[1] : stride[1];
                            int offsetsFor = int.MinValue;
                            foreach (int iz in lz)
                            {
                                off[2] = iz + 1 == nodes[2] ? -iz * stride[2] : stride[2];
                                if (off[2] != offsetsFor)
                                {
                                    offsetsFor = off[2];
                                    for (int a = 0; a < corners; a++)
                                    {
                                        int d = 0;
                                        for (int k = 0; k < dim; k++)
                                            if (((a >> k) & 1) == 1) d += off[k];
                                        cornerOffset[a] = d;
                                    }
                                }
                                int cell = (ix * cells[1] + iy) * cells[2] + iz;
                                int baseNode = ix * stride[0] + iy * stride[1] + iz;
                                for (int a = 0; a < corners; a++)
                                {
                                    int nd = baseNode + cornerOffset[a];
                                    node[a] = nd;
                                    // Node indices lie in the grid by construction (m's length is checked above).
                                    ref T mn = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(m), offset + nd * 3);
                                    local[a] = mn;
                                    local[corners + a] = Unsafe.Add(ref mn, 1);
                                    local[2 * corners + a] = Unsafe.Add(ref mn, 2);
                                }
                                int o = cellOp == null ? 0 : cellOp[cell];
                                y[..n].Clear();
                                var blocks = op.Blocks[o];
                                var kt = tables.BlocksTransposed[o];
                                for (int bk = 0; bk < blocks.Length; bk++)
                                {
                                    var (bi, bj) = blocks[bk];
                                    BlockProduct(kt[bk], local.Slice(bj * corners, corners), y.Slice(bi * corners, corners));
                                }
                                T r2 = rho[cell];
                                if (cellEnergy != null)
                                {
                                    T e = T.Zero;
                                    var lin = tables.B[o];
                                    for (int i = 0; i < n; i++) e += (half * y[i] + lin[i]) * local[i];
                                    cellEnergy[cell] = r2 * (e + tables.E0V[o]);
                                }
                                if (dEdm == null) continue;
                                if (op.HasLinear)
                                {
                                    var lin = tables.B[o];
                                    for (int i = 0; i < n; i++) y[i] += lin[i];
                                }
                                for (int a = 0; a < corners; a++)
                                {
                                    ref T g = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(dEdm), offset + node[a] * 3);
                                    g += r2 * y[a];
                                    Unsafe.Add(ref g, 1) += r2 * y[corners + a];
                                    Unsafe.Add(ref g, 2) += r2 * y[2 * corners + a];
                                }
                            }
                        }
                    }, Math.Max(1, 4096 / lz.Length));
                }
    }

    /// <summary>What one quadratic assembly pass on a brick grid (8-corner elements) reads and writes.</summary>
    private readonly struct BrickPass<T> where T : unmanaged
    {
        public readonly T[] M, Rho;
        public readonly T[]? DEdm, CellEnergy;
        public readonly int Offset, CellsY, CellsZ, NodesX, NodesY, NodesZ, StrideX, StrideY;
        public readonly QuadraticTables<T> Tables;
        public readonly int[]? CellOperator;
        public readonly bool HasLinear;

        public BrickPass(T[] m, int offset, T[] rho, T[]? dEdm, T[]? cellEnergy, QuadraticTables<T> tables, int[]? cellOperator, bool hasLinear, int[] cells, int[] nodes, int[] stride)
        {
            M = m;
            Offset = offset;
            Rho = rho;
            DEdm = dEdm;
            CellEnergy = cellEnergy;
            Tables = tables;
            CellOperator = cellOperator;
            HasLinear = hasLinear;
            CellsY = cells[1];
            CellsZ = cells[2];
            NodesX = nodes[0];
            NodesY = nodes[1];
            NodesZ = nodes[2];
            StrideX = stride[0];
            StrideY = stride[1];
        }
    }

    /// <summary>
    /// The cells of rows [lo, hi) of one colour class on a brick grid: per cell, y_i = Σ_j K_ij m_j for the output
    /// components i with nonzero blocks (two vectors of 4 doubles or one of 8 floats per component, the m_j of each
    /// corner broadcast straight from m), then dE/dm_i += rho y_i at the corners (and the cell energy
    /// rho (½ yᵀm + bᵀm + e0 V) when asked). Summation order as in <see cref="BlockProduct{T}"/>.
    /// </summary>
    private static void BrickRows<T>(in BrickPass<T> p, int[] lx, int[] ly, int[] lz, int lo, int hi) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        T[] mArr = p.M, rho = p.Rho;
        T[]? dEdm = p.DEdm, cellEnergy = p.CellEnergy;
        int offset = p.Offset, cy = p.CellsY, cz = p.CellsZ, nx = p.NodesX, ny = p.NodesY, nz = p.NodesZ, sx = p.StrideX, sy = p.StrideY;
        var rowTables = p.Tables.Rows;
        var cellOp = p.CellOperator;
        bool scaled = cellEnergy == null && !p.HasLinear;
        T half = T.CreateTruncating(0.5);
        ref T m0 = ref MemoryMarshal.GetArrayDataReference(mArr);
        Span<int> at = stackalloc int[8];
        Span<int> cornerOffset = stackalloc int[8];
        Span<T> y = stackalloc T[24];
        int nly = ly.Length, last0 = int.MinValue, last1 = int.MinValue, last2 = int.MinValue;
        for (int r = lo; r < hi; r++)
        {
            int ix = lx[r / nly], iy = ly[r % nly];
            // Node offsets of the corners along x and y; they change only where a periodic axis wraps.
            int o0 = ix + 1 == nx ? -ix * sx : sx;
            int o1 = iy + 1 == ny ? -iy * sy : sy;
            foreach (int iz in lz)
            {
                int o2 = iz + 1 == nz ? -iz : 1;
                if (o0 != last0 || o1 != last1 || o2 != last2)
                {
                    (last0, last1, last2) = (o0, o1, o2);
                    for (int a = 0; a < 8; a++) cornerOffset[a] = ((a & 1) != 0 ? o0 : 0) + ((a & 2) != 0 ? o1 : 0) + ((a & 4) != 0 ? o2 : 0);
                }
                int cell = (ix * cy + iy) * cz + iz;
                int baseNode = ix * sx + iy * sy + iz;
                for (int a = 0; a < 8; a++) at[a] = offset + (baseNode + cornerOffset[a]) * 3;
                int o = cellOp == null ? 0 : cellOp[cell];
                var rows = rowTables[o];
                T r2 = rho[cell];
                if (p.Tables.Diagonal[o]) DiagonalProduct(rows, ref m0, at, y);
                else
                    for (int i = 0; i < 3; i++)
                    {
                        var (sources, kt) = rows[i];
                        var y0 = Vector256<T>.Zero;
                        var y1 = Vector256<T>.Zero;
                        ref T k0 = ref MemoryMarshal.GetArrayDataReference(kt);
                        for (int s = 0; s < sources.Length; s++)
                        {
                            int j = sources[s];
                            ref T kb = ref Unsafe.Add(ref k0, s * 64);
                            for (int b = 0; b < 8; b++)
                            {
                                var xb = Vector256.Create(Unsafe.Add(ref m0, at[b] + j));
                                y0 += Vector256.LoadUnsafe(ref kb, (nuint)(b * 8)) * xb;
                                if (w == 4) y1 += Vector256.LoadUnsafe(ref kb, (nuint)(b * 8 + 4)) * xb;
                            }
                        }
                        ref T yi = ref MemoryMarshal.GetReference(y.Slice(i * 8, 8));
                        y0.StoreUnsafe(ref yi);
                        if (w == 4) y1.StoreUnsafe(ref yi, 4);
                    }
                if (scaled)
                {
                    // dE/dm_i += rho y_i at the corners, for the components with nonzero blocks.
                    if (dEdm == null) continue;
                    ref T g0 = ref MemoryMarshal.GetArrayDataReference(dEdm);
                    for (int i = 0; i < 3; i++)
                    {
                        if (rows[i].Sources.Length == 0) continue;
                        for (int a = 0; a < 8; a++) Unsafe.Add(ref g0, at[a] + i) += r2 * y[i * 8 + a];
                    }
                    continue;
                }
                var lin = p.Tables.B[o];
                if (cellEnergy != null)
                {
                    T e = T.Zero;
                    for (int i = 0; i < 3; i++)
                        for (int a = 0; a < 8; a++) e += (half * y[i * 8 + a] + lin[i * 8 + a]) * Unsafe.Add(ref m0, at[a] + i);
                    cellEnergy[cell] = r2 * (e + p.Tables.E0V[o]);
                }
                if (dEdm == null) continue;
                ref T g = ref MemoryMarshal.GetArrayDataReference(dEdm);
                for (int i = 0; i < 3; i++)
                    for (int a = 0; a < 8; a++)
                    {
                        T v = p.HasLinear ? y[i * 8 + a] + lin[i * 8 + a] : y[i * 8 + a];
                        Unsafe.Add(ref g, at[a] + i) += r2 * v;
                    }
            }
        }
    }

    /// <summary>
    /// y_i = K_ii m_i (i = 0, 1, 2) at the 8 corners for an operator of diagonal component blocks: the corners b in
    /// the outer loop, each corner's three components read once, six independent accumulators; each y_i sums over b in
    /// the same order as the general row loop, so the result is the same to the bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DiagonalProduct<T>((int[] Sources, T[] Kt)[] rows, ref T m0, Span<int> at, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        ref T kx = ref MemoryMarshal.GetArrayDataReference(rows[0].Kt);
        ref T ky = ref MemoryMarshal.GetArrayDataReference(rows[1].Kt);
        ref T kz = ref MemoryMarshal.GetArrayDataReference(rows[2].Kt);
        Vector256<T> x0 = Vector256<T>.Zero, x1 = x0, y0 = x0, y1 = x0, z0 = x0, z1 = x0;
        for (int b = 0; b < 8; b++)
        {
            ref T mb = ref Unsafe.Add(ref m0, at[b]);
            var mx = Vector256.Create(mb);
            var my = Vector256.Create(Unsafe.Add(ref mb, 1));
            var mz = Vector256.Create(Unsafe.Add(ref mb, 2));
            nuint k = (nuint)(b * 8);
            x0 += Vector256.LoadUnsafe(ref kx, k) * mx;
            y0 += Vector256.LoadUnsafe(ref ky, k) * my;
            z0 += Vector256.LoadUnsafe(ref kz, k) * mz;
            if (w == 4)
            {
                x1 += Vector256.LoadUnsafe(ref kx, k + 4) * mx;
                y1 += Vector256.LoadUnsafe(ref ky, k + 4) * my;
                z1 += Vector256.LoadUnsafe(ref kz, k + 4) * mz;
            }
        }
        ref T yr = ref MemoryMarshal.GetReference(y);
        x0.StoreUnsafe(ref yr);
        y0.StoreUnsafe(ref yr, 8);
        z0.StoreUnsafe(ref yr, 16);
        if (w == 4)
        {
            x1.StoreUnsafe(ref yr, 4);
            y1.StoreUnsafe(ref yr, 12);
            z1.StoreUnsafe(ref yr, 20);
        }
    }

    /// <summary>y += Kᵀ-stored block times x: y_a += Σ_b kt[b C + a] x_b (vectorized for the 8-corner element).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BlockProduct<T>(T[] kt, Span<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int c = x.Length;
        if (c == 8 && Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            // 8 corners: two vectors of 4 doubles or one of 8 floats.
            int w = Vector256<T>.Count;
            ref T k0 = ref MemoryMarshal.GetArrayDataReference(kt);
            ref T y0r = ref MemoryMarshal.GetReference(y);
            var y0 = Vector256.LoadUnsafe(ref y0r);
            var y1 = w == 4 ? Vector256.LoadUnsafe(ref y0r, 4) : Vector256<T>.Zero;
            for (int b = 0; b < 8; b++)
            {
                var xb = Vector256.Create(x[b]);
                y0 += Vector256.LoadUnsafe(ref k0, (nuint)(b * 8)) * xb;
                if (w == 4) y1 += Vector256.LoadUnsafe(ref k0, (nuint)(b * 8 + 4)) * xb;
            }
            y0.StoreUnsafe(ref y0r);
            if (w == 4) y1.StoreUnsafe(ref y0r, 4);
            return;
        }
        for (int b = 0; b < c; b++)
        {
            T xb = x[b];
            for (int a = 0; a < c; a++) y[a] += kt[b * c + a] * xb;
        }
    }

    /// <summary>
    /// Cell indices of one axis in three classes whose cells share no node: even, odd, and the last cell of an odd
    /// periodic axis (it wraps onto node 0, which cell 0 holds).
    /// </summary>
    private static int[][] ColorClasses(int n, bool periodic)
    {
        bool extra = periodic && n % 2 == 1 && n > 1;
        var even = Enumerable.Range(0, n).Where(i => i % 2 == 0 && !(extra && i == n - 1)).ToArray();
        var odd = Enumerable.Range(0, n).Where(i => i % 2 == 1).ToArray();
        return new[] { even, odd, extra ? new[] { n - 1 } : Array.Empty<int>() };
    }
}
