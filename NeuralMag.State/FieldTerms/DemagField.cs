using NeuralMag.AD;
using NeuralMag.Kernels.Demag;
using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>
/// Demagnetization (stray) field. The nodal m is averaged to cells, M = Ms rho m is convolved with the demag tensor
/// (open boundaries by zero padding, pseudo-PBC by image sums, true PBC on all three axes by the Fourier-space Poisson
/// solver), and the cell field is projected back to the nodes weighted by Ms rho. The energy is
/// E = -mu0/2 ∫ Ms m · h_demag dV. Reads material.Ms and rho; h is differentiable with respect to m, Ms and rho.
/// </summary>
public sealed class DemagField : FieldTerm
{
    private readonly double _p;

    /// <param name="p">Distance in cell diagonals beyond which the tensor is replaced by the dipole field (upstream: 20).</param>
    public DemagField(double p = 20) => _p = p > 0 && double.IsFinite(p) ? p
        : throw new ArgumentOutOfRangeException(nameof(p), p, $"DemagField: p (the near-field distance in cell diagonals) must be positive and finite, got {p}; upstream's default is 20.");

    /// <summary>
    /// Reproduce upstream NeuralMag's single-precision lumped mass in the Ms-weighted cell-to-node projection (default
    /// true). Upstream's density rho is a float32 tensor (torch.where with Python scalars), so the mass
    /// (V/2^d)·rho of that projection is rounded to float32 while the numerator stays float64: a uniform relative
    /// shift of the nodal field of about 3e-8, and float32 denormals where rho = eps. Set false for the exact
    /// float64 projection.
    /// </summary>
    public bool UpstreamFloat32Mass { get; init; } = true;

    /// <summary>
    /// On a CUDA device, transform with cuFFT instead of our Stockham kernel. Default: true when the environment variable
    /// NM_CUFFT is "1", else false (the Stockham kernel serves every device; DeviceDemagTests compares the cuFFT path
    /// with the CPU where CUDA is present).
    /// </summary>
    public bool CuFft { get; init; } = CuFftDemagConvolution.Enabled;

    /// <summary>"demag": attributes h_demag, e_demag, E_demag.</summary>
    public override string DefaultName => "demag";
    /// <summary>e = -mu0/2 Ms m · h_demag (J/m^3), with h_demag read as a nodal field.</summary>
    public override EnergyDensity Density { get; } = new DemagEnergyDensity();
    /// <summary>False: h_demag comes from the convolution, not from the gradient of the energy.</summary>
    protected override bool ComputesField => false;
    /// <summary>The density reads this term's own field h_name.</summary>
    protected override IReadOnlyList<string> NodalFieldAttributes(string? name) => new[] { AttributeName("h", name) };

    /// <summary>Adds h_name (the convolved field in A/m), e_name and E_name.</summary>
    public override void Register(State state, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        var mesh = state.Mesh;
        var pbc = mesh.Pbc.Take(mesh.Dim).ToArray();
        bool allTrue = pbc.All(p => p.IsTrue);
        if (!allTrue && pbc.Any(p => p.IsTrue))
        {
            // The Fourier-space Poisson solver needs periodicity on every axis, the image-sum kernel a finite image count.
            string Describe(int i) => $"{"xyz"[i]} = {(pbc[i].IsTrue ? "true" : pbc[i].IsOpen ? "open" : $"{pbc[i].ImageCount} images")}";
            throw new ArgumentException(
                $"DemagField does not support partial true PBC: pbc is ({string.Join(", ", Enumerable.Range(0, mesh.Dim).Select(Describe))}); " +
                "make all three axes truly periodic, or use pseudo-PBC (an image count) for the periodic axes.", nameof(state));
        }
        if (allTrue && mesh.Dim < 3)
            throw new ArgumentException($"True-PBC demag needs a 3D mesh, this one is {mesh.Dim}D; use pseudo-PBC (an image count) on a {mesh.Dim}D mesh.", nameof(state));
        base.Register(state, name);
        var op = new DemagOperator(state, _p, allTrue, UpstreamFloat32Mass, CuFft);
        bool fic = state.M.Spaces.All(c => c == 'c');
        // With FIC (m on cells) the cell field is the result; otherwise it is projected to the nodes.
        state.SetTyped(AttributeName("h", name), new NamedFunction(new[] { "m", "material__Ms", "rho" }, fic ? op.CellField : op.Field), state.M.Spaces, new[] { 3 });
    }

