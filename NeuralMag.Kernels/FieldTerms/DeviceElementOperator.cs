using System.Numerics;
using ILGPU;
using ILGPU.Runtime;
using NeuralMag.AD;

namespace NeuralMag.Kernels.FieldTerms;

/// <summary>
/// The element-operator field (<see cref="QuadraticElementOperator"/>) as an ILGPU kernel, for tensors on CUDA, OpenCL
/// or ILGPU's CPU accelerator. The CPU path scatters cell by cell in colour groups; a GPU prefers the gather form,
/// one thread per node with no races:
/// <code>h_n = s_n Σ_{cells c ∋ n} rho_c (Σ_{j,b} K_c[(i,a_n),(j,b)] m_{b,j} + b_c[(i,a_n)]),  s_n = −1/(mu0 M_n),</code>
/// where a_n is the corner of node n in cell c. The operator, rho and the scale live on the device and are reused until
/// they change; <see cref="Dispose"/> frees them. A batch of B magnetizations ([B] + nodes x 3, member after member)
/// is one launch of B x nodes threads, each member computed as it would be alone. The kernel runs in m's precision:
/// float32 tensors read tables rounded once from the float64 operator and compute in float32.
/// </summary>
public sealed class DeviceElementOperator : INodalGradient
{
    /// <summary>Grid constants passed by value to the kernel (3 axes; unused axes have 1 cell and 1 node).</summary>
    public struct GridConstants
    {
        /// <summary>Mesh dimension, corners per cell (2^dim), unknowns per cell (3 · corners), and 1 when every cell shares one operator.</summary>
        public int Dim, Corners, N, Uniform;
        /// <summary>Nodes (N) and cells (C) per axis, and 1 where the axis is periodic (P).</summary>
        public int Nx, Ny, Nz, Cx, Cy, Cz, Px, Py, Pz;
        /// <summary>Nodes of one member (Nx · Ny · Nz).</summary>
        public int Nodes;
    }

    private readonly IlgpuBackend _backend;
    private readonly GridConstants _grid;
    private readonly int _nodes;
    // K, b, rho and the node scale, in the precision of the m they are applied to.
    private readonly PrecisionTables _tables;
    private const int K = 0, B = 1, Rho = 2, Scale = 3, E0V = 4;
    private readonly int _cells;
    private MemoryBuffer1D<int, Stride1D.Dense>? _cellOp;
    private bool _disposed;

    /// <param name="op">The element operators.</param>
    /// <param name="geometry">The grid they were built for.</param>
    /// <param name="rho">Density per cell.</param>
    /// <param name="scale">Per node the factor applied to dE/dm, −1/(mu0 M_n) for the field.</param>
    /// <param name="device">An ILGPU device.</param>
    public DeviceElementOperator(QuadraticElementOperator op, GridGeometry geometry, double[] rho, double[] scale, AD.Device device)
    {
        _backend = device.Backend as IlgpuBackend
                   ?? throw new NotSupportedException($"DeviceElementOperator needs an ILGPU device (cuda, opencl, ilgpu-cpu); got '{device}'.");
        if (rho.Length != geometry.NumCells) throw new ArgumentException($"rho has {rho.Length} values, expected {geometry.NumCells}.");
        if (scale.Length != geometry.NumNodes) throw new ArgumentException($"scale has {scale.Length} values, expected {geometry.NumNodes}.");
        int dim = geometry.Dim;
        int Cells(int k) => k < dim ? geometry.Cells[k] : 1;
        int Nodes(int k) => k < dim ? geometry.Nodes[k] : 1;
        int Periodic(int k) => k < dim && geometry.Periodic[k] ? 1 : 0;
        _grid = new GridConstants
        {
            Dim = dim, Corners = op.Corners, N = 3 * op.Corners, Uniform = op.CellOperator == null ? 1 : 0,
            Nx = Nodes(0), Ny = Nodes(1), Nz = Nodes(2), Cx = Cells(0), Cy = Cells(1), Cz = Cells(2),
            Px = Periodic(0), Py = Periodic(1), Pz = Periodic(2), Nodes = geometry.NumNodes,
        };
        _nodes = geometry.NumNodes;
        _cells = geometry.NumCells;
        _tables = new PrecisionTables(_backend, new[] { op.K.SelectMany(k => k).ToArray(), op.B.SelectMany(b => b).ToArray(), rho, scale, op.E0V });
        _cellOp = _backend.Upload(op.CellOperator ?? new int[1]);
    }

