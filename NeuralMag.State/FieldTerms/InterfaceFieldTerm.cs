using NeuralMag.AD;
using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>
/// Base of the field terms defined by an energy density per area on the interface between two xy node layers
/// (upstream's densities with the surface measure dA, e.g. interlayer exchange). A subclass supplies the
/// <see cref="InterfaceEnergyDensity"/>, the two layers and a default name; <see cref="Register"/> adds
/// <list type="bullet">
/// <item><c>E_name</c> = Σ_faces ∫ e(m₁, m₂, p) dA in J, differentiable in m and the face parameters;</item>
/// <item><c>h_name</c> = −(μ0 M_i)⁻¹ ∂E/∂m_i in A/m with the volume-lumped mass M_i = Σ_c Ms_c ρ_c V/8 (zero away from
/// the two layers), differentiable in m, the face parameters, Ms and rho.</item>
/// </list>
/// m must live on the nodes (no FIC).
/// </summary>
public abstract class InterfaceFieldTerm
{
    /// <param name="layer1">z index of the first node layer (0 or more; checked against the mesh on registration).</param>
    /// <param name="layer2">z index of the second node layer.</param>
    protected InterfaceFieldTerm(int layer1, int layer2)
    {
        if (layer1 < 0) throw new ArgumentOutOfRangeException(nameof(layer1), layer1, "Layer index must be 0 or more (a z index of a node layer).");
        if (layer2 < 0) throw new ArgumentOutOfRangeException(nameof(layer2), layer2, "Layer index must be 0 or more (a z index of a node layer).");
        Layer1 = layer1;
        Layer2 = layer2;
    }

    /// <summary>z index of the first node layer.</summary>
    public int Layer1 { get; }

    /// <summary>z index of the second node layer.</summary>
    public int Layer2 { get; }

    /// <summary>Name used when <see cref="Register"/> gets none.</summary>
    public abstract string DefaultName { get; }

    /// <summary>The energy density per area defining the term.</summary>
    public abstract InterfaceEnergyDensity Density { get; }

    /// <summary>Adds h_name and E_name to the state (name defaults to <see cref="DefaultName"/>; "" gives h and E).</summary>
    /// <exception cref="NotSupportedException">The mesh is not 3D, or m lives on cells.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A layer index is outside the mesh's node layers along z.</exception>
    public void Register(State state, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        name ??= DefaultName;
        var term = GetType().Name;
        if (state.Mesh.Dim != 3) throw new NotSupportedException($"{term} needs a 3D mesh, this one is {state.Mesh.Dim}D.");
        if (!state.Has("m"))
            throw new InvalidOperationException($"{term}.Register: the state has no magnetization 'm'; assign it (a VectorFunction) before registering field terms.");
        if (state.M.Spaces.Contains('c')) throw new NotSupportedException($"{term}: m must live on the nodes ('nnn'), not on '{state.M.Spaces}'.");
        int layers = state.Mesh.NodeCounts[2];
        foreach (var k in new[] { Layer1, Layer2 })
            if (k >= layers) throw new ArgumentOutOfRangeException("layer", k, $"{term}: layer index {k} is outside the {layers} node layers along z (0..{layers - 1}).");
        var op = new InterfaceOperator(state, Density, Layer1, Layer2, term);
        string Attr(string a) => name.Length == 0 ? a : $"{a}_{name}";
        state.SetTyped(Attr("h"), new NamedFunction(op.FieldParameters, op.Field), state.M.Spaces, new[] { 3 });
        state[Attr("E")] = new NamedFunction(op.EnergyParameters, op.Energy);
    }
}

/// <summary>
/// The tensor side of an <see cref="InterfaceFieldTerm"/>: E and h with their VJPs on the tape. For a density quadratic
/// in m, with v = g/(μ0 M): g·h = −v·∇E(m) = −s [E(m + v/s) − E(m − v/s)]/2 for any s &gt; 0, so the VJPs in m and in
/// the face parameters are exact differences of two gradient passes at m ± v/s. On a batched state an argument of
/// shape [B] + its member shape is per member: members run one by one on their slices (<see cref="Batch.Map"/>,
/// concurrently on the CPU when nothing records; the operator keeps no state between calls).
/// </summary>
internal sealed class InterfaceOperator
{
    private readonly State _state;
    private readonly InterfaceEnergyDensity _density;
    private readonly InterfaceAssembler _asm;
    private readonly ElementAssembler _volume;
    private readonly string _term;
    private readonly int _np;