    private sealed class DemagEnergyDensity : EnergyDensity
    {
        public override IReadOnlyList<CellParameter> Parameters { get; } = new[] { new CellParameter("material__Ms", 1) };
        public override IReadOnlyList<string> NodalFields { get; } = new[] { "h_demag" };

        public override Dual Evaluate(in QuadPoint q) => -0.5 * Constants.Mu0 * q.Param(0) * Vec3.Dot(q.M, q.Nodal(0));
    }
}

/// <summary>The demag field as a tape operation on (m, Ms, rho).</summary>
internal sealed class DemagOperator
{
    private readonly State _state;
    private readonly GridGeometry _geo;
    private readonly DemagKernel? _kernel;
    private readonly bool _truePbc;
    private readonly int[] _cells3;
    private readonly double[] _dx;
    private readonly bool _float32Mass;


    private readonly bool _cuFft;

    public DemagOperator(State state, double p, bool truePbc, bool float32Mass, bool cuFft)
    {
        _float32Mass = float32Mass;
        _cuFft = cuFft;
        _state = state;
        var mesh = state.Mesh;
        _geo = new GridGeometry(mesh.N, mesh.Pbc.Take(mesh.Dim).Select(b => b.IsPeriodic).ToArray(), mesh.Dx);
        _cells3 = Enumerable.Range(0, 3).Select(i => i < mesh.Dim ? mesh.N[i] : 1).ToArray();
        _dx = mesh.Dx;
        _truePbc = truePbc;
        if (!truePbc)
        {
            var images = Enumerable.Range(0, 3).Select(i => i < mesh.Dim ? mesh.Pbc[i].ImageCount : 0).ToArray();
            _kernel = KernelCache.Get(_cells3, mesh.Dx, images, p);
        }
    }

    private double[] Convolve(double[] magnetization) =>
        _truePbc ? DemagConvolution.ApplyPeriodic(_cells3, _dx, magnetization) : DemagConvolution.Apply(_kernel!, magnetization);

    private double[] CellValues(NTensor t, string what)
    {
        if (Shapes.Equal(t.GetShape(), _geo.Cells)) return CheckNonNegative(t.ToArray(), what);
        if (t.Size == 1) return CheckNonNegative(Enumerable.Repeat(t.Item(), _geo.NumCells).ToArray(), what);
        throw new ArgumentException($"DemagField: '{what}' has shape {Shapes.Format(t.GetShape())}, expected a cell function of shape {Shapes.Format(_geo.Cells)} or a scalar.");
    }

    /// <summary>Ms and rho must be finite, Ms also 0 or more (0 = an empty cell); rho may be negative (see FieldTermOperator).</summary>
    private static double[] CheckNonNegative(double[] values, string what)
    {
        bool nonNegative = what == "material__Ms";
        for (int c = 0; c < values.Length; c++)
            if (!double.IsFinite(values[c]) || (nonNegative && values[c] < 0))
                throw new ArgumentException($"DemagField: '{what}' is {values[c]} in cell {c} (flat index); " +
                                            (nonNegative ? "it must be finite and 0 or more (0 = empty cell)." : "it must be finite."), what);
        return values;
    }

    /// <summary>FIC: h on cells from m on cells, h = C(rho Ms m); self-adjoint, so its VJP reuses the convolution.</summary>
    public NTensor CellField(NTensor[] a)
    {
        var cellShape = _geo.Cells.Append(3).ToArray();
        if (!Shapes.Equal(a[0].GetShape(), cellShape))
            throw new ArgumentException($"DemagField: m has shape {Shapes.Format(a[0].GetShape())}, expected the cell shape {Shapes.Format(cellShape)} (FIC).");
        var m = a[0].ToArray();
        var ms = CellValues(a[1], "material__Ms");
        var rho = CellValues(a[2], "rho");
        int nc = _geo.NumCells;
        var source = new double[nc * 3];
        for (int c = 0; c < nc; c++)
            for (int i = 0; i < 3; i++) source[c * 3 + i] = rho[c] * ms[c] * m[c * 3 + i];
        var result = NTensor.FromArray(Convolve(source), cellShape, _state.DType, _state.Device);
        if (!Tape.IsRecording(a)) return result;
        return Tape.Record(result, a, g =>
        {
            var y = Convolve(g.ToArray());
            var gm = new double[nc * 3];
            var gms = new double[nc];
            var grho = new double[nc];
            for (int c = 0; c < nc; c++)
            {
                double dot = 0;
                for (int i = 0; i < 3; i++)
                {
                    gm[c * 3 + i] = rho[c] * ms[c] * y[c * 3 + i];
                    dot += m[c * 3 + i] * y[c * 3 + i];
                }
                gms[c] = rho[c] * dot;
                grho[c] = ms[c] * dot;
            }
            NTensor Make(double[] v, int[] s) => NTensor.FromArray(v, s, _state.DType, _state.Device);
            return new NTensor?[] { Make(gm, cellShape), Make(gms, _geo.Cells), Make(grho, _geo.Cells) };
        });
    }