    /// <summary>
    /// s_n dE/dm_n for nodal m (float64 or float32, on this device), or for each member of a batch of them (B · nodes x 3
    /// values, member after member); the result has m's shape and dtype.
    /// </summary>
    public NTensor Apply(NTensor m)
    {
        if (_disposed) throw new ObjectDisposedException(nameof(DeviceElementOperator));
        if (m.Device != _backend.Device) throw new ArgumentException($"m is on '{m.Device}', the operator on '{_backend.Device}'.");
        if (m.Size == 0 || m.Size % (3 * _nodes) != 0)
            throw new ArgumentException($"m has {m.Size} values, expected {3 * _nodes} (nodes x 3) or a batch of B times that.", nameof(m));
        var storage = (IlgpuStorage)m.Storage;
        if (m.DType == DType.Float32)
        {
            var output = (IlgpuStorage)_backend.Full(DType.Float32, m.Size, 0);
            Launch(m.Size / 3, storage.F32, output.F32);
            return new NTensor(output, m.GetShape());
        }
        var result = (IlgpuStorage)_backend.Full(DType.Float64, m.Size, 0);
        Launch(m.Size / 3, storage.F64, result.F64);
        return new NTensor(result, m.GetShape());
    }

    /// <summary>
    /// Each cell's energy per unit rho, ½ m_cᵀ K m_c + bᵀ m_c + e0 V (J), for nodal m on this device (nodes x 3, float64
    /// or float32): dE/d rho_c of E = Σ_c rho_c (…), also where rho_c = 0. The result has the cells' count, in m's dtype.
    /// </summary>
    public NTensor CellEnergiesPerUnitRho(NTensor m)
    {
        if (_disposed) throw new ObjectDisposedException(nameof(DeviceElementOperator));
        if (m.Device != _backend.Device) throw new ArgumentException($"m is on '{m.Device}', the operator on '{_backend.Device}'.");
        if (m.Size != 3 * _nodes) throw new ArgumentException($"m has {m.Size} values, expected {3 * _nodes} (nodes x 3).", nameof(m));
        var storage = (IlgpuStorage)m.Storage;
        var output = (IlgpuStorage)_backend.Full(m.DType, _cells, 0);
        if (m.DType == DType.Float32) LaunchCells(storage.F32, output.F32);
        else LaunchCells(storage.F64, output.F64);
        return new NTensor(output, new[] { _cells });
    }

