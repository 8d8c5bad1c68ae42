using NeuralMag.AD;
using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>
/// The tensor operations of one registered term: converts state tensors to the assembler's arrays and back, and
/// records the energy and field on the tape with their vector-Jacobian products. With FIC (m on cells) m is first
/// projected to the nodes (rho-weighted mean of the adjacent cells, as upstream) and h and e are averaged back to cells.
/// Densities quadratic in (m, grad m) run through precomputed element operators
/// (<see cref="QuadraticElementOperator"/>); the others through the generic dual-number assembler.
/// On a batched state (<see cref="State.Batch"/>) an argument of shape [B] + its member shape is per member and the
/// outputs gain the leading axis: members run one by one on their slices (<see cref="Batch.Map"/>, concurrently
/// when nothing records), through this operator's prepared inputs when the parameters, rho and Ms are shared, else through
/// one member operator per member with its own caches (sharing this operator's element operators when only rho or Ms
/// differ per member).
/// </summary>
internal sealed class FieldTermOperator
{
    private readonly State _state;
    private readonly EnergyDensity _density;
    private readonly ElementAssembler _asm;
    private readonly string _term;
    private readonly int _nParams, _nNodal, _rhoIndex;
    private readonly bool _fic, _useOperators;
    private readonly Projections _proj;
    // A member operator whose parameters are shared by the batch reads them (and their element operators) from here.
    private readonly FieldTermOperator? _parameterOwner;
    private readonly object _buildLock = new();
    // Member operators of a batch: [0] with their own parameters, [1] reading the shared ones from this operator.
    private readonly FieldTermOperator[]?[] _members = new FieldTermOperator[]?[2];

    // The last inputs seen. Tensor storages are immutable, so the same storage means the same values.
    private ParamCache? _params;
    // Cache entries are immutable objects swapped whole, so a concurrent reader never sees a key with another's values.
    private ValuesCache? _rho, _ms;
    private MassCache? _mass;

    private sealed record ValuesCache(Storage Key, double[] Values);
    private sealed record MassCache(double[] Ms, double[] Rho, double[] Values);
    private sealed record DeviceCache(QuadraticElementOperator Op, double[] Rho, double[] Mass, DeviceElementOperator Operator, NTensor Scale);

    private sealed record ParamCache(Storage[] Keys, double[][] Values, QuadraticElementOperator? Op);

    public FieldTermOperator(State state, EnergyDensity density, int gaussPoints, string term, IReadOnlyList<string> nodalAttributes, bool useOperators)
    {
        _state = state;
        _density = density;
        _term = term;
        _useOperators = useOperators;
        var mesh = state.Mesh;
        _asm = new ElementAssembler(mesh.Geometry, gaussPoints);
        _proj = new Projections(_asm.Geometry, float32Mass: true);
        _fic = state.M.Spaces.All(c => c == 'c');
        _nParams = density.Parameters.Count;
        _nNodal = nodalAttributes.Count;
        _rhoIndex = 1 + _nParams + _nNodal;
        var core = new List<string> { "m" };
        core.AddRange(density.Parameters.Select(p => p.Name));
        core.AddRange(nodalAttributes);
        core.Add("rho");
        EnergyParameters = core.ToArray();
        FieldParameters = core.Contains("material__Ms") ? EnergyParameters : core.Append("material__Ms").ToArray();
    }

    /// <summary>A member operator of a batch: the same term with caches of its own.</summary>
    /// <param name="parent">The batch's operator.</param>
    /// <param name="shareParameters">Read the density's parameters and element operators from <paramref name="parent"/>.</param>
    private FieldTermOperator(FieldTermOperator parent, bool shareParameters)
    {
        _state = parent._state;
        _density = parent._density;
        _term = parent._term;
        _useOperators = parent._useOperators;
        _asm = parent._asm;
        _proj = parent._proj;
        _fic = parent._fic;
        _nParams = parent._nParams;
        _nNodal = parent._nNodal;
        _rhoIndex = parent._rhoIndex;
        EnergyParameters = parent.EnergyParameters;
        FieldParameters = parent.FieldParameters;
        _parameterOwner = shareParameters ? parent : null;
    }

    /// <summary>
    /// Member by member on a batched state when some argument has a batch axis; null when none has one (then the
    /// operator runs as on an unbatched state, the same code path). Shared parameters, rho and Ms: every member runs
    /// through this operator, whose prepared inputs (parameters, element operators, mass, device operator) are made
    /// once here before the members run; a batched field on an ILGPU device is then one kernel over the batch.
    /// Per-member parameters, rho or Ms: member b runs through member operator b, built once and kept.
    /// </summary>
    /// <param name="a">The arguments, named by <paramref name="names"/>.</param>
    /// <param name="names">The attribute names of the arguments (EnergyParameters or FieldParameters).</param>
    /// <param name="member">Evaluates one member on an operator.</param>
    /// <param name="field">The field h (may take the batched device kernel).</param>
    private NTensor? InBatch(NTensor[] a, string[] names, Func<FieldTermOperator, NTensor[], NTensor> member, bool field = false)
    {
        long reused = FieldMemo.Reused;
        var result = InBatchCore(a, names, member, field);
        _state.CountMemberReuses(_term, FieldMemo.Reused - reused);
        return result;
    }