    /// <summary>
    /// The cell weights of the projections: w = rho Ms (the source M = w · mean m), wn = (V/2^d) rho Ms (the numerator
    /// of the cell-to-node projection) and wd its mass, equal to wn unless upstream's float32 rounding of (V/2^d) rho is
    /// reproduced.
    /// </summary>
    private (double[] W, double[] Wn, double[] Wd) ProjectionWeights(double[] ms, double[] rho)
    {
        int nc = _geo.NumCells;
        double share = _geo.CellVolume / _geo.Corners;
        var w = new double[nc];
        var wn = new double[nc];
        var wd = new double[nc];
        for (int c = 0; c < nc; c++)
        {
            w[c] = rho[c] * ms[c];
            wn[c] = share * rho[c] * ms[c];
            wd[c] = MassShare(rho[c]) * ms[c];
        }
        return (w, wn, wd);
    }

    /// <summary>(V/2^d) rho, rounded to float32 like upstream's when <c>UpstreamFloat32Mass</c> is set.</summary>
    private double MassShare(double rho)
    {
        double share = _geo.CellVolume / _geo.Corners;
        return _float32Mass ? (double)((float)share * (float)rho) : share * rho;
    }

    // Per (Ms, rho) storages: the weights of the projections and the inverse node mass (no-tape path). Immutable cache
    // entries swapped whole (safe for concurrent readers).
    private WeightsCache? _weights;
    private sealed record WeightsCache(Storage Ms, Storage Rho, double[] W, double[] Wn, double[] InvMass);
    private sealed record DeviceCache(double[] Weights, IDisposable Owner, Func<NTensor, NTensor> Apply);
    private double[]? _sourceBuffer, _cellFieldBuffer, _mBuffer, _hBuffer;
    private DeviceCache? _device;