    public InterfaceOperator(State state, InterfaceEnergyDensity density, int layer1, int layer2, string term)
    {
        _state = state;
        _density = density;
        _term = term;
        _asm = new InterfaceAssembler(state.Mesh.Geometry, layer1, layer2);
        _volume = new ElementAssembler(state.Mesh.Geometry, 1);
        _np = density.Parameters.Count;
        EnergyParameters = new[] { "m" }.Concat(density.Parameters).ToArray();
        FieldParameters = EnergyParameters.Concat(new[] { "material__Ms", "rho" }).ToArray();
    }

    /// <summary>m, then the density's face parameters.</summary>
    public string[] EnergyParameters { get; }

    /// <summary>Those of E, then material__Ms and rho (for the mass).</summary>
    public string[] FieldParameters { get; }

    private int[] FaceShape => new[] { _state.Mesh.N[0], _state.Mesh.N[1], _state.Mesh.NodeCounts[2] };

    public NTensor Energy(NTensor[] a) => InBatch(a, EnergyParameters, MemberEnergy) ?? MemberEnergy(a);

    public NTensor Field(NTensor[] a) => InBatch(a, FieldParameters, MemberField) ?? MemberField(a);

    /// <summary>Member by member when some argument has a batch axis on a batched state; null otherwise.</summary>
    private NTensor? InBatch(NTensor[] a, string[] names, Func<NTensor[], NTensor> member)
    {
        if (_state.Batch is not int members) return null;
        var shapes = new int[]?[a.Length];
        shapes[0] = _state.Mesh.NodeCounts.Append(3).ToArray();
        for (int i = 1; i < a.Length; i++) shapes[i] = i <= _np ? FaceShape : _state.Mesh.N;
        bool any = false;
        for (int i = 0; i < a.Length; i++) any |= Batch.Members(a[i], shapes[i]!, names[i], members) > 0;
        return any ? Batch.Map(members, a, shapes, (_, x) => member(x), _state.Device.IsCpu) : null;
    }

    private NTensor MemberEnergy(NTensor[] a)
    {
        if (DeviceUsable(a))
        {
            return DeviceEnergy(a).Energy(a);
        }
        var m = NodeValues(a[0]);
        var p = FaceValues(a);
        var result = _state.Scalar(_asm.Assemble(_density, m, p, false, false).Energy);
        if (!Tape.IsRecording(a)) return result;
        return Tape.Record(result, a, g =>
        {
            double s = g.Item();
            var grads = new NTensor?[a.Length];
            grads[0] = _state.Tensor(Scaled(_asm.Assemble(_density, m, p, true, false).DEdm!, s), a[0].GetShape());
            var dp = _asm.Assemble(_density, m, p, false, true).DEdp!;
            for (int i = 0; i < _np; i++) grads[1 + i] = Back(a[1 + i], Scaled(dp[i], s), FaceShape);
            return grads;
        });
    }