    private NTensor? InBatchCore(NTensor[] a, string[] names, Func<FieldTermOperator, NTensor[], NTensor> member, bool field)
    {
        if (_state.Batch is not int members) return null;
        var shapes = MemberShapes(a.Length);
        bool any = false, ownParameters = false, ownCells = false;
        for (int i = 0; i < a.Length; i++)
        {
            if (Batch.Members(a[i], shapes[i]!, names[i], members) == 0) continue;
            any = true;
            if (i >= 1 && i <= _nParams) ownParameters = true;
            else if (i >= _rhoIndex) ownCells = true;
        }
        if (!any) return null;
        bool parallel = _state.Device.IsCpu;
        if (!ownParameters && !ownCells)
        {
            Prepare(a, names);
            if (field && (OnDevice(a, members) ?? HostBatchField(a, members)) is { } whole) return whole;
            return Batch.Map(members, a, shapes, (_, x) => member(this, x), parallel, field ? FieldMemo : null);
        }
        if (!ownParameters) Parameters(a);
        var ops = MemberOperators(members, shareParameters: !ownParameters);
        return Batch.Map(members, a, shapes, (b, x) => member(ops[b], x), parallel, field ? FieldMemo : null);
    }

    /// <summary>
    /// The field of a batch on the host into one output array, when the members share every input but m, the density
    /// has element operators, m is nodal and nothing records: member b's block of m is assembled in place into its block
    /// of the output by the loop a single evaluation runs (float64, or float32 on a float32 state, as
    /// <see cref="SingleField"/>), members concurrently; null otherwise.
    /// </summary>
    private NTensor? HostBatchField(NTensor[] a, int members)
    {
        if (!_state.Device.IsCpu || _fic || !_useOperators || Tape.IsRecording(a)) return null;
        var shape = Batch.Prepend(members, MShape);
        if (!Shapes.Equal(a[0].GetShape(), shape)) return null;
        if (OperatorInputs(a) is not var (_, op, rho, mass)) return null;
        int size = 3 * Geo.NumNodes;
        // The last batch evaluated with these shared inputs: a member whose block of m is unchanged bit for bit
        // takes its block of the last field (FieldMemo counts it).
        var last = Volatile.Read(ref _lastBatch);
        if (last != null && (last.Op != op || last.Rho != rho || last.Mass != mass || last.M.Length != a[0].Size)) last = null;
        void EachMember(Action<int> member)
        {
            if (members > 1) Parallel.For(0, members, member);
            else member(0);
        }
        switch (a[0].Storage)
        {
            case CpuStorage { F64: { } m } when _state.DType == DType.Float64:
            {
                var h = GC.AllocateUninitializedArray<double>(m.Length);
                var (lastM, lastH) = (last?.M as double[], last?.H as double[]);
                EachMember(b =>
                {
                    if (lastM != null && MemberMemo.BlockEquals(m, b * size, lastM, b * size, size))
                    {
                        Array.Copy(lastH!, b * size, h, b * size, size);
                        FieldMemo.CountReused();
                        return;
                    }
                    _asm.AssembleQuadraticMember(op, m, b, rho, h);
                    FieldFromGradient(h, mass, b * size);
                });
                LastFieldPrecision = DType.Float64;
                Volatile.Write(ref _lastBatch, new LastBatch(m, h, op, rho, mass));
                return new NTensor(new CpuStorage(h), shape);
            }
            case CpuStorage { F32: { } m } when _state.DType == DType.Float32:
            {
                var rs = Volatile.Read(ref _rhoSingle);
                if (rs == null || !ReferenceEquals(rs.Key, rho)) Volatile.Write(ref _rhoSingle, rs = new SingleRho(rho, Array.ConvertAll(rho, v => (float)v)));
                var h = GC.AllocateUninitializedArray<float>(m.Length);
                var (lastM, lastH) = (last?.M as float[], last?.H as float[]);
                EachMember(b =>
                {
                    if (lastM != null && MemberMemo.BlockEquals(m, b * size, lastM, b * size, size))
                    {
                        Array.Copy(lastH!, b * size, h, b * size, size);
                        FieldMemo.CountReused();
                        return;
                    }
                    _asm.AssembleQuadraticMember(op, m, b, rs.Values, h);
                    FieldFromGradient(h, mass, b * size);
                });
                LastFieldPrecision = DType.Float32;
                Volatile.Write(ref _lastBatch, new LastBatch(m, h, op, rho, mass));
                return new NTensor(new CpuStorage(h), shape);
            }
            default:
                return null;
        }
    }

    /// <summary>
    /// The batch's field memo: members whose inputs did not change since their last evaluation (converged members of
    /// a relaxation) take their last field (<see cref="MemberMemo"/>); <see cref="MemberMemo.Reused"/> counts them.
    /// </summary>
    internal MemberMemo FieldMemo { get; } = new();

    /// <summary>The last batched field of <see cref="HostBatchField"/>: m and h (immutable arrays) and the shared inputs.</summary>
    private sealed record LastBatch(Array M, Array H, QuadraticElementOperator Op, double[] Rho, double[] Mass);
    private LastBatch? _lastBatch;

    /// <summary>Per argument (m, parameters, nodal fields, rho, then Ms when the field takes it) its member shape.</summary>
    private int[]?[] MemberShapes(int count)
    {
        var s = new int[]?[count];
        s[0] = MShape;
        for (int i = 0; i < _nParams; i++) s[1 + i] = ParamShape(i);
        for (int i = 0; i < _nNodal; i++) s[1 + _nParams + i] = MShape;
        for (int i = _rhoIndex; i < count; i++) s[i] = Geo.Cells;
        return s;
    }

    /// <summary>The member operators of a batch of <paramref name="members"/>, built on first use and kept.</summary>
    private FieldTermOperator[] MemberOperators(int members, bool shareParameters)
    {
        int k = shareParameters ? 1 : 0;
        if (_members[k] is { } ops && ops.Length == members) return ops;
        ops = new FieldTermOperator[members];
        for (int b = 0; b < members; b++) ops[b] = new FieldTermOperator(this, shareParameters);
        return _members[k] = ops;
    }


