using System.Numerics;
using ILGPU;
using ILGPU.Runtime;
using NeuralMag.AD;

namespace NeuralMag.Kernels.FieldTerms;

/// <summary>
/// The field of an interface density (<see cref="InterfaceEnergyDensity"/>, at most quadratic in (m₁, m₂)) as an
/// ILGPU kernel. On face f the density at a point is e = ½ xᵀQ_f x + c_fᵀx + e0_f with x = (m₁, m₂) there, Q_f, c_f
/// and e0_f read off the density once per face with unit dual seeds (they depend on the face parameters only). One
/// thread per node of the two layers gathers from its faces with the 2 x 2 Gauss rule of <see cref="InterfaceAssembler"/>:
/// <code>h_n = s_n Σ_{faces f ∋ n} Σ_q w_q A N_{a_n}(q) (Q_f x_q + c_f)_{side of n},  x_q = Σ_b N_b(q) (m₁, m₂)_b,</code>
/// the same E, gradient and quadrature as the host assembler. Nodes off the two layers get 0. With unit scale s the
/// result is ∇E; the operator tables live on the device in each precision they are asked in.
/// </summary>
public sealed class DeviceInterfaceOperator : INodalGradient
{
    /// <summary>Grid constants passed by value to the kernel.</summary>
    public struct GridConstants
    {
        /// <summary>Nodes and cells per axis, periodicity of x and y, the two layers, and the node count.</summary>
        public int Nx, Ny, Nz, Cx, Cy, Px, Py, Layer1, Layer2, Nodes;
    }

    private readonly IlgpuBackend _backend;
    private readonly GridConstants _grid;
    // Q and c per face, the Gauss rule (weights, shape values) and the node scale, in m's precision.
    private readonly PrecisionTables _tables;
    private const int QC = 0, Rule = 1, Scale = 2;
    private bool _disposed;

    /// <summary>Values per face in the table: Q (6 x 6) then c (6).</summary>
    private const int PerFace = 42;

    /// <summary>The energy at m = 0, Σ_f Σ_q w_q A e0_f (J).</summary>
    public double ConstantEnergy { get; }

    /// <param name="density">The interface density (at most quadratic in m₁, m₂).</param>
    /// <param name="geometry">A 3D grid.</param>
    /// <param name="layer1">z index of the first node layer.</param>
    /// <param name="layer2">z index of the second node layer.</param>
    /// <param name="parameters">Per density parameter, its values on the "ccn" grid (cells in x and y, node layers in z).</param>
    /// <param name="scale">Per node, the factor of the result (−1/(μ0 M) for h, 1 for ∇E).</param>
    /// <param name="device">An ILGPU device.</param>
    /// <exception cref="ArgumentException">The density is not quadratic in (m₁, m₂) on some face, or an array does not fit.</exception>
    public DeviceInterfaceOperator(InterfaceEnergyDensity density, GridGeometry geometry, int layer1, int layer2, double[][] parameters, double[] scale, AD.Device device)
    {
        ArgumentNullException.ThrowIfNull(density);
        ArgumentNullException.ThrowIfNull(geometry);
        _backend = device.Backend as IlgpuBackend
                   ?? throw new NotSupportedException($"DeviceInterfaceOperator needs an ILGPU device (cuda, opencl, ilgpu-cpu); got '{device}'.");
        var asm = new InterfaceAssembler(geometry, layer1, layer2);
        if (scale.Length != geometry.NumNodes) throw new ArgumentException($"scale has {scale.Length} values, expected {geometry.NumNodes}.", nameof(scale));
        int np = density.Parameters.Count;
        if (parameters.Length != np || parameters.Any(p => p.Length != asm.ParameterLength))
            throw new ArgumentException($"{np} parameters of {asm.ParameterLength} values each expected (cells in x, cells in y, node layers in z).", nameof(parameters));
        int cx = geometry.Cells[0], cy = geometry.Cells[1], nz = geometry.Nodes[2];
        _grid = new GridConstants
        {
            Nx = geometry.Nodes[0], Ny = geometry.Nodes[1], Nz = nz, Cx = cx, Cy = cy,
            Px = geometry.Periodic[0] ? 1 : 0, Py = geometry.Periodic[1] ? 1 : 0, Layer1 = layer1, Layer2 = layer2, Nodes = geometry.NumNodes,
        };
        var (weights, shape) = asm.Rule();
        var qc = new double[cx * cy * PerFace];
        var p2 = new double[2 * np];
        double e0Sum = 0, weightSum = weights.Sum();
        for (int f = 0; f < cx * cy; f++)
        {
            for (int p = 0; p < np; p++)
            {
                p2[2 * p] = parameters[p][f * nz + layer1];
                p2[2 * p + 1] = parameters[p][f * nz + layer2];
            }
            e0Sum += weightSum * Probe(density, p2, qc.AsSpan(f * PerFace, PerFace), f);
        }
        ConstantEnergy = e0Sum;
        _tables = new PrecisionTables(_backend, new[] { qc, weights.Concat(shape).ToArray(), scale });
    }