    private NTensor MemberField(NTensor[] a)
    {
        if (DeviceUsable(a)) return DeviceField(a);
        var m = NodeValues(a[0]);
        var p = FaceValues(a);
        var ms = CellValues(a[1 + _np], "material__Ms");
        var rho = CellValues(a[2 + _np], "rho");
        var mass = Mass(ms, rho);
        var dEdm = _asm.Assemble(_density, m, p, true, false).DEdm!;
        var h = new double[dEdm.Length];
        for (int i = 0; i < h.Length; i++) h[i] = -dEdm[i] * ElementAssembler.InverseMass(mass[i / 3]) / Constants.Mu0;
        var result = _state.Tensor(h, a[0].GetShape());
        if (!Tape.IsRecording(a)) return result;
        return Tape.Record(result, a, gh =>
        {
            var g = gh.ToArray();
            var v = new double[g.Length];
            for (int i = 0; i < v.Length; i++) v[i] = g[i] * ElementAssembler.InverseMass(mass[i / 3]) / Constants.Mu0;
            // v is ~1/(μ0 M) ≈ 1e27 times g: evaluate at m ± v/s with |v/s| ~ |m| and scale back by s (exact for any
            // s > 0 when E is quadratic), so that m is not lost against v in the sums.
            double vMax = v.Max(Math.Abs), mMax = Math.Max(m.Max(Math.Abs), 1e-300);
            double s = vMax > 0 ? vMax / mMax : 1;
            var plus = Add(m, v, 1 / s);
            var minus = Add(m, v, -1 / s);
            var grads = new NTensor?[a.Length];
            var up = _asm.Assemble(_density, plus, p, true, true);
            var down = _asm.Assemble(_density, minus, p, true, true);
            grads[0] = _state.Tensor(Difference(up.DEdm!, down.DEdm!, -0.5 * s), a[0].GetShape());
            for (int i = 0; i < _np; i++) grads[1 + i] = Back(a[1 + i], Difference(up.DEdp![i], down.DEdp![i], -0.5 * s), FaceShape);
            // h = f/M: dL/dM per node, then per cell weight Ms ρ.
            var dWeight = _volume.LumpedMassAdjoint(ElementAssembler.InverseMassCotangent(g, h, mass));
            var gMs = new double[ms.Length];
            var gRho = new double[ms.Length];
            for (int c = 0; c < ms.Length; c++)
            {
                gMs[c] = dWeight[c] * rho[c];
                gRho[c] = dWeight[c] * ms[c];
            }
            grads[1 + _np] = Back(a[1 + _np], gMs, _state.Mesh.N);
            grads[2 + _np] = Back(a[2 + _np], gRho, _state.Mesh.N);
            return grads;
        });
    }

    /// <summary>
    /// The device paths serve m on this state's ILGPU device when nothing but m records (the VJPs in the face
    /// parameters, Ms and rho run on the host).
    /// </summary>
    private bool DeviceUsable(NTensor[] a) =>
        !_state.Device.IsCpu && a[0].Device == _state.Device && Shapes.Equal(a[0].GetShape(), _state.Mesh.NodeCounts.Append(3).ToArray())
        && (!Tape.IsRecording(a) || Tape.IsRecordingOnly(a, 0));

    private sealed record DeviceFieldCache(Storage[] Keys, DeviceInterfaceOperator Operator, NTensor Scale);
    private sealed record DeviceEnergyCache(Storage[] Keys, DeviceQuadraticEnergy Energy);
    private DeviceFieldCache? _deviceField;
    private DeviceEnergyCache? _deviceEnergy;

    /// <summary>The volume-lumped node mass M_i = Σ_c Ms_c ρ_c V/8 of the field's scale.</summary>
    private double[] Mass(double[] ms, double[] rho)
    {
        var weight = new double[ms.Length];
        for (int c = 0; c < ms.Length; c++) weight[c] = ms[c] * rho[c];
        return _volume.LumpedMass(weight);
    }

    private static Storage[] Keys(NTensor[] a, int count) => a.Skip(1).Take(count).Select(t => t.Storage).ToArray();

    private static bool Same(Storage[] x, Storage[] y) => x.Length == y.Length && x.Zip(y).All(p => ReferenceEquals(p.First, p.Second));

    /// <summary>h on the device: the interface operator with node scale −1/(μ0 M), built once per face parameters, Ms and
    /// rho; on the tape (m alone) its VJP is K(S g) = ∇E(S g) − ∇E(0), K symmetric.</summary>
    private NTensor DeviceField(NTensor[] a)
    {
        var keys = Keys(a, _np + 2);
        if (_deviceField is not { } d || !Same(d.Keys, keys))
        {
            _deviceField?.Operator.Dispose();
            _state.CountPreparedBuild(_term + ".device");
            var mass = Mass(CellValues(a[1 + _np], "material__Ms"), CellValues(a[2 + _np], "rho"));
            var scale = mass.Select(v => -ElementAssembler.InverseMass(v) / Constants.Mu0).ToArray();
            var op = new DeviceInterfaceOperator(_density, _state.Mesh.Geometry, _asm.Layer1, _asm.Layer2, FaceValues(a), scale, _state.Device);
            var scaleTensor = NTensor.FromArray(scale, _state.Mesh.NodeCounts.Append(1).ToArray(), a[0].DType, _state.Device);
            _deviceField = d = new DeviceFieldCache(keys, op, scaleTensor);
        }
        var h = d.Operator.Apply(a[0]);
        if (!Tape.IsRecording(a)) return h;
        var energy = DeviceEnergy(a);
        return Tape.Record(h, a, g => Tape.GradientOfOnly(a.Length, 0, energy.FieldVjp(g, d.Scale)));
    }