    /// <summary>
    /// Every input the members will read from this operator's caches, made now on one thread, so that members running
    /// concurrently only read them (and nothing is built twice).
    /// </summary>
    private void Prepare(NTensor[] a, string[] names)
    {
        var pc = Parameters(a);
        var rho = Cached(ref _rho, a[_rhoIndex], "rho");
        if (!ReferenceEquals(names, FieldParameters)) return;
        int msIndex = Array.IndexOf(FieldParameters, "material__Ms");
        var ms = msIndex >= 1 && msIndex <= _nParams ? pc.Values[msIndex - 1] : Cached(ref _ms, a[msIndex], "material__Ms");
        Mass(ms, rho);
        if (_state.DType == DType.Float32 && _state.Device.IsCpu)
        {
            var rs = Volatile.Read(ref _rhoSingle);
            if (rs == null || !ReferenceEquals(rs.Key, rho)) Volatile.Write(ref _rhoSingle, new SingleRho(rho, Array.ConvertAll(rho, v => (float)v)));
        }
    }

    /// <summary>Attribute names E takes: m, the density's parameters, its nodal fields, rho.</summary>
    public string[] EnergyParameters { get; }

    /// <summary>Attribute names h and e take: those of E plus material__Ms (for the mass).</summary>
    public string[] FieldParameters { get; }

    private GridGeometry Geo => _asm.Geometry;
    private int[] NodeVectorShape => Geo.Nodes.Append(3).ToArray();
    private int[] CellVectorShape => Geo.Cells.Append(3).ToArray();
    /// <summary>Shape of m and of the outputs: nodes, or cells with FIC.</summary>
    private int[] MShape => _fic ? CellVectorShape : NodeVectorShape;

    private double[]? _mHost, _gHost;

    /// <summary>The values converted into <paramref name="buffer"/> (taken from the operator; given back after the call).</summary>
    private static double[] HostInto(NTensor t, double[]? buffer)
    {
        if (buffer == null || buffer.Length != t.Size) buffer = new double[t.Size];
        t.Device.Backend.ToHost(t.Storage, buffer);
        return buffer;
    }

    /// <summary>The values on the host; a float64 CPU tensor is read in place (never written).</summary>
    private static double[] Host(NTensor t) => t.Storage is CpuStorage { F64: { } a } ? a : t.ToArray();

    private double[] FieldValues(NTensor t, string what)
    {
        var expect = MShape;
        if (Shapes.Equal(t.GetShape(), expect)) return Host(t);
        if (t.Rank == 1 && t.Size == 3) return t.Expand(expect).ToArray();
        throw new ArgumentException($"{_term}: '{what}' has shape {Shapes.Format(t.GetShape())}, expected {Shapes.Format(expect)} (or (3,)).");
    }

    private double[] CellValues(NTensor t, string what, int width)
    {
        var cellShape = width == 1 ? Geo.Cells : Geo.Cells.Append(width).ToArray();
        var shape = t.GetShape();
        if (Shapes.Equal(shape, cellShape)) return CheckFinite(Host(t), what, width);
        bool scalarLike = t.Size == 1 && width == 1;
        bool vectorLike = width > 1 && t.Rank == 1 && t.Size == width;
        if (scalarLike || vectorLike) return CheckFinite(t.Reshape(width == 1 ? Array.Empty<int>() : new[] { width }).Expand(cellShape).ToArray(), what, width);
        throw new ArgumentException($"{_term}: material parameter '{what}' has shape {Shapes.Format(shape)}, expected a cell function of shape {Shapes.Format(cellShape)}" +
                                    (width == 1 ? " or a scalar." : $" or a vector of length {width}."));
    }

    /// <summary>
    /// Refuses a NaN or infinite material value or rho (it would spread to every field) and a negative Ms; runs once
    /// per new parameter storage, as the values are cached by storage. rho may be negative: it only weighs the
    /// density, and finite differences or unclipped optimization steps pass through rho &lt; 0.
    /// </summary>
    private double[] CheckFinite(double[] values, string what, int width)
    {
        bool nonNegative = what == "material__Ms";
        for (int i = 0; i < values.Length; i++)
        {
            double v = values[i];
            if (double.IsFinite(v) && !(nonNegative && v < 0)) continue;
            throw new ArgumentException($"{_term}: '{what}' is {v} in cell {i / width} (flat index); " +
                                        (nonNegative ? "it must be finite and 0 or more (0 = empty cell)." : "material parameters must be finite."), what);
        }
        return values;
    }

    /// <summary>The assembler's inputs: nodal m (projected from cells with FIC) and the rest.</summary>
    private sealed record Prepared(double[] MNode, double[] MOwn, double[][] P, double[][] N, double[] Rho, double[]? Denominators, QuadraticElementOperator? Op)
    {
        /// <summary>m's host buffer when it came from the operator's pool (float32, no tape); given back after the call.</summary>
        public double[]? PooledM { get; init; }
    }

    /// <param name="a">The operator's arguments: m, then the density's cell parameters, then its nodal fields.</param>
    /// <param name="reuse">Nothing will keep the inputs (no tape): a float32 m may be converted into a reused buffer.</param>
    private Prepared Inputs(NTensor[] a, bool reuse = false)
    {
        var rho = Cached(ref _rho, a[_rhoIndex], "rho");
        bool pooled = reuse && a[0].DType != DType.Float64 && Shapes.Equal(a[0].GetShape(), MShape);
        var mOwn = pooled ? HostInto(a[0], Interlocked.Exchange(ref _mHost, null)) : FieldValues(a[0], "m");
        double[]? den = null;
        var mNode = _fic ? _proj.CellsToNodes(mOwn, 3, rho, out den) : mOwn;
        var pc = Parameters(a);
        var n = new double[_nNodal][];
        for (int i = 0; i < _nNodal; i++) n[i] = FieldValues(a[1 + _nParams + i], EnergyParameters[1 + _nParams + i]);
        return new Prepared(mNode, mOwn, pc.Values, n, rho, den, pc.Op) { PooledM = pooled ? mOwn : null };
    }