    /// <summary>
    /// The forward field outside the tape: the cell mean and the weighted node gather run along structured lines, the
    /// weights and node masses are kept while Ms and rho keep their storages, and a float64 m is read in place.
    /// </summary>
    private NTensor FieldNoTape(NTensor[] a, int[] nodeShape)
    {
        if (_weights is not { } wt || !ReferenceEquals(wt.Ms, a[1].Storage) || !ReferenceEquals(wt.Rho, a[2].Storage))
        {
            var (w, wn, wd) = ProjectionWeights(CellValues(a[1], "material__Ms"), CellValues(a[2], "rho"));
            var mass = NodeMass(wd);
            var inv = new double[_geo.NumNodes];
            for (int i = 0; i < inv.Length; i++) inv[i] = ElementAssembler.InverseMass(mass[i]);
            _weights = wt = new WeightsCache(a[1].Storage, a[2].Storage, w, wn, inv);
        }
        // On an ILGPU device: the whole convolution there, with our FFT kernel (built once per weights).
        if (!_state.Device.IsCpu && !_truePbc && a[0].Device == _state.Device && DeviceDemagConvolution.Supports(_kernel!))
        {
            if (_device is not { } dv || dv.Weights != wt.W)
            {
                _device?.Owner.Dispose();
                if (_cuFft && CuFftDemagConvolution.Supports(_state.Device, _kernel!))
                {
                    var cu = new CuFftDemagConvolution(_kernel!, _geo, wt.W, wt.Wn, wt.InvMass, _state.Device);
                    _device = dv = new DeviceCache(wt.W, cu, cu.Apply);
                }
                else
                {
                    var own = new DeviceDemagConvolution(_kernel!, _geo, wt.W, wt.Wn, wt.InvMass, _state.Device);
                    _device = dv = new DeviceCache(wt.W, own, own.Apply);
                }
            }
            return dv.Apply(a[0]);
        }
        // Work arrays taken from (and given back to) the operator, so concurrent calls never share one. A float32 m
        // is converted into a reused float64 array and the float64 field into the float32 result.
        bool ownsResult = _state.DType == DType.Float64 && _state.Device.IsCpu;
        var source = Interlocked.Exchange(ref _sourceBuffer, null) ?? new double[_geo.NumCells * 3];
        var hCell = Interlocked.Exchange(ref _cellFieldBuffer, null) ?? new double[_geo.NumCells * 3];
        var mHost = a[0].Storage is CpuStorage { F64: { } } ? null : Interlocked.Exchange(ref _mBuffer, null) ?? new double[_geo.NumNodes * 3];
        var m = a[0].Storage is CpuStorage { F64: { } f64 } ? f64 : mHost!;
        if (mHost != null) a[0].Device.Backend.ToHost(a[0].Storage, mHost);
        NodeCellTransfer.CellMean(_geo, m, wt.W, source);
        if (_truePbc) hCell = DemagConvolution.ApplyPeriodic(_cells3, _dx, source);
        else DemagConvolution.Apply(_kernel!, source, hCell);
        // The gather writes every element, so a new result array need not be cleared.
        var h = ownsResult ? GC.AllocateUninitializedArray<double>(_geo.NumNodes * 3) : Interlocked.Exchange(ref _hBuffer, null) ?? new double[_geo.NumNodes * 3];
        NodeCellTransfer.NodeGather(_geo, hCell, wt.Wn, wt.InvMass, h);
        _sourceBuffer = source;
        _cellFieldBuffer = hCell;
        if (mHost != null) _mBuffer = mHost;
        if (ownsResult) return new NTensor(new CpuStorage(h), nodeShape);
        var result = NTensor.FromArray(h, nodeShape, _state.DType, _state.Device);
        _hBuffer = h;
        return result;
    }

    public NTensor Field(NTensor[] a)
    {
        var nodeShape = _geo.Nodes.Append(3).ToArray();
        if (!Shapes.Equal(a[0].GetShape(), nodeShape))
            throw new ArgumentException($"DemagField: m has shape {Shapes.Format(a[0].GetShape())}, expected {Shapes.Format(nodeShape)}.");
        if (!Tape.IsRecording(a)) return FieldNoTape(a, nodeShape);
        var m = a[0].ToArray();
        var ms = CellValues(a[1], "material__Ms");
        var rho = CellValues(a[2], "rho");
        int nc = _geo.NumCells, corners = _geo.Corners;
        double share = _geo.CellVolume / corners;
        var (w, wn, wd) = ProjectionWeights(ms, rho);
        var mbar = ToCell(m);
        var source = new double[nc * 3];
        CpuBackend.For(nc, (lo, hi) =>
        {
            for (int c = lo; c < hi; c++)
                for (int i = 0; i < 3; i++) source[c * 3 + i] = w[c] * mbar[c * 3 + i];
        });
        var hCell = Convolve(source);
        // Weighted projection h_i = sum_c wn_c H_c / sum_c wd_c; the derivatives of wd = MassShare(rho) Ms.
        var dwdRho = new double[nc];
        var wdPerMs = new double[nc];
        double dShare = _float32Mass ? (double)(float)share : share;
        for (int c = 0; c < nc; c++)
        {
            wdPerMs[c] = MassShare(rho[c]);
            dwdRho[c] = dShare * ms[c];
        }
        var (h, weightSum) = ToNodeWeighted(hCell, wn, wd);
        var result = NTensor.FromArray(h, nodeShape, _state.DType, _state.Device);
        return Tape.Record(result, a, g =>
        {
            var gv = g.ToArray();
            // Adjoint of the weighted projection: G_c = sum_{i in c} w_c g_i / W_i.
            var gCell = new double[nc * 3];
            var dwn = new double[nc];
            var dwd = new double[nc];
            CpuBackend.For(nc, (lo, hi) =>
            {
                Span<int> nodes = stackalloc int[8];
                for (int c = lo; c < hi; c++)
                {
                    _geo.CornerNodes(c, nodes);
                    for (int k = 0; k < corners; k++)
                    {
                        int node = nodes[k];
                        double inv = ElementAssembler.InverseMass(weightSum[node]);
                        for (int i = 0; i < 3; i++)
                        {
                            double gi = gv[node * 3 + i] * inv;
                            gCell[c * 3 + i] += wn[c] * gi;
                            dwn[c] += gi * hCell[c * 3 + i];
                            dwd[c] -= gi * h[node * 3 + i];
                        }
                    }
                }
            }, 4096);
            var y = Convolve(gCell); // the convolution is self-adjoint
            var gmbar = new double[nc * 3];
            var dsource = new double[nc]; // d/d(rho Ms) through the source M = rho Ms mbar
            for (int c = 0; c < nc; c++)
                for (int i = 0; i < 3; i++)
                {
                    dsource[c] += y[c * 3 + i] * mbar[c * 3 + i];
                    gmbar[c * 3 + i] = w[c] * y[c * 3 + i];
                }
            var gm = ToCellAdjoint(gmbar);
            var gms = new double[nc];
            var grho = new double[nc];
            for (int c = 0; c < nc; c++)
            {
                gms[c] = dsource[c] * rho[c] + dwn[c] * share * rho[c] + dwd[c] * wdPerMs[c];
                grho[c] = dsource[c] * ms[c] + dwn[c] * share * ms[c] + dwd[c] * dwdRho[c];
            }
            NTensor Make(double[] v, int[] s) => NTensor.FromArray(v, s, _state.DType, _state.Device);
            return new NTensor?[] { Make(gm, nodeShape), Make(gms, _geo.Cells), Make(grho, _geo.Cells) };
        });
    }