    /// <summary>Q, c and e0 of the density on one face (its parameters on both sides), with a check that e is quadratic.</summary>
    private static double Probe(InterfaceEnergyDensity density, double[] parameters, Span<double> qc, int face)
    {
        Span<Dual> x = stackalloc Dual[6];
        Span<Dual> p = stackalloc Dual[Math.Max(1, parameters.Length)];
        for (int i = 0; i < parameters.Length; i++) p[i] = new Dual(parameters[i]);
        static Dual Eval(InterfaceEnergyDensity density, Span<Dual> x, Span<Dual> p, ReadOnlySpan<double> u)
        {
            for (int i = 0; i < 6; i++) x[i] = Dual.Seed(u[i], i);
            return density.Evaluate(new InterfacePoint { MValues = x, ParamValues = p });
        }
        Span<double> u = stackalloc double[6];
        u.Clear();
        var at0 = Eval(density, x, p, u);
        for (int i = 0; i < 6; i++) qc[36 + i] = at0.D[i];
        for (int j = 0; j < 6; j++)
        {
            u.Clear();
            u[j] = 1;
            var e = Eval(density, x, p, u);
            for (int i = 0; i < 6; i++) qc[6 * i + j] = e.D[i] - at0.D[i];
        }
        // The quadratic model at a point of order 1 must reproduce e and its gradient.
        for (int i = 0; i < 6; i++) u[i] = 0.3 + 0.11 * i - (i % 2) * 0.7;
        var check = Eval(density, x, p, u);
        double model = at0.V, size = Math.Abs(at0.V);
        for (int i = 0; i < 6; i++)
        {
            double qu = 0, qs = 0;
            for (int j = 0; j < 6; j++)
            {
                qu += qc[6 * i + j] * u[j];
                qs += Math.Abs(qc[6 * i + j] * u[j]);
            }
            if (Math.Abs(check.D[i] - qc[36 + i] - qu) > 1e-11 * (Math.Abs(qc[36 + i]) + qs) + 1e-300)
                throw new ArgumentException($"The interface density is not quadratic in (m1, m2) on face {face} (flat index); its field cannot run on the device.", nameof(density));
            model += (qc[36 + i] + 0.5 * qu) * u[i];
            size += Math.Abs(qc[36 + i] * u[i]) + 0.5 * qs * Math.Abs(u[i]);
        }
        if (Math.Abs(check.V - model) > 1e-11 * size + 1e-300)
            throw new ArgumentException($"The interface density is not quadratic in (m1, m2) on face {face} (flat index); its field cannot run on the device.", nameof(density));
        return at0.V;
    }