    /// <summary>
    /// A scalar cell function's values, converted once per storage. Tensors are immutable, so the storage is the
    /// version of the values: a state attribute keeps its storage until it is assigned (attributes computed from
    /// others, like rho from the domains, keep theirs through the resolved plan's memo), and the caches keyed by the
    /// returned array (mass, operators) hold. Only a new storage is read; when its values equal the last ones (an
    /// argument passed anew on every call, a recomputed attribute) the cached array is returned and the operators stay.
    /// </summary>
    private double[] Cached(ref ValuesCache? slot, NTensor t, string what)
    {
        var last = Volatile.Read(ref slot);
        if (last != null && ReferenceEquals(last.Key, t.Storage)) return last.Values;
        var v = CellValues(t, what, 1);
        if (last != null && last.Values.AsSpan().SequenceEqual(v)) v = last.Values;
        Volatile.Write(ref slot, new ValuesCache(t.Storage, v));
        return v;
    }

    private ParamCache Parameters(NTensor[] a)
    {
        if (_parameterOwner != null) return _parameterOwner.Parameters(a);
        var keys = new Storage[_nParams];
        for (int i = 0; i < _nParams; i++) keys[i] = a[1 + i].Storage;
        if (Volatile.Read(ref _params) is { } c && SameKeys(c.Keys, keys)) return c;
        // Members of a batch sharing these parameters may ask at once: one of them builds.
        lock (_buildLock) return BuildParameters(a, keys);
    }

    private static bool SameKeys(Storage[] a, Storage[] b)
    {
        for (int i = 0; i < a.Length; i++)
            if (!ReferenceEquals(a[i], b[i])) return false;
        return true;
    }

    private ParamCache BuildParameters(NTensor[] a, Storage[] keys)
    {
        if (_params is { } c && SameKeys(c.Keys, keys)) return c;
        var p = new double[_nParams][];
        for (int i = 0; i < _nParams; i++) p[i] = CellValues(a[1 + i], _density.Parameters[i].Name, _density.Parameters[i].Width);
        // Parameters recomputed with the same values (a function of other attributes) keep the built operators.
        if (_params is { } same && Enumerable.Range(0, _nParams).All(i => same.Values[i].AsSpan().SequenceEqual(p[i])))
            return (_params = same with { Keys = keys });
        var op = _useOperators ? QuadraticElementOperator.TryBuild(_asm, _density, p) : null;
        if (op != null) _state.CountPreparedBuild(_term + ".operator");
        return (_params = new ParamCache(keys, p, op));
    }

    private bool[] CellFields => Enumerable.Repeat(_fic, _nNodal).ToArray();

    /// <summary>One assembly pass: through the element operators where they exist and the mode allows.</summary>
    /// <param name="x">The prepared inputs.</param>
    /// <param name="mNode">Nodal m (host values).</param>
    /// <param name="mode">What the pass computes (energy, dE/dm, parameter gradients).</param>
    /// <param name="energy">With the element operators and mode MGradient: also the cell energies.</param>
    /// <param name="into">With the element operators: an array to receive dE/dm (see <see cref="ElementAssembler.AssembleQuadratic"/>).</param>
    private ElementAssembler.Result Run(Prepared x, double[] mNode, ElementAssembler.Mode mode, bool energy = true, double[]? into = null) =>
        x.Op != null && mode is ElementAssembler.Mode.Energy or ElementAssembler.Mode.MGradient
            ? _asm.AssembleQuadratic(x.Op, mNode, x.Rho, mode == ElementAssembler.Mode.MGradient, energy, into)
            : _asm.Assemble(_density, mNode, x.P, x.N, x.Rho, mode, CellFields);

    private NTensor Make(double[] data, int[] shape) =>
        _state.DType == DType.Float64 && _state.Device.IsCpu
            ? new NTensor(new CpuStorage(data), shape)
            : NTensor.FromArray(data, shape, _state.DType, _state.Device);

    /// <summary>Gradient with respect to the nodal m carried back to m's own space.</summary>
    private double[] ToOwnSpace(double[] nodeGrad, Prepared x) =>
        _fic ? _proj.CellsToNodesAdjoint(nodeGrad, 3, x.Rho, x.Denominators!) : nodeGrad;

    private void RejectRhoWithFic(NTensor[] a)
    {
        if (_fic && Tape.IsRecording(a[_rhoIndex]))
            throw new NotSupportedException($"{_term}: with FIC the gradient with respect to rho is not implemented (rho also enters the cell-to-node projection).");
    }

    private int[] ParamShape(int i)
    {
        int w = _density.Parameters[i].Width;
        return w == 1 ? Geo.Cells : Geo.Cells.Append(w).ToArray();
    }

    /// <summary>E in J; differentiable with respect to m, every parameter, the term's fields and rho.</summary>
    public NTensor Energy(NTensor[] a) => InBatch(a, EnergyParameters, (op, x) => op.MemberEnergy(x)) ?? MemberEnergy(a);

    private NTensor MemberEnergy(NTensor[] a)
    {
        if (OperatorEnergy(a) is { } prepared) return prepared;
        var x = Inputs(a);
        var r = Run(x, x.MNode, ElementAssembler.Mode.Energy);
        var e = NTensor.Scalar(r.Energy, _state.DType, _state.Device);
        if (!Tape.IsRecording(a)) return e;
        RejectRhoWithFic(a);
        var cellEnergy = r.CellEnergy;
        return Tape.Record(e, a, g =>
        {
            double gs = g.Item();
            var grads = new NTensor?[a.Length];
            // Evaluated without the tape: these passes only read the saved inputs.
            var gm = ToOwnSpace(Run(x, x.MNode, ElementAssembler.Mode.MGradient, energy: false).DEdm!, x);
            grads[0] = Make(Scale(gm, gs), MShape);
            if (_nParams > 0)
            {
                var gp = Run(x, x.MNode, ElementAssembler.Mode.ParamGradient).DEdp!;
                for (int i = 0; i < _nParams; i++) grads[1 + i] = Make(Scale(gp[i], gs), ParamShape(i));
            }
            if (_nNodal > 0)
            {
                var gn = Run(x, x.MNode, ElementAssembler.Mode.NodalGradient).DEdNodal!;
                for (int i = 0; i < _nNodal; i++) grads[1 + _nParams + i] = Make(Scale(gn[i], gs), MShape);
            }
            var gr = PerUnitRho(x, cellEnergy, unit => Run(unit, unit.MNode, ElementAssembler.Mode.Energy).CellEnergy);
            for (int c = 0; c < gr.Length; c++) gr[c] *= gs;
            grads[_rhoIndex] = Make(gr, Geo.Cells);
            return grads;
        });
    }