    /// <summary>The energy on the device from the interface operator with unit node scale (∇E), built once per face
    /// parameters and dtype.</summary>
    private DeviceQuadraticEnergy DeviceEnergy(NTensor[] a)
    {
        var keys = Keys(a, _np);
        if (_deviceEnergy is { } u && Same(u.Keys, keys) && u.Energy.DType == a[0].DType) return u.Energy;
        _deviceEnergy?.Energy.Dispose();
        _state.CountPreparedBuild(_term + ".device-gradient");
        var unit = Enumerable.Repeat(1.0, _state.Mesh.NumNodes).ToArray();
        var op = new DeviceInterfaceOperator(_density, _state.Mesh.Geometry, _asm.Layer1, _asm.Layer2, FaceValues(a), unit, _state.Device);
        var energy = new DeviceQuadraticEnergy(op, a[0].GetShape(), a[0].DType, _state.Device, op.ConstantEnergy);
        _deviceEnergy = new DeviceEnergyCache(keys, energy);
        return energy;
    }

    private double[] NodeValues(NTensor m)
    {
        var shape = _state.Mesh.NodeCounts.Append(3).ToArray();
        if (!Shapes.Equal(m.GetShape(), shape))
            throw new ArgumentException($"{_term}: 'm' has shape {Shapes.Format(m.GetShape())}, expected {Shapes.Format(shape)} (nodes x 3).", "m");
        return m.ToArray();
    }

    private double[][] FaceValues(NTensor[] a)
    {
        var p = new double[_np][];
        for (int i = 0; i < _np; i++) p[i] = Values(a[1 + i], FaceShape, _density.Parameters[i], "a function on 'ccn' (cells in x and y, node layers in z)");
        return p;
    }

    private double[] CellValues(NTensor t, string what) => Values(t, _state.Mesh.N, what, "a cell function");

    private double[] Values(NTensor t, int[] shape, string what, string kind)
    {
        if (t.Size != 1 && !Shapes.Equal(t.GetShape(), shape))
            throw new ArgumentException($"{_term}: '{what}' has shape {Shapes.Format(t.GetShape())}, expected {kind} of shape {Shapes.Format(shape)} or a scalar.", what);
        var v = t.Size == 1 ? Enumerable.Repeat(t.Item(), Shapes.Product(shape)).ToArray() : t.ToArray();
        foreach (var x in v)
            if (!double.IsFinite(x)) throw new ArgumentException($"{_term}: '{what}' contains {x}; it must be finite.", what);
        return v;
    }

    /// <summary>A gradient on the full grid carried back to the input's own shape (summed for a scalar input).</summary>
    private NTensor Back(NTensor input, double[] full, int[] shape) =>
        input.Size == 1 && full.Length != 1
            ? NTensor.Full(input.GetShape(), full.Sum(), _state.DType, _state.Device)
            : _state.Tensor(full, shape).Reshape(input.GetShape());

    private static double[] Scaled(double[] a, double s) => a.Select(x => s * x).ToArray();

    private static double[] Add(double[] a, double[] b, double s)
    {
        var r = new double[a.Length];
        for (int i = 0; i < r.Length; i++) r[i] = a[i] + s * b[i];
        return r;
    }

    private static double[] Difference(double[] a, double[] b, double s)
    {
        var r = new double[a.Length];
        for (int i = 0; i < r.Length; i++) r[i] = s * (a[i] - b[i]);
        return r;
    }
}