    /// <summary>s ⊙ ∇E at every node for nodal m on this device (nodes x 3; float64 or float32, in m's precision).</summary>
    public NTensor Apply(NTensor m)
    {
        if (_disposed) throw new ObjectDisposedException(nameof(DeviceInterfaceOperator));
        if (m.Device != _backend.Device) throw new ArgumentException($"m is on '{m.Device}', the operator on '{_backend.Device}'.");
        if (m.Size != 3 * _grid.Nodes) throw new ArgumentException($"m has {m.Size} values, expected {3 * _grid.Nodes} (nodes x 3).", nameof(m));
        var storage = (IlgpuStorage)m.Storage;
        var output = (IlgpuStorage)_backend.Full(m.DType, m.Size, 0);
        if (m.DType == DType.Float32) Launch(storage.F32, output.F32);
        else Launch(storage.F64, output.F64);
        return new NTensor(output, m.GetShape());
    }

    private void Launch<T>(ArrayView<T> m, ArrayView<T> h) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = _tables.Get<T>();
        var kernel = _backend.Kernel<Action<Index1D, GridConstants, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>>>(NodeKernel);
        kernel(_grid.Nodes, _grid, m, t[QC].View, t[Rule].View, t[Scale].View, h);
    }

    /// <summary>Node n: s_n times its share of ∇E over the faces it is a corner of, on each layer it lies on.</summary>
    private static void NodeKernel<T>(Index1D n, GridConstants g, ArrayView<T> m, ArrayView<T> qc, ArrayView<T> rule, ArrayView<T> scale, ArrayView<T> h)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int iz = n % g.Nz, iy = n / g.Nz % g.Ny, ix = n / (g.Nz * g.Ny);
        T h0 = T.Zero, h1 = T.Zero, h2 = T.Zero;
        bool on1 = iz == g.Layer1, on2 = iz == g.Layer2;
        if (on1 || on2)
        {
            for (int a = 0; a < 4; a++)
            {
                // This node is corner a of the face whose lower index is (ix − bit0(a), iy − bit1(a)).
                int fx = ix - (a & 1), fy = iy - (a >> 1);
                if (fx < 0) { if (g.Px == 0) continue; fx += g.Cx; }
                if (fy < 0) { if (g.Py == 0) continue; fy += g.Cy; }
                if (fx >= g.Cx || fy >= g.Cy) continue;
                int o = 42 * (fx * g.Cy + fy);
                for (int q = 0; q < 4; q++)
                {
                    // x_q = (m₁, m₂) at the quadrature point, from the face's four corners on both layers.
                    T x0 = T.Zero, x1 = T.Zero, x2 = T.Zero, x3 = T.Zero, x4 = T.Zero, x5 = T.Zero;
                    for (int b = 0; b < 4; b++)
                    {
                        int bx = fx + (b & 1), by = fy + (b >> 1);
                        if (bx == g.Nx) bx = 0;
                        if (by == g.Ny) by = 0;
                        T nb = rule[4 + q * 4 + b];
                        int c = (bx * g.Ny + by) * g.Nz;
                        int p1 = 3 * (c + g.Layer1), p2 = 3 * (c + g.Layer2);
                        x0 += nb * m[p1];
                        x1 += nb * m[p1 + 1];
                        x2 += nb * m[p1 + 2];
                        x3 += nb * m[p2];
                        x4 += nb * m[p2 + 1];
                        x5 += nb * m[p2 + 2];
                    }
                    T wn = rule[q] * rule[4 + q * 4 + a];
                    // The gradient rows of this node's side(s): i = 0..2 on layer 1, 3..5 on layer 2.
                    for (int side = 0; side < 2; side++)
                    {
                        if (side == 0 ? !on1 : !on2) continue;
                        for (int i = 0; i < 3; i++)
                        {
                            int r = o + 6 * (3 * side + i);
                            T gi = qc[o + 36 + 3 * side + i] + qc[r] * x0 + qc[r + 1] * x1 + qc[r + 2] * x2 + qc[r + 3] * x3 + qc[r + 4] * x4 + qc[r + 5] * x5;
                            if (i == 0) h0 += wn * gi;
                            else if (i == 1) h1 += wn * gi;
                            else h2 += wn * gi;
                        }
                    }
                }
            }
        }
        T s = scale[n];
        h[3 * n] = s * h0;
        h[3 * n + 1] = s * h1;
        h[3 * n + 2] = s * h2;
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _tables.Dispose();
    }
}