    /// <summary>
    /// d/d rho_c of a per-cell quantity that is linear in the cell's rho (rho multiplies the density in the cell):
    /// value_c / rho_c. A cell with rho = 0 has value 0, so its derivative is the same quantity evaluated with rho_c = 1,
    /// computed by <paramref name="unitRho"/> on the inputs with every zero rho replaced by 1 (only when such cells exist).
    /// </summary>
    private static double[] PerUnitRho(Prepared x, double[] cellValues, Func<Prepared, double[]> unitRho)
    {
        var r = new double[x.Rho.Length];
        bool anyZero = false;
        for (int c = 0; c < r.Length; c++)
        {
            if (x.Rho[c] == 0) anyZero = true;
            else r[c] = cellValues[c] / x.Rho[c];
        }
        if (!anyZero) return r;
        var rho1 = x.Rho.Select(v => v == 0 ? 1.0 : v).ToArray();
        var atUnit = unitRho(x with { Rho = rho1 });
        for (int c = 0; c < r.Length; c++)
            if (x.Rho[c] == 0) r[c] = atUnit[c];
        return r;
    }

    /// <summary>Lumped mass mu0-free, per node: sum_c Ms_c rho_c V / 2^d (cached for the last Ms and rho).</summary>
    private double[] Mass(double[] ms, double[] rho)
    {
        if (_mass is { } c && ReferenceEquals(c.Ms, ms) && ReferenceEquals(c.Rho, rho)) return c.Values;
        var w = new double[ms.Length];
        for (int i = 0; i < w.Length; i++) w[i] = ms[i] * rho[i];
        var mass = _asm.LumpedMass(w);
        _mass = new MassCache(ms, rho, mass);
        return mass;
    }

    /// <summary>
    /// h in A/m (on m's space). Differentiable with respect to every input: with w = M⁻¹g/mu0,
    /// gᵀh = −wᵀ∇_m E, so the VJP is −∂/∂θ (wᵀ∇_m E) = −d/dε ∂E/∂θ(m + εw) at ε = 0 (see <see cref="Directional"/>),
    /// plus the mass terms for Ms and rho.
    /// </summary>
    public NTensor Field(NTensor[] a) => InBatch(a, FieldParameters, (op, x) => op.MemberField(x), field: true) ?? MemberField(a);

    private NTensor MemberField(NTensor[] a)
    {
        if (OnDevice(a) is { } onDevice) return onDevice;
        if (SingleField(a) is { } single)
        {
            LastFieldPrecision = DType.Float32;
            return single;
        }
        LastFieldPrecision = DType.Float64;
        bool recording = Tape.IsRecording(a);
        var x = Inputs(a, reuse: !recording);
        int msIndex = Array.IndexOf(FieldParameters, "material__Ms");
        var ms = msIndex >= 1 && msIndex <= _nParams ? x.P[msIndex - 1] : Cached(ref _ms, a[msIndex], "material__Ms");
        var mass = Mass(ms, x.Rho);
        // Outside the tape, a float32 state's field passes through a reused float64 buffer (the tensor made from it
        // is a float32 copy); float64 results own their array.
        var into = !recording && _state.DType != DType.Float64 && x.Op != null && !_fic ? (Interlocked.Exchange(ref _gHost, null) ?? new double[x.MNode.Length]) : null;
        var r = Run(x, x.MNode, ElementAssembler.Mode.MGradient, energy: false, into: into);
        var hNode = FieldFromGradient(r.DEdm!, mass);
        var h = _fic ? _proj.NodesToCells(hNode, 3) : hNode;
        var result = Make(h, MShape);
        if (into != null) Volatile.Write(ref _gHost, into);
        if (x.PooledM != null) Volatile.Write(ref _mHost, x.PooledM);
        if (!Tape.IsRecording(a)) return result;
        RejectRhoWithFic(a);
        bool[] tracked = a.Select(Tape.IsRecording).ToArray();
        return Tape.Record(result, a, g =>
        {
            var grads = new NTensor?[a.Length];
            var gv = g.ToArray();
            var gNode = _fic ? _proj.NodesToCellsAdjoint(gv, 3) : gv;
            var w = new double[gNode.Length];
            for (int i = 0; i < w.Length; i++) w[i] = gNode[i] * ElementAssembler.InverseMass(mass[i / 3]) / Constants.Mu0;
            bool anyParam = false, anyNodal = false;
            for (int i = 0; i < _nParams; i++) anyParam |= tracked[1 + i];
            for (int i = 0; i < _nNodal; i++) anyNodal |= tracked[1 + _nParams + i];
            var d = Directional(x, w, tracked[0], anyParam, anyNodal, tracked[_rhoIndex]);
            if (tracked[0]) grads[0] = Make(ToOwnSpace(Scale(d.DEdm!, -1), x), MShape);
            for (int i = 0; i < _nParams; i++)
                if (tracked[1 + i]) grads[1 + i] = Make(Scale(d.DEdp![i], -1), ParamShape(i));
            for (int i = 0; i < _nNodal; i++)
                if (tracked[1 + _nParams + i]) grads[1 + _nParams + i] = Make(Scale(d.DEdNodal![i], -1), MShape);
            double[]? gRho = null;
            if (tracked[_rhoIndex])
            {
                gRho = PerUnitRho(x, d.CellEnergy, unit => Directional(unit, w, false, false, false, true).CellEnergy);
                for (int c = 0; c < gRho.Length; c++) gRho[c] = -gRho[c];
            }
            if (tracked[msIndex] || gRho != null)
            {
                // The mass M_i = sum_c Ms_c rho_c V/2^d: dh_i/dM_i = -h_i/M_i.
                var dWeight = _asm.LumpedMassAdjoint(ElementAssembler.InverseMassCotangent(gNode, hNode, mass));
                var gMs = new double[ms.Length];
                for (int c = 0; c < ms.Length; c++)
                {
                    gMs[c] = dWeight[c] * x.Rho[c];
                    if (gRho != null) gRho[c] += dWeight[c] * ms[c];
                }
                if (tracked[msIndex])
                {
                    if (grads[msIndex] is { } fromDensity) grads[msIndex] = fromDensity + Make(gMs, Geo.Cells);
                    else grads[msIndex] = Make(gMs, Geo.Cells);
                }
            }
            if (gRho != null) grads[_rhoIndex] = Make(gRho, Geo.Cells);
            return grads;
        });
    }