    /// <summary>Nodes to cells: the value at the cell centre, i.e. the mean of the corners (one-point projection).</summary>
    private double[] ToCell(double[] m)
    {
        var r = new double[_geo.NumCells * 3];
        NodeCellTransfer.CellMean(_geo, m, Ones(_geo.NumCells), r);
        return r;
    }

    /// <summary>Adjoint of <see cref="ToCell"/>: each node gathers 1/2^d of its cells' values.</summary>
    private double[] ToCellAdjoint(double[] g)
    {
        var r = new double[_geo.NumNodes * 3];
        var share = new double[_geo.NumCells];
        Array.Fill(share, 1.0 / _geo.Corners);
        NodeCellTransfer.NodeGather(_geo, g, share, Ones(_geo.NumNodes), r);
        return r;
    }

    /// <summary>
    /// Cells to nodes: h_i = sum_{c at i} wn_c h_c / W_i with the node mass W_i = sum_{c at i} wd_c; returns h and W.
    /// </summary>
    private (double[] H, double[] WeightSum) ToNodeWeighted(double[] hCell, double[] wn, double[] wd)
    {
        var weightSum = NodeMass(wd);
        var inv = new double[weightSum.Length];
        for (int i = 0; i < inv.Length; i++) inv[i] = ElementAssembler.InverseMass(weightSum[i]);
        var r = new double[_geo.NumNodes * 3];
        NodeCellTransfer.NodeGather(_geo, hCell, wn, inv, r);
        return (r, weightSum);
    }

    /// <summary>W_i = sum_{c at i} w_c, as the gather of a unit cell field.</summary>
    private double[] NodeMass(double[] cellWeight)
    {
        var ones = new double[cellWeight.Length * 3];
        Array.Fill(ones, 1.0);
        var mass3 = new double[_geo.NumNodes * 3];
        NodeCellTransfer.NodeGather(_geo, ones, cellWeight, Ones(_geo.NumNodes), mass3);
        var mass = new double[_geo.NumNodes];
        for (int i = 0; i < mass.Length; i++) mass[i] = mass3[3 * i];
        return mass;
    }

    private static double[] Ones(int n)
    {
        var a = new double[n];
        Array.Fill(a, 1.0);
        return a;
    }
}

/// <summary>Demag kernels are expensive to build: one per (grid, cell size, images, p) per process.</summary>
internal static class KernelCache
{
    private static readonly Dictionary<string, DemagKernel> Cache = new();

    public static DemagKernel Get(int[] cells, double[] dx, int[] images, double p)
    {
        var key = $"{string.Join(",", cells)}|{string.Join(",", dx.Select(d => d.ToString("R")))}|{string.Join(",", images)}|{p:R}";
        lock (Cache)
        {
            if (!Cache.TryGetValue(key, out var k)) Cache[key] = k = new DemagKernel(cells, dx, images, p);
            return k;
        }
    }
}
