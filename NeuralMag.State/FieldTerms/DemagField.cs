using NeuralMag.AD;
using NeuralMag.Kernels.Demag;
using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>
/// Demagnetization (stray) field. The nodal m is averaged to cells, M = Ms rho m is convolved with the demag tensor
/// (open boundaries by zero padding, pseudo-PBC by image sums, true PBC on all three axes by the discrete Poisson
/// equation's Fourier-space projector, TruePeriodicDemag.cs), and the cell field is projected back to the nodes weighted by Ms rho. The energy is
/// E = -mu0/2 ∫ Ms m · h_demag dV. Reads material.Ms and rho; h is differentiable with respect to m, Ms and rho.
/// On a batched state (<see cref="State.Batch"/>) m, Ms and rho may each carry a leading member axis; h_demag is then
/// [B] + its shape, member b as it would be alone (one kernel for all members, batched FFT plans).
/// </summary>
public sealed class DemagField : FieldTerm
{
    private readonly double _p;

    /// <summary>A demag term whose tensor uses the exact Newell integrals up to <paramref name="p"/> cell diagonals.</summary>
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
    private readonly int[] _cells3;
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
        var images = Enumerable.Range(0, 3).Select(i => i < mesh.Dim ? mesh.Pbc[i].ImageCount : 0).ToArray();
        // ILGPU devices transform with the radix-2 Stockham kernel (power-of-two lengths); the CPU with FFTW's fast lengths.
        var padding = state.Device.IsCpu ? DemagPadding.Auto : DemagPadding.PowerOfTwo;
        _kernel = truePbc ? KernelCache.GetTruePeriodic(_cells3, mesh.Dx) : KernelCache.Get(_cells3, mesh.Dx, images, p, padding);
    }

    private double[] Convolve(double[] magnetization) => DemagConvolution.Apply(_kernel!, magnetization);

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
        if (BatchMembers(a, cellShape) is > 0 and var members) return BatchedCellField(a, members, cellShape);
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
    /// The per-(Ms, rho) data of the nodal field: the checked cell values, the weights w = rho Ms of the source
    /// M = w · mean m, wn = (V/2^d) rho Ms of the cell-to-node numerator, and the inverse node mass 1/W_i with
    /// W_i = sum_{c at i} wd_c, wd = MassShare(rho) Ms (equal to wn unless upstream's float32 rounding is reproduced).
    /// Kept while Ms and rho keep their storages (a tensor's storage is the version of its values; see StepMemo in
    /// State.cs) or bring the same values; immutable, swapped whole (safe for concurrent readers).
    /// </summary>
    private sealed record Weights(Storage MsStorage, Storage RhoStorage, double[] Ms, double[] Rho, double[] W, double[] Wn, double[] InvMass);

    private Weights? _weights;

    private Weights WeightsOf(NTensor ms, NTensor rho)
    {
        if (_weights is { } wt && ReferenceEquals(wt.MsStorage, ms.Storage) && ReferenceEquals(wt.RhoStorage, rho.Storage)) return wt;
        var msv = CellValues(ms, "material__Ms");
        var rhov = CellValues(rho, "rho");
        // New tensors with the values of the last ones (an argument passed anew, a recomputed attribute) keep the
        // weights and with them the device convolution.
        if (_weights is { } same && same.Ms.AsSpan().SequenceEqual(msv) && same.Rho.AsSpan().SequenceEqual(rhov))
            return _weights = same with { MsStorage = ms.Storage, RhoStorage = rho.Storage };
        return _weights = BuildWeights(ms.Storage, rho.Storage, msv, rhov);
    }

    /// <summary>The <see cref="Weights"/> of checked cell values of Ms and rho (one prepared build).</summary>
    private Weights BuildWeights(Storage msStorage, Storage rhoStorage, double[] msv, double[] rhov)
    {
        int nc = _geo.NumCells;
        double share = _geo.CellVolume / _geo.Corners;
        var w = new double[nc];
        var wn = new double[nc];
        var wd = new double[nc * 3];
        for (int c = 0; c < nc; c++)
        {
            w[c] = rhov[c] * msv[c];
            wn[c] = share * rhov[c] * msv[c];
            wd[3 * c] = wd[3 * c + 1] = wd[3 * c + 2] = MassShare(rhov[c]) * msv[c];
        }
        // W_i as the gather of the cell masses (one vector component would do; the gather moves 3-vectors).
        var mass3 = new double[_geo.NumNodes * 3];
        NodeCellTransfer.NodeGather(_geo, wd, OnesCells(), OnesNodes(), mass3);
        var inv = new double[_geo.NumNodes];
        for (int i = 0; i < inv.Length; i++) inv[i] = ElementAssembler.InverseMass(mass3[3 * i]);
        _state.CountPreparedBuild("demag.weights");
        return new Weights(msStorage, rhoStorage, msv, rhov, w, wn, inv);
    }

    /// <summary>(V/2^d) rho, rounded to float32 like upstream's when <c>UpstreamFloat32Mass</c> is set.</summary>
    private double MassShare(double rho)
    {
        double share = _geo.CellVolume / _geo.Corners;
        return _float32Mass ? (double)((float)share * (float)rho) : share * rho;
    }

    private sealed record DeviceCache(double[] Weights, IDisposable Owner, Func<NTensor, NTensor> Apply);
    private double[]? _sourceBuffer, _cellFieldBuffer, _mBuffer, _hBuffer, _ones;
    private DeviceCache? _device;

    /// <summary>
    /// The nodal field h_i = (1/W_i) sum_{c at i} wn_c H_c with H = N * (w · mean m), the cell mean and the weighted
    /// node gather along structured lines and a float64 m read in place. The work arrays are reused (taken from and
    /// given back to the operator, so concurrent calls never share one), and outside the tape an ILGPU device runs the
    /// whole convolution there. On the tape the forward keeps H and h (and mean m when Ms or rho is on the tape), and the VJP is one convolution of the
    /// projected output gradient (the demag convolution is self-adjoint) between the adjoints of the two transfers.
    /// </summary>
    public NTensor Field(NTensor[] a)
    {
        var nodeShape = _geo.Nodes.Append(3).ToArray();
        if (BatchMembers(a, nodeShape) is > 0 and var members) return BatchedField(a, members, nodeShape);
        if (!Shapes.Equal(a[0].GetShape(), nodeShape))
            throw new ArgumentException($"DemagField: m has shape {Shapes.Format(a[0].GetShape())}, expected {Shapes.Format(nodeShape)}.");
        var wt = WeightsOf(a[1], a[2]);
        bool record = Tape.IsRecording(a);
        // Only the gradients of the inputs on the tape are formed (the design variable is usually rho alone).
        var wanted = record ? new[] { Tape.IsRecording(a[0]), Tape.IsRecording(a[1]), Tape.IsRecording(a[2]) } : null;
        if (!_state.Device.IsCpu && a[0].Device == _state.Device && DeviceDemagConvolution.Supports(_kernel!) && (!record || Tape.IsRecordingOnly(a, 0)))
            return record ? RecordedDeviceField(a, wt) : DeviceField(a[0], wt);
        if (_state.DType == DType.Float32 && _state.Device.IsCpu && a[0].Storage is CpuStorage { F32: { } m32 })
        {
            LastFieldPrecision = DType.Float32;
            if (!record) return SingleField(m32, wt, nodeShape, null);
            // On the tape the forward keeps its float32 cell and node fields, and the VJP computes in float32 too.
            var hCellKept = GC.AllocateUninitializedArray<float>(_geo.NumCells * 3);
            var single = SingleField(m32, wt, nodeShape, hCellKept);
            var hKept = ((CpuStorage)single.Storage).F32!;
            var sw = SingleWeightsOf(wt);
            float[]? mbarKept = null;
            if (wanted![1] || wanted[2])
                NodeCellTransfer.CellMean(_geo, m32, sw.OnesCells, mbarKept = GC.AllocateUninitializedArray<float>(_geo.NumCells * 3));
            return Tape.Record(single, a, g => FieldVjp(g, sw, mbarKept, hCellKept, hKept, nodeShape, wanted));
        }
        LastFieldPrecision = DType.Float64;
        int nc = _geo.NumCells;
        var m = a[0].Storage is CpuStorage { F64: { } f64 } ? f64 : null;
        double[]? mHost = null;
        if (m == null)
        {
            mHost = Interlocked.Exchange(ref _mBuffer, null) ?? new double[_geo.NumNodes * 3];
            a[0].Device.Backend.ToHost(a[0].Storage, mHost);
            m = mHost;
        }
        // The plain cell mean of m is kept for the VJP with respect to Ms or rho (the source, its weighted mean, is
        // computed the same way on and off the tape).
        double[]? mbar = null;
        var source = Interlocked.Exchange(ref _sourceBuffer, null) ?? new double[nc * 3];
        NodeCellTransfer.CellMean(_geo, m, wt.W, source);
        if (record && (wanted![1] || wanted[2])) NodeCellTransfer.CellMean(_geo, m, OnesCells(), mbar = GC.AllocateUninitializedArray<double>(nc * 3));
        if (mHost != null) _mBuffer = mHost;
        var hCell = record ? GC.AllocateUninitializedArray<double>(nc * 3) : Interlocked.Exchange(ref _cellFieldBuffer, null) ?? new double[nc * 3];
        DemagConvolution.Apply(_kernel!, source, hCell);
        // The gather writes every element, so a new array need not be cleared.
        bool ownsResult = _state.DType == DType.Float64 && _state.Device.IsCpu;
        var h = ownsResult || record ? GC.AllocateUninitializedArray<double>(_geo.NumNodes * 3) : Interlocked.Exchange(ref _hBuffer, null) ?? new double[_geo.NumNodes * 3];
        NodeCellTransfer.NodeGather(_geo, hCell, wt.Wn, wt.InvMass, h);
        _sourceBuffer = source;
        if (!record) _cellFieldBuffer = hCell;
        NTensor result;
        if (ownsResult) result = new NTensor(new CpuStorage(h), nodeShape);
        else
        {
            result = NTensor.FromArray(h, nodeShape, _state.DType, _state.Device);
            if (!record) _hBuffer = h;
        }
        if (!record) return result;
        var cellWeights = new CellWeights<double>(wt.W, wt.Wn, wt.InvMass, wt.Ms, wt.Rho, OnesCells(), OnesNodes(), CornerShares());
        return Tape.Record(result, a, g => FieldVjp(g, cellWeights, mbar, hCell, h, nodeShape, wanted!));
    }

    /// <summary>Diagnostic: the precision the last host evaluation of <see cref="Field"/> computed in.</summary>
    internal DType? LastFieldPrecision { get; private set; }

    /// <summary>The demag kernel: Newell's tensor, or the true-PBC projector (<see cref="DemagKernel.IsTruePeriodic"/>).</summary>
    internal DemagKernel? Kernel => _kernel;

    /// <summary>
    /// What the float32 field and every VJP read per cell and node, in the precision T they compute in: the weights
    /// w, wn and 1/W of <see cref="Weights"/>, Ms and rho, and the constant weights of the plain cell mean and its adjoint.
    /// </summary>
    private sealed record CellWeights<T>(T[] W, T[] Wn, T[] InvMass, T[] Ms, T[] Rho, T[] OnesCells, T[] OnesNodes, T[] CornerShares);

    /// <summary>The float32 weights, rounded once, with the float64 weights they came from.</summary>
    private sealed record SingleWeights(Weights Key, CellWeights<float> Values);
    private SingleWeights? _singleWeights;

    /// <summary>The weights rounded once to float32, kept while the float64 weights they came from are current.</summary>
    private CellWeights<float> SingleWeightsOf(Weights wt)
    {
        var sw = Volatile.Read(ref _singleWeights);
        static float[] Round(double[] v) => Array.ConvertAll(v, x => (float)x);
        if (sw == null || !ReferenceEquals(sw.Key, wt))
            Volatile.Write(ref _singleWeights, sw = new SingleWeights(wt, new CellWeights<float>(Round(wt.W), Round(wt.Wn), Round(wt.InvMass),
                Round(wt.Ms), Round(wt.Rho), Round(OnesCells()), Round(OnesNodes()), Round(CornerShares()))));
        return sw.Values;
    }
    private float[]? _sourceSingle, _cellFieldSingle;

    /// <summary>
    /// <see cref="Field"/> of a float32 CPU state off the tape, in float32 throughout: the weighted cell mean of m, the
    /// single-precision convolution (<see cref="DemagConvolution.Apply(DemagKernel, float[], float[])"/>) and the
    /// weighted node gather, with the weights computed in float64 and rounded once.
    /// </summary>
    /// <param name="m">m at the nodes, float32.</param>
    /// <param name="wt">The float64 weights.</param>
    /// <param name="nodeShape">Shape of the result.</param>
    /// <param name="cellFieldOut">When given, receives a copy of the cell field H (kept for a VJP).</param>
    private NTensor SingleField(float[] m, Weights wt, int[] nodeShape, float[]? cellFieldOut)
    {
        var sw = SingleWeightsOf(wt);
        int nc = _geo.NumCells;
        var source = Interlocked.Exchange(ref _sourceSingle, null) ?? new float[nc * 3];
        NodeCellTransfer.CellMean(_geo, m, sw.W, source);
        var hCell = Interlocked.Exchange(ref _cellFieldSingle, null) ?? new float[nc * 3];
        DemagConvolution.Apply(_kernel!, source, hCell);
        if (cellFieldOut != null) hCell.AsSpan().CopyTo(cellFieldOut);
        // The gather writes every element.
        var h = GC.AllocateUninitializedArray<float>(_geo.NumNodes * 3);
        NodeCellTransfer.NodeGather(_geo, hCell, sw.Wn, sw.InvMass, h);
        _sourceSingle = source;
        _cellFieldSingle = hCell;
        return new NTensor(new CpuStorage(h), nodeShape);
    }

    /// <summary>
    /// VJP of <see cref="Field"/> for the output gradient g, computed in T (the state's dtype on the CPU). With
    /// u_i = g_i / W_i and S_c = sum_{i at c} u_i: the cell gradient G_c = wn_c S_c goes through the (self-adjoint)
    /// convolution, Y = N * G, giving dL/dmean m = w Y and dL/dw = Y · mean m; the numerator weight has
    /// dL/dwn_c = S_c · H_c and the node mass dL/dwd_c = -sum_{i at c} u_i · h_i. Both sums over a cell's corners are
    /// cell means (times 2^d) of node fields.
    /// </summary>
    private NTensor?[] FieldVjp<T>(NTensor g, CellWeights<T> wt, T[]? mbar, T[] hCell, T[] h, int[] nodeShape, bool[] wanted)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int nc = _geo.NumCells, nn = _geo.NumNodes, corners = _geo.Corners;
        T cornersT = T.CreateTruncating(corners);
        bool weights = wanted[1] || wanted[2];
        var gv = HostValues<T>(g);
        ref object? slot = ref typeof(T) == typeof(double) ? ref _vjpWork64 : ref _vjpWork32;
        var work = Interlocked.Exchange(ref slot, null) as VjpWork<T> ?? new VjpWork<T>(nn, nc);
        var u = work.U;
        var uh = weights ? work.Uh : null;
        var inv = wt.InvMass;
        ParallelLoop.For(nn, (lo, hi) =>
        {
            for (int i = lo; i < hi; i++)
                for (int k = 0; k < 3; k++)
                {
                    T v = gv[3 * i + k] * inv[i];
                    u[3 * i + k] = v;
                    if (uh != null) uh[3 * i + k] = v * h[3 * i + k];
                }
        }, 4096);
        // S / 2^d and (sum_{i at c} u_i h_i) / 2^d per component as cell means.
        var s = work.S;
        NodeCellTransfer.CellMean(_geo, u, wt.OnesCells, s);
        var q = uh != null ? work.Q : null;
        if (q != null) NodeCellTransfer.CellMean(_geo, uh!, wt.OnesCells, q);
        var gCell = work.GCell;
        var dwn = weights ? work.Dwn : null;
        var dwd = weights ? work.Dwd : null;
        var wn = wt.Wn;
        ParallelLoop.For(nc, (lo, hi) =>
        {
            for (int c = lo; c < hi; c++)
            {
                T sn = T.Zero, sd = T.Zero;
                for (int k = 0; k < 3; k++)
                {
                    T sc = cornersT * s[3 * c + k];
                    gCell[3 * c + k] = wn[c] * sc;
                    if (q != null)
                    {
                        sn += sc * hCell[3 * c + k];
                        sd += q[3 * c + k];
                    }
                }
                if (q != null)
                {
                    dwn![c] = sn;
                    dwd![c] = -cornersT * sd;
                }
            }
        }, 4096);
        // Y = N * G (the demag convolution is self-adjoint), into s (no longer needed).
        var y = Convolve(gCell, s);
        // dL/dmean m = w Y (into gCell); w = rho Ms, wn = (V/2^d) rho Ms, wd = MassShare(rho) Ms.
        var gms = wanted[1] ? new T[nc] : null;
        var grho = wanted[2] ? new T[nc] : null;
        var w = wt.W;
        double shareD = _geo.CellVolume / corners;
        T share = T.CreateTruncating(shareD), dShare = T.CreateTruncating(_float32Mass ? (double)(float)shareD : shareD);
        var msv = wt.Ms;
        var rhov = wt.Rho;
        ParallelLoop.For(nc, (lo, hi) =>
        {
            for (int c = lo; c < hi; c++)
            {
                T dw = T.Zero;
                for (int k = 0; k < 3; k++)
                {
                    if (mbar != null) dw += y[3 * c + k] * mbar[3 * c + k];
                    gCell[3 * c + k] = w[c] * y[3 * c + k];
                }
                if (gms != null) gms[c] = dw * rhov[c] + dwn![c] * share * rhov[c] + dwd![c] * T.CreateTruncating(MassShare(double.CreateTruncating(rhov[c])));
                if (grho != null) grho[c] = dw * msv[c] + dwn![c] * share * msv[c] + dwd![c] * dShare * msv[c];
            }
        }, 4096);
        NTensor? gm = null;
        if (wanted[0])
        {
            // Each node gathers 1/2^d of its cells' values (the adjoint of the cell mean).
            var gmNodes = GC.AllocateUninitializedArray<T>(nn * 3);
            NodeCellTransfer.NodeGather(_geo, gCell, wt.CornerShares, wt.OnesNodes, gmNodes);
            gm = StateTensor(gmNodes, nodeShape);
        }
        Volatile.Write(ref slot, work);
        return new NTensor?[] { gm, gms == null ? null : StateTensor(gms, _geo.Cells), grho == null ? null : StateTensor(grho, _geo.Cells) };
    }

    /// <summary>The work arrays of one VJP, reused by the next (taken and given back whole, so concurrent VJPs never share one).</summary>
    private sealed class VjpWork<T>(int nodes, int cells)
    {
        public readonly T[] U = new T[nodes * 3], Uh = new T[nodes * 3], S = new T[cells * 3], Q = new T[cells * 3], GCell = new T[cells * 3], Dwn = new T[cells], Dwd = new T[cells];
    }

    private object? _vjpWork64, _vjpWork32;

    /// <summary>The values of a host or device tensor as a host array of T (no copy when it already is one).</summary>
    private static T[] HostValues<T>(NTensor x) where T : unmanaged
    {
        if (typeof(T) == typeof(double)) return (T[])(object)(x.Storage is CpuStorage { F64: { } d } ? d : x.ToArray());
        if (x.Storage is CpuStorage { F32: { } f }) return (T[])(object)f;
        return (T[])(object)Array.ConvertAll(x.ToArray(), v => (float)v);
    }

    /// <summary>A host array of T as a tensor of the state's dtype and device (wrapped without a copy when they match).</summary>
    private NTensor StateTensor<T>(T[] v, int[] shape) where T : unmanaged
    {
        if (_state.Device.IsCpu && typeof(T) == typeof(double) && _state.DType == DType.Float64) return new NTensor(new CpuStorage((double[])(object)v), shape);
        if (_state.Device.IsCpu && typeof(T) == typeof(float) && _state.DType == DType.Float32) return new NTensor(new CpuStorage((float[])(object)v), shape);
        return typeof(T) == typeof(double)
            ? NTensor.FromArray((double[])(object)v, shape, _state.DType, _state.Device)
            : NTensor.FromArray((float[])(object)v, shape, _state.DType, _state.Device);
    }

    /// <summary>N * x into <paramref name="into"/> in T.</summary>
    private T[] Convolve<T>(T[] x, T[] into) where T : unmanaged =>
        typeof(T) == typeof(float)
            ? (T[])(object)DemagConvolution.Apply(_kernel!, (float[])(object)x, (float[])(object)into)
            : (T[])(object)DemagConvolution.Apply(_kernel!, (double[])(object)x, (double[])(object)into);

    /// <summary>The field on an ILGPU device: the whole convolution there, with our FFT kernel or cuFFT (built once per weights).</summary>
    private NTensor DeviceField(NTensor m, Weights wt)
    {
        if (_device is not { } dv || dv.Weights != wt.W)
        {
            _device?.Owner.Dispose();
            _device = dv = NewDeviceCache(wt);
        }
        return dv.Apply(m);
    }

    /// <summary>
    /// <see cref="DeviceField"/> on the tape with respect to m alone. The field is h = B N A m with the weighted cell
    /// mean A_cn = w_c/2^d (n a corner of c), the symmetric convolution N and the gather B_nc = wn_c/W_n, so the VJP
    /// Aᵀ N Bᵀ g is the same device convolution with the weights swapped: cell weight 2^d wn, gather weight w/2^d,
    /// unit node mass, applied to g/W (made once per weights).
    /// </summary>
    private NTensor RecordedDeviceField(NTensor[] a, Weights wt)
    {
        var h = DeviceField(a[0], wt);
        if (_deviceAdjoint is not { } adj || adj.Weights != wt.W)
        {
            _deviceAdjoint?.Operator.Dispose();
            _state.CountPreparedBuild("demag.device-adjoint");
            int corners = _geo.Corners;
            var cellWeight = wt.Wn.Select(v => v * corners).ToArray();
            var gatherWeight = wt.W.Select(v => v / corners).ToArray();
            var unit = Enumerable.Repeat(1.0, _geo.NumNodes).ToArray();
            var op = new DeviceDemagConvolution(_kernel!, _geo, cellWeight, gatherWeight, unit, _state.Device);
            var invMass = NTensor.FromArray(wt.InvMass, _geo.Nodes.Append(1).ToArray(), a[0].DType, _state.Device);
            _deviceAdjoint = adj = new DeviceAdjoint(wt.W, op, invMass);
        }
        return Tape.Record(h, a, g => Tape.GradientOfOnly(a.Length, 0, adj.Operator.Apply(g * adj.InvMass)));
    }

    private sealed record DeviceAdjoint(double[] Weights, DeviceDemagConvolution Operator, NTensor InvMass);
    private DeviceAdjoint? _deviceAdjoint;

    /// <summary>A prepared device convolution for the weights (cuFFT or our FFT kernel; one prepared build).</summary>
    private DeviceCache NewDeviceCache(Weights wt)
    {
        _state.CountPreparedBuild("demag.device");
        if (_cuFft && CuFftDemagConvolution.Supports(_state.Device, _kernel!))
        {
            var cu = new CuFftDemagConvolution(_kernel!, _geo, wt.W, wt.Wn, wt.InvMass, _state.Device);
            return new DeviceCache(wt.W, cu, cu.Apply);
        }
        var own = new DeviceDemagConvolution(_kernel!, _geo, wt.W, wt.Wn, wt.InvMass, _state.Device);
        return new DeviceCache(wt.W, own, own.Apply);
    }

    // ---------------------------------------------------------------- the batch axis

    /// <summary>
    /// B when the state is batched and m, Ms or rho carries a leading member axis ([B] + its member shape, size-1
    /// member axes broadcasting), else 0: then the single-system code runs unchanged.
    /// </summary>
    private int BatchMembers(NTensor[] a, int[] mShape)
    {
        if (_state.Batch is not int batch) return 0;
        int m = Batch.Members(a[0], mShape, "m", batch);
        int ms = Batch.Members(a[1], _geo.Cells, "material__Ms", batch);
        int rho = Batch.Members(a[2], _geo.Cells, "rho", batch);
        return Math.Max(m, Math.Max(ms, rho));
    }

    /// <summary>The cell values of member b of a cell parameter (shared: the parameter itself), checked.</summary>
    private double[] MemberCellValues(NTensor t, int b, string what)
    {
        if (Batch.Members(t, _geo.Cells, what) == 0) return CellValues(t, what);
        return CellValues(Batch.Full(t.Slice(0, b, b + 1).Squeeze(0), _geo.Cells, 0), what);
    }

    /// <summary>The per-member weights of a batch, kept while Ms and rho keep their storages (per member: while it keeps its values).</summary>
    private sealed record BatchWeights(Storage MsStorage, Storage RhoStorage, Weights[] Members);
    private BatchWeights? _batchWeights;

    /// <summary>
    /// The weights of each member: shared Ms and rho give one <see cref="Weights"/> for every member (one build, the
    /// cache of the single system); a per-member Ms or rho gives one per member, each rebuilt only when its values change.
    /// </summary>
    private Weights[] MemberWeights(NTensor ms, NTensor rho, int members)
    {
        bool perMember = Batch.Members(ms, _geo.Cells, "material__Ms") > 0 || Batch.Members(rho, _geo.Cells, "rho") > 0;
        if (!perMember)
        {
            var shared = WeightsOf(ms, rho);
            return Enumerable.Repeat(shared, members).ToArray();
        }
        var last = Volatile.Read(ref _batchWeights);
        if (last is { } bw && bw.Members.Length == members && ReferenceEquals(bw.MsStorage, ms.Storage) && ReferenceEquals(bw.RhoStorage, rho.Storage)) return bw.Members;
        var result = new Weights[members];
        for (int b = 0; b < members; b++)
        {
            var msv = MemberCellValues(ms, b, "material__Ms");
            var rhov = MemberCellValues(rho, b, "rho");
            result[b] = last is { } prev && prev.Members.Length == members && prev.Members[b].Ms.AsSpan().SequenceEqual(msv) && prev.Members[b].Rho.AsSpan().SequenceEqual(rhov)
                ? prev.Members[b] : BuildWeights(ms.Storage, rho.Storage, msv, rhov);
        }
        Volatile.Write(ref _batchWeights, new BatchWeights(ms.Storage, rho.Storage, result));
        return result;
    }

    private CellWeights<double> DoubleCellWeights(Weights wt) => new(wt.W, wt.Wn, wt.InvMass, wt.Ms, wt.Rho, OnesCells(), OnesNodes(), CornerShares());

    /// <summary>The float32 weights of each member's float64 weights (rounded once per weights).</summary>
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<Weights, CellWeights<float>> _memberSingleWeights = new();

    private CellWeights<float> SingleCellWeights(Weights wt)
    {
        static float[] Round(double[] v) => Array.ConvertAll(v, x => (float)x);
        return _memberSingleWeights.GetValue(wt, w => new CellWeights<float>(Round(w.W), Round(w.Wn), Round(w.InvMass),
            Round(w.Ms), Round(w.Rho), Round(OnesCells()), Round(OnesNodes()), Round(CornerShares())));
    }

    /// <summary>
    /// The nodal field of a batch, [B] + node shape: member b is <see cref="Field"/> of member b alone (its m, Ms and
    /// rho, shared ones read by every member). On the host, the cell means and node gathers run per member (members in
    /// parallel) around one batched convolution (<see cref="DemagConvolution.ApplyBatch(DemagKernel, double[][], double[][], bool[])"/>:
    /// batched FFTW plans over the component grids of cache-sized chunks of members, the shared kernel spectra or true-PBC
    /// projector).
    /// On an ILGPU device off the tape, one prepared device convolution per distinct weights serves its members one
    /// after the other. On the tape the VJP pulls back member by member (the single-system VJP, members in parallel).
    /// </summary>
    private NTensor BatchedField(NTensor[] a, int members, int[] nodeShape)
    {
        var wts = MemberWeights(a[1], a[2], members);
        bool mBatched = Batch.Members(a[0], nodeShape, "m") > 0;
        bool record = Tape.IsRecording(a);
        var wanted = record ? new[] { Tape.IsRecording(a[0]), Tape.IsRecording(a[1]), Tape.IsRecording(a[2]) } : null;
        if (!record && !_state.Device.IsCpu && a[0].Device == _state.Device && DeviceDemagConvolution.Supports(_kernel!))
            return BatchedDeviceField(a[0], mBatched, wts, members, nodeShape);
        if (_state.DType == DType.Float32 && _state.Device.IsCpu && a[0].Storage is CpuStorage { F32: { } m32 })
        {
            LastFieldPrecision = DType.Float32;
            return BatchedHostField(a, m32, mBatched, wts.Select(SingleCellWeights).ToArray(), members, nodeShape, wanted);
        }
        LastFieldPrecision = DType.Float64;
        var m = a[0].Storage is CpuStorage { F64: { } f64 } ? f64 : null;
        if (m == null)
        {
            m = new double[a[0].Size];
            a[0].Device.Backend.ToHost(a[0].Storage, m);
        }
        return BatchedHostField(a, m, mBatched, wts.Select(DoubleCellWeights).ToArray(), members, nodeShape, wanted);
    }

    /// <summary>
    /// The per-member work arrays of a batched host evaluation off the tape (m copied out of the batch, the source
    /// M_b, the cell field H_b, the node field h_b), reused by the next one (taken and given back whole).
    /// </summary>
    private sealed class BatchWork<T>(int members, int nodes3, int cells3)
    {
        public readonly T[][] M = Make(members, nodes3), Source = Make(members, cells3), Cell = Make(members, cells3), Node = Make(members, nodes3);
        public int Members => M.Length;
        private static T[][] Make(int members, int n) => Enumerable.Range(0, members).Select(_ => new T[n]).ToArray();
    }

    private object? _batchWork64, _batchWork32;

    /// <summary><see cref="BatchedField"/> on the host in T (the state's dtype on the CPU, else float64).</summary>
    private NTensor BatchedHostField<T>(NTensor[] a, T[] m, bool mBatched, CellWeights<T>[] cw, int members, int[] nodeShape, bool[]? wanted)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int nc3 = _geo.NumCells * 3, nn3 = _geo.NumNodes * 3;
        bool record = wanted != null;
        ref object? slot = ref typeof(T) == typeof(double) ? ref _batchWork64 : ref _batchWork32;
        var work = Interlocked.Exchange(ref slot, null) as BatchWork<T> is { } w && w.Members == members ? w : new BatchWork<T>(members, nn3, nc3);
        // On the tape the cell and node fields are kept for the VJP: arrays of their own.
        var hCells = record ? Enumerable.Range(0, members).Select(_ => GC.AllocateUninitializedArray<T>(nc3)).ToArray() : work.Cell;
        var hNodes = record ? Enumerable.Range(0, members).Select(_ => GC.AllocateUninitializedArray<T>(nn3)).ToArray() : work.Node;
        var mbar = record && (wanted![1] || wanted[2]) ? new T[members][] : null;
        // Off the tape, a member whose m block and weights are those of the last batch (a converged member of a
        // relaxation) takes its block of the last field: no transfer, no transform (MemberReuses counts it).
        var last = record || !mBatched ? null : Volatile.Read(ref _lastBatch);
        if (last != null && (last.M is not T[] || last.M.Length != m.Length || last.W.Length != members || last.Kernel != _kernel)) last = null;
        var (lastM, lastH) = (last?.M as T[], last?.H as T[]);
        var reuse = new bool[members];
        ParallelMembers(members, b =>
        {
            if (lastM != null && ReferenceEquals(last!.W[b], cw[b].W) && MemberMemo.BlockEquals(m, b * nn3, lastM, b * nn3, nn3))
            {
                reuse[b] = true;
                return;
            }
            var mb = m;
            if (mBatched) m.AsSpan(b * nn3, nn3).CopyTo(mb = work.M[b]);
            NodeCellTransfer.CellMean(_geo, mb, cw[b].W, work.Source[b]);
            if (mbar != null) NodeCellTransfer.CellMean(_geo, mb, cw[b].OnesCells, mbar[b] = GC.AllocateUninitializedArray<T>(nc3));
        });
        int reused = reuse.Count(r => r);
        if (typeof(T) == typeof(float)) DemagConvolution.ApplyBatch(_kernel!, (float[][])(object)work.Source, (float[][])(object)hCells, reused > 0 ? reuse : null);
        else DemagConvolution.ApplyBatch(_kernel!, (double[][])(object)work.Source, (double[][])(object)hCells, reused > 0 ? reuse : null);
        var hAll = GC.AllocateUninitializedArray<T>(members * nn3);
        ParallelMembers(members, b =>
        {
            if (reuse[b])
            {
                Array.Copy(lastH!, b * nn3, hAll, b * nn3, nn3);
                return;
            }
            // The gather writes every element.
            NodeCellTransfer.NodeGather(_geo, hCells[b], cw[b].Wn, cw[b].InvMass, hNodes[b]);
            hNodes[b].CopyTo(hAll, b * nn3);
        });
        Volatile.Write(ref slot, work);
        _state.CountMemberReuses(nameof(DemagField), reused);
        if (!record && mBatched) Volatile.Write(ref _lastBatch, new LastBatch(m, hAll, cw.Select(c => (Array)c.W).ToArray(), _kernel));
        var result = StateTensor(hAll, Batch.Prepend(members, nodeShape));
        if (!record) return result;
        return Tape.Record(result, a, g =>
        {
            var parts = new NTensor?[members][];
            void Member(int b) => parts[b] = FieldVjp(g.Slice(0, b, b + 1).Squeeze(0), cw[b], mbar?[b], hCells[b], hNodes[b], nodeShape, wanted!);
            // Members in parallel on the CPU; a device's queue takes its tensors from one thread.
            if (_state.Device.IsCpu) Parallel.For(0, members, Member);
            else for (int b = 0; b < members; b++) Member(b);
            // Stacked per member; a shared input's gradient is the sum over members (the tape sums to its shape).
            NTensor? Join(int i) => parts[0][i] == null ? null : NTensor.Stack(0, parts.Select(p => p[i]!).ToArray());
            return new[] { Join(0), Join(1), Join(2) };
        });
    }

    /// <summary>The last batched field off the tape: m and h (arrays no one writes again), each member's weights, the kernel.</summary>
    private sealed record LastBatch(Array M, Array H, Array[] W, DemagKernel? Kernel);
    private LastBatch? _lastBatch;

    /// <summary>Runs the member loop in parallel when there are several members (each member writes only its own arrays).</summary>
    private static void ParallelMembers(int members, Action<int> body)
    {
        if (members == 1 || Environment.ProcessorCount == 1) for (int b = 0; b < members; b++) body(b);
        else Parallel.For(0, members, body);
    }

    /// <summary>
    /// The batched nodal field on an ILGPU device: members one after the other through the prepared device
    /// convolution of their weights (one for shared Ms and rho, one per member otherwise; kept across calls).
    /// </summary>
    private NTensor BatchedDeviceField(NTensor m, bool mBatched, Weights[] wts, int members, int[] nodeShape)
    {
        var caches = _memberDevices;
        if (caches == null || caches.Length != members || Enumerable.Range(0, members).Any(b => caches[b].Weights != wts[b].W))
        {
            var next = new DeviceCache[members];
            var kept = new Dictionary<double[], DeviceCache>(ReferenceEqualityComparer.Instance);
            if (caches != null) foreach (var c in caches) kept.TryAdd(c.Weights, c);
            var used = new HashSet<DeviceCache>();
            for (int b = 0; b < members; b++)
            {
                if (!kept.TryGetValue(wts[b].W, out var dc)) kept[wts[b].W] = dc = NewDeviceCache(wts[b]);
                next[b] = dc;
                used.Add(dc);
            }
            foreach (var c in kept.Values)
                if (!used.Contains(c)) c.Owner.Dispose();
            _memberDevices = caches = next;
        }
        var parts = new NTensor[members];
        for (int b = 0; b < members; b++)
            parts[b] = caches[b].Apply(mBatched ? m.Slice(0, b, b + 1).Squeeze(0) : m);
        return NTensor.Stack(0, parts);
    }

    private DeviceCache[]? _memberDevices;

    /// <summary>
    /// FIC on a batch: h_b = C(rho_b Ms_b m_b) for every member with one batched convolution; the VJP convolves the batched output gradient the same way (the operator is self-adjoint).
    /// </summary>
    private NTensor BatchedCellField(NTensor[] a, int members, int[] cellShape)
    {
        int nc = _geo.NumCells, nc3 = nc * 3;
        bool mBatched = Batch.Members(a[0], cellShape, "m") > 0;
        var m = a[0].ToArray();
        var ms = new double[members][];
        var rho = new double[members][];
        var source = new double[members * nc3];
        for (int b = 0; b < members; b++)
        {
            ms[b] = MemberCellValues(a[1], b, "material__Ms");
            rho[b] = MemberCellValues(a[2], b, "rho");
            int mo = mBatched ? b * nc3 : 0;
            for (int c = 0; c < nc; c++)
                for (int i = 0; i < 3; i++) source[b * nc3 + c * 3 + i] = rho[b][c] * ms[b][c] * m[mo + c * 3 + i];
        }
        double[] ConvolveAll(double[] x) => DemagConvolution.ApplyBatch(_kernel!, x, members);
        var shape = Batch.Prepend(members, cellShape);
        var result = NTensor.FromArray(ConvolveAll(source), shape, _state.DType, _state.Device);
        if (!Tape.IsRecording(a)) return result;
        return Tape.Record(result, a, g =>
        {
            var y = ConvolveAll(g.ToArray());
            var gm = new double[members * nc3];
            var gms = new double[members * nc];
            var grho = new double[members * nc];
            for (int b = 0; b < members; b++)
            {
                int mo = mBatched ? b * nc3 : 0;
                for (int c = 0; c < nc; c++)
                {
                    double dot = 0;
                    for (int i = 0; i < 3; i++)
                    {
                        gm[b * nc3 + c * 3 + i] = rho[b][c] * ms[b][c] * y[b * nc3 + c * 3 + i];
                        dot += m[mo + c * 3 + i] * y[b * nc3 + c * 3 + i];
                    }
                    gms[b * nc + c] = rho[b][c] * dot;
                    grho[b * nc + c] = ms[b][c] * dot;
                }
            }
            NTensor Make(double[] v, int[] s) => NTensor.FromArray(v, s, _state.DType, _state.Device);
            var cells = Batch.Prepend(members, _geo.Cells);
            return new NTensor?[] { Make(gm, shape), Make(gms, cells), Make(grho, cells) };
        });
    }

    private double[]? _onesNodes;
    private double[] OnesCells() => _ones ??= Ones(_geo.NumCells);
    private double[] OnesNodes() => _onesNodes ??= Ones(_geo.NumNodes);

    private double[]? _cornerShares;
    private double[] CornerShares()
    {
        if (_cornerShares != null) return _cornerShares;
        var r = new double[_geo.NumCells];
        Array.Fill(r, 1.0 / _geo.Corners);
        return _cornerShares = r;
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

    /// <summary>The true-PBC kernel of the grid (<see cref="DemagKernel.TruePeriodic"/>), made once per grid.</summary>
    public static DemagKernel GetTruePeriodic(int[] cells, double[] dx)
    {
        var key = $"true-pbc|{string.Join(",", cells)}|{string.Join(",", dx.Select(d => d.ToString("R")))}";
        lock (Cache)
        {
            if (!Cache.TryGetValue(key, out var k)) Cache[key] = k = DemagKernel.TruePeriodic(cells, dx);
            return k;
        }
    }

    public static DemagKernel Get(int[] cells, double[] dx, int[] images, double p, DemagPadding padding)
    {
        var key = $"{string.Join(",", cells)}|{string.Join(",", dx.Select(d => d.ToString("R")))}|{string.Join(",", images)}|{p:R}|{padding}";
        lock (Cache)
        {
            if (!Cache.TryGetValue(key, out var k)) Cache[key] = k = new DemagKernel(cells, dx, images, p, padding: padding);
            return k;
        }
    }
}