    /// <summary>
    /// The field on an ILGPU device (CUDA, OpenCL, ilgpu-cpu) through <see cref="DeviceElementOperator"/>, when the
    /// density has element operators, m is nodal and nothing records; null otherwise (the host path then runs, copying
    /// the tensors to the host and back). With <paramref name="members"/> &gt; 0, m is a batch [B] + nodes x 3 whose
    /// members share every other input: one kernel applies the operator to all of them.
    /// </summary>
    private NTensor? OnDevice(NTensor[] a, int members = 0)
    {
        if (_state.Device.IsCpu || _fic || !_useOperators) return null;
        bool recording = Tape.IsRecording(a);
        if (recording && (members != 0 || !Tape.IsRecordingOnly(a, 0))) return null;
        var mShape = members == 0 ? MShape : Batch.Prepend(members, MShape);
        if (!Shapes.Equal(a[0].GetShape(), mShape) || a[0].Device != _state.Device) return null;
        if (OperatorInputs(a) is not var (pc, op, rho, mass)) return null;
        if (_device is not { } d || d.Op != op || d.Rho != rho || d.Mass != mass)
        {
            _device?.Operator.Dispose();
            _state.CountPreparedBuild(_term + ".device");
            var scale = new double[mass.Length];
            for (int i = 0; i < scale.Length; i++) scale[i] = -ElementAssembler.InverseMass(mass[i]) / Constants.Mu0;
            var scaleTensor = NTensor.FromArray(scale, Geo.Nodes.Append(1).ToArray(), a[0].DType, _state.Device);
            _device = d = new DeviceCache(op, rho, mass, new DeviceElementOperator(op, Geo, rho, scale, _state.Device), scaleTensor);
        }
        var h = d.Operator.Apply(a[0]);
        if (!recording) return h;
        // h = S(Km + b) with S = diag(-1/(mu0 M)) and K symmetric: the VJP in m is K(S g) = ∇E(S g) − ∇E(0).
        var (energy, _) = DeviceEnergy(op, rho, a[0].DType);
        return Tape.Record(h, a, g => Tape.GradientOfOnly(a.Length, 0, energy.FieldVjp(g, d.Scale)));
    }

    private DeviceCache? _device;

    /// <summary>
    /// E through prepared operators: for a density bilinear in m and one nodal field on every device
    /// (<see cref="BilinearEnergyOf"/>); on an ILGPU device when the density has element operators, m is nodal and
    /// nothing but m records (<see cref="DeviceQuadraticEnergy"/>: ½ m·(∇E(m) + ∇E(0)) + E₀ reduced there); null
    /// otherwise (the generic host assembly then runs, copying m there from a device).
    /// </summary>
    private NTensor? OperatorEnergy(NTensor[] a)
    {
        if (_fic || !_useOperators) return null;
        if (!Shapes.Equal(a[0].GetShape(), MShape) || a[0].Device != _state.Device) return null;
        if (_nNodal == 1) return BilinearEnergyOf(a);
        if (_state.Device.IsCpu) return null;
        // m and rho (a cell function on the device) may record; gradients in parameters or Ms take the host path.
        for (int i = 1; i < a.Length; i++)
            if (i != _rhoIndex && Tape.IsRecording(a[i])) return null;
        var rhoTensor = a[_rhoIndex];
        if (Tape.IsRecording(rhoTensor) && (!Shapes.Equal(rhoTensor.GetShape(), Geo.Cells) || rhoTensor.Device != _state.Device)) return null;
        if (Parameters(a).Op is not { } op) return null;
        var (energy, unit) = DeviceEnergy(op, Cached(ref _rho, rhoTensor, "rho"), a[0].DType);
        return energy.Energy(a, _rhoIndex, unit.CellEnergiesPerUnitRho);
    }