    private void LaunchCells<T>(ArrayView<T> m, ArrayView<T> energy) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = _tables.Get<T>();
        var kernel = _backend.Kernel<Action<Index1D, GridConstants, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<int>, ArrayView<T>>>(CellKernel);
        kernel(_cells, _grid, m, t[K].View, t[B].View, t[E0V].View, _cellOp!.View, energy);
    }

    /// <summary>One thread per cell: u = the cell's nodal m (component-major, u[i·C + a]), E_c = uᵀ(½ K u + b) + e0 V.</summary>
    private static void CellKernel<T>(Index1D cell, GridConstants g, ArrayView<T> m, ArrayView<T> k, ArrayView<T> b, ArrayView<T> e0v,
        ArrayView<int> cellOp, ArrayView<T> energy) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int corners = g.Corners, n = g.N;
        int cz = cell % g.Cz, cy = cell / g.Cz % g.Cy, cx = cell / (g.Cz * g.Cy);
        int o = g.Uniform == 1 ? 0 : cellOp[cell];
        int kBase = o * n * n, bBase = o * n;
        T half = T.One / (T.One + T.One), sum = T.Zero;
        for (int r = 0; r < n; r++)
        {
            T kr = T.Zero;
            for (int c = 0; c < corners; c++)
            {
                int mb = CornerBase(g, cx, cy, cz, c);
                int row = kBase + r * n;
                kr += k[row + c] * m[mb] + k[row + corners + c] * m[mb + 1] + k[row + 2 * corners + c] * m[mb + 2];
            }
            T ur = m[CornerBase(g, cx, cy, cz, r % corners) + r / corners];
            sum += ur * (half * kr + b[bBase + r]);
        }
        energy[cell] = sum + e0v[o];
    }

    /// <summary>Index of m's first component at corner c (bits x, y, z) of cell (cx, cy, cz), periodic axes wrapped.</summary>
    private static int CornerBase(GridConstants g, int cx, int cy, int cz, int c)
    {
        int nx = cx + (c & 1), ny = cy + ((c >> 1) & 1), nz = cz + ((c >> 2) & 1);
        if (nx == g.Nx) nx = 0;
        if (ny == g.Ny) ny = 0;
        if (nz == g.Nz) nz = 0;
        return ((nx * g.Ny + ny) * g.Nz + nz) * 3;
    }

    private void Launch<T>(int threads, ArrayView<T> m, ArrayView<T> h) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = _tables.Get<T>();
        var kernel = _backend.Kernel<Action<Index1D, GridConstants, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<int>, ArrayView<T>, ArrayView<T>, ArrayView<T>>>(NodeKernel);
        kernel(threads, _grid, m, t[K].View, t[B].View, _cellOp!.View, t[Rho].View, t[Scale].View, h);
    }

    private static void NodeKernel<T>(Index1D index, GridConstants g, ArrayView<T> m, ArrayView<T> k, ArrayView<T> b,
        ArrayView<int> cellOp, ArrayView<T> rho, ArrayView<T> scale, ArrayView<T> h) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Thread index = member * nodes + node; the member's m starts at its first node.
        int node = index % g.Nodes, first = (index - node) * 3;
        int iz = node % g.Nz, iy = node / g.Nz % g.Ny, ix = node / (g.Nz * g.Ny);
        T h0 = T.Zero, h1 = T.Zero, h2 = T.Zero;
        int n = g.N, corners = g.Corners;
        for (int a = 0; a < corners; a++)
        {
            // This node is corner a of the cell whose lower index is i - bit_k(a) along each axis (corners = 2^dim, so
            // the bits of missing axes are 0).
            int bx = a & 1, by = (a >> 1) & 1, bz = (a >> 2) & 1;
            int cx = ix - bx, cy = g.Dim > 1 ? iy - by : 0, cz = g.Dim > 2 ? iz - bz : 0;
            if (cx < 0) { if (g.Px == 0) continue; cx += g.Cx; }
            if (cy < 0) { if (g.Py == 0) continue; cy += g.Cy; }
            if (cz < 0) { if (g.Pz == 0) continue; cz += g.Cz; }
            if (cx >= g.Cx || cy >= g.Cy || cz >= g.Cz) continue;
            int cell = (cx * g.Cy + cy) * g.Cz + cz;
            int o = g.Uniform == 1 ? 0 : cellOp[cell];
            int kBase = o * n * n, bBase = o * n;
            T s0 = b[bBase + a], s1 = b[bBase + corners + a], s2 = b[bBase + 2 * corners + a];
            for (int c = 0; c < corners; c++)
            {
                int mb = first + CornerBase(g, cx, cy, cz, c);
                T m0 = m[mb], m1 = m[mb + 1], m2 = m[mb + 2];
                int r0 = kBase + a * n, r1 = kBase + (corners + a) * n, r2 = kBase + (2 * corners + a) * n;
                s0 += k[r0 + c] * m0 + k[r0 + corners + c] * m1 + k[r0 + 2 * corners + c] * m2;
                s1 += k[r1 + c] * m0 + k[r1 + corners + c] * m1 + k[r1 + 2 * corners + c] * m2;
                s2 += k[r2 + c] * m0 + k[r2 + corners + c] * m1 + k[r2 + 2 * corners + c] * m2;
            }
            T r = rho[cell];
            h0 += r * s0;
            h1 += r * s1;
            h2 += r * s2;
        }
        T sc = scale[node];
        h[index * 3] = sc * h0;
        h[index * 3 + 1] = sc * h1;
        h[index * 3 + 2] = sc * h2;
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _tables.Dispose();
        _cellOp?.Dispose();
        _cellOp = null;
    }
}