    /// <summary>
    /// E on the state's device (CPU or ILGPU) for a density bilinear and symmetric in m and its one nodal field (Zeeman,
    /// demag): ½ m·(K n) with K from <see cref="BilinearElementOperator"/> (on the CPU through the same element-operator
    /// loop as the quadratic terms), when m and the field are nodal on the device and nothing but they record; null
    /// otherwise, and for densities without that form (the generic assembly then runs, e.g. for gradients in Ms or rho).
    /// </summary>
    private NTensor? BilinearEnergyOf(NTensor[] a)
    {
        int field = 1 + _nParams;
        for (int i = 1; i < a.Length; i++)
            if (i != field && Tape.IsRecording(a[i])) return null;
        if (!Shapes.Equal(a[field].GetShape(), MShape) || a[field].Device != _state.Device || a[field].DType != a[0].DType) return null;
        var values = Parameters(a).Values;
        var rho = Cached(ref _rho, a[_rhoIndex], "rho");
        var b = Volatile.Read(ref _bilinear);
        if (b == null || b.Values != values || b.Rho != rho)
            lock (_buildLock) // members of a batch may ask at once: one of them builds
            {
                b = _bilinear;
                if (b == null || b.Values != values || b.Rho != rho)
                {
                    b?.Energy?.Dispose();
                    _state.CountPreparedBuild(_term + ".bilinear");
                    var k = BilinearElementOperator.TryBuild(_asm, _density, values, rho);
                    Volatile.Write(ref _bilinear, b = new BilinearCache(values, rho, k == null ? null : new BilinearEnergy(NodalGradient(k, rho))));
                }
            }
        return b.Energy?.Energy(a, field);
    }

    /// <summary>The unit-scale gradient operator u ↦ Ku + b of element operators on the state's device.</summary>
    private INodalGradient NodalGradient(QuadraticElementOperator op, double[] rho)
    {
        if (_state.Device.IsCpu) return new CpuElementGradient(_asm, op, rho);
        var unit = new double[Geo.NumNodes];
        Array.Fill(unit, 1.0);
        return new DeviceElementOperator(op, Geo, rho, unit, _state.Device);
    }

    /// <summary>The bilinear energy for (parameters, rho); Energy is null when the density has not that form.</summary>
    private sealed record BilinearCache(double[][] Values, double[] Rho, BilinearEnergy? Energy);
    private BilinearCache? _bilinear;

    /// <summary>The energy on the device from the element operator with unit node scale (∇E at the nodes), made once
    /// per (operator, rho, dtype).</summary>
    private (DeviceQuadraticEnergy Energy, DeviceElementOperator Unit) DeviceEnergy(QuadraticElementOperator op, double[] rho, DType dtype)
    {
        if (_deviceEnergy is { } d && d.Op == op && d.Rho == rho && d.Energy.DType == dtype) return (d.Energy, d.Unit);
        _deviceEnergy?.Energy.Dispose();
        _state.CountPreparedBuild(_term + ".device-gradient");
        var unit = (DeviceElementOperator)NodalGradient(op, rho);
        var energy = new DeviceQuadraticEnergy(unit, MShape, dtype, _state.Device, op.ConstantEnergy(rho));
        _deviceEnergy = new DeviceEnergyCache(op, rho, energy, unit);
        return (energy, unit);
    }

    private sealed record DeviceEnergyCache(QuadraticElementOperator Op, double[] Rho, DeviceQuadraticEnergy Energy, DeviceElementOperator Unit);
    private DeviceEnergyCache? _deviceEnergy;

    /// <summary>
    /// What the element-operator paths (device, float32) read besides m: the density's parameters with their element
    /// operator, rho and the lumped node mass M; null when the density has no element operators.
    /// </summary>
    private (ParamCache Parameters, QuadraticElementOperator Op, double[] Rho, double[] Mass)? OperatorInputs(NTensor[] a)
    {
        var pc = Parameters(a);
        if (pc.Op is not { } op) return null;
        var rho = Cached(ref _rho, a[_rhoIndex], "rho");
        int msIndex = Array.IndexOf(FieldParameters, "material__Ms");
        var ms = msIndex >= 1 && msIndex <= _nParams ? pc.Values[msIndex - 1] : Cached(ref _ms, a[msIndex], "material__Ms");
        return (pc, op, rho, Mass(ms, rho));
    }

    /// <summary>Diagnostic: the precision the last host evaluation of <see cref="Field"/> computed in.</summary>
    internal DType? LastFieldPrecision { get; private set; }

    /// <summary>rho rounded once to float32, kept for the float64 rho array it came from.</summary>
    private sealed record SingleRho(double[] Key, float[] Values);
    private SingleRho? _rhoSingle;

    /// <summary>
    /// The field of a float32 CPU state computed in float32 (m read in place, the element operators rounded once from
    /// float64, the node scale -1/(mu0 M) computed in float64 and rounded), when the density has element operators,
    /// m is nodal and nothing records; null otherwise (the float64 path then runs on the widened values).
    /// </summary>
    private NTensor? SingleField(NTensor[] a)
    {
        bool recording = Tape.IsRecording(a);
        if (_state.DType != DType.Float32 || !_state.Device.IsCpu || _fic || !_useOperators || (recording && !Tape.IsRecordingOnly(a, 0))) return null;
        if (a[0].Storage is not CpuStorage { F32: { } m } || !Shapes.Equal(a[0].GetShape(), MShape)) return null;
        if (OperatorInputs(a) is not var (pc, op, rho, mass)) return null;
        var rs = Volatile.Read(ref _rhoSingle);
        if (rs == null || !ReferenceEquals(rs.Key, rho)) Volatile.Write(ref _rhoSingle, rs = new SingleRho(rho, Array.ConvertAll(rho, v => (float)v)));
        var h = GC.AllocateUninitializedArray<float>(m.Length);
        _asm.AssembleQuadratic(op, m, rs.Values, h, null);
        var result = new NTensor(new CpuStorage(FieldFromGradient(h, mass)), MShape);
        if (!recording) return result;
        // On the tape with respect to m alone: h = S(Km + b) with S = diag(-1/(mu0 M)) and K symmetric, so the VJP is
        // K(S g), assembled in float32 like the forward (minus the assembly at 0 when the density has a linear part).
        return Tape.Record(result, a, g =>
        {
            var sg = g.Storage is CpuStorage { F32: { } gf } ? (float[])gf.Clone() : Array.ConvertAll(g.ToArray(), v => (float)v);
            var k = GC.AllocateUninitializedArray<float>(sg.Length);
            _asm.AssembleQuadratic(op, FieldFromGradient(sg, mass), rs.Values, k, null);
            if (op.HasLinear)
            {
                var b = GC.AllocateUninitializedArray<float>(sg.Length);
                _asm.AssembleQuadratic(op, new float[sg.Length], rs.Values, b, null);
                for (int i = 0; i < k.Length; i++) k[i] -= b[i];
            }
            return Tape.GradientOfOnly(a.Length, 0, new NTensor(new CpuStorage(k), MShape));
        });
    }

    /// <summary>
    /// d/dε at ε = 0 of the assembler's outputs at m + εw. Exact for a quadratic density from two evaluations (the
    /// outputs are then quadratic in ε); otherwise the five-point central rule with |εw| ≤ 1e-3, exact for outputs
    /// polynomial of degree up to 4 in ε: m at a Gauss point is linear in the nodal values, so a density up to quartic
    /// in (m, ∇m), like the cubic anisotropy's, gives exact VJPs up to round-off (~1e-13 relative with this step), and
    /// a density of higher degree leaves an O(ε⁴) error.
    /// CellEnergy of the result holds the derivative of each cell's energy.
    /// </summary>
    private ElementAssembler.Result Directional(Prepared x, double[] w, bool m, bool param, bool nodal, bool rho)
    {
        double wMax = 0;
        foreach (var v in w) wMax = Math.Max(wMax, Math.Abs(v));
        var sum = new ElementAssembler.Result
        {
            DEdm = m ? new double[x.MNode.Length] : null,
            DEdp = param ? x.P.Select(p => new double[p.Length]).ToArray() : null,
            DEdNodal = nodal ? x.N.Select(f => new double[f.Length]).ToArray() : null,
            CellEnergy = new double[x.Rho.Length],
        };
        if (wMax == 0) return sum;
        (double Eps, double Weight)[] rule;
        if (x.Op != null)
        {
            double s = 1 / wMax;
            rule = new[] { (s, 1 / (2 * s)), (-s, -1 / (2 * s)) };
        }
        else
        {
            double s = 1e-3 / wMax;
            rule = new[] { (2 * s, -1 / (12 * s)), (s, 8 / (12 * s)), (-s, -8 / (12 * s)), (-2 * s, 1 / (12 * s)) };
        }
        var shifted = new double[x.MNode.Length];
        foreach (var (eps, weight) in rule)
        {
            for (int i = 0; i < shifted.Length; i++) shifted[i] = x.MNode[i] + eps * w[i];
            ElementAssembler.Result? cells = null;
            if (m) Add(sum.DEdm!, (cells = Run(x, shifted, ElementAssembler.Mode.MGradient, energy: rho)).DEdm!, weight);
            if (param)
            {
                var r = Run(x, shifted, ElementAssembler.Mode.ParamGradient);
                cells ??= r;
                for (int i = 0; i < _nParams; i++) Add(sum.DEdp![i], r.DEdp![i], weight);
            }
            if (nodal)
            {
                var r = Run(x, shifted, ElementAssembler.Mode.NodalGradient);
                cells ??= r;
                for (int i = 0; i < _nNodal; i++) Add(sum.DEdNodal![i], r.DEdNodal![i], weight);
            }
            if (rho) Add(sum.CellEnergy, (cells ?? Run(x, shifted, ElementAssembler.Mode.Energy)).CellEnergy, weight);
        }
        return sum;
    }

    private static void Add(double[] sum, double[] v, double weight)
    {
        for (int i = 0; i < sum.Length; i++) sum[i] += weight * v[i];
    }

    /// <summary>
    /// h = -dE/dm / (mu0 M), computed in place (the gradient array is the pass's own) on the nodes x 3 values from
    /// <paramref name="offset"/> on (one member of a batch); 0 where M = 0. The scale is formed in float64 and rounded to
    /// T once per node.
    /// </summary>
    private static T[] FieldFromGradient<T>(T[] dEdm, double[] mass, int offset = 0) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        NeuralMag.AD.ParallelLoop.For(mass.Length, (lo, hi) =>
        {
            for (int n = lo; n < hi; n++)
            {
                T s = T.CreateTruncating(-ElementAssembler.InverseMass(mass[n]) / Constants.Mu0);
                dEdm[offset + 3 * n] *= s;
                dEdm[offset + 3 * n + 1] *= s;
                dEdm[offset + 3 * n + 2] *= s;
            }
        }, 16384);
        return dEdm;
    }

    /// <summary>The mass-lumped energy density e_i = (integral rho e N_i) / (integral rho N_i) in J/m^3 (cell means with FIC).</summary>
    public NTensor EnergyDensity(NTensor[] a) => InBatch(a, FieldParameters, (op, x) => op.MemberEnergyDensity(x)) ?? MemberEnergyDensity(a);

    private NTensor MemberEnergyDensity(NTensor[] a)
    {
        if (Tape.IsRecording(a)) throw new NotSupportedException($"{_term}: the energy density e is not differentiable; differentiate E instead.");
        var x = Inputs(a);
        var r = _asm.Assemble(_density, x.MNode, x.P, x.N, x.Rho, ElementAssembler.Mode.MGradient, CellFields);
        var mass = _asm.LumpedMass(x.Rho);
        var e = new double[mass.Length];
        for (int i = 0; i < e.Length; i++) e[i] = r.EN![i] * ElementAssembler.InverseMass(mass[i]);
        return _fic ? Make(_proj.NodesToCells(e, 1), Geo.Cells) : Make(e, Geo.Nodes);
    }

    private static double[] Scale(double[] v, double s)
    {
        var o = new double[v.Length];
        for (int i = 0; i < o.Length; i++) o[i] = v[i] * s;
        return o;
    }
}
