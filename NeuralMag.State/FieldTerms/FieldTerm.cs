using NeuralMag.AD;
using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>
/// Base of the field terms defined by an energy density (upstream's <c>FieldTerm</c>). A subclass supplies the
/// density and a default name; <see cref="Register"/> adds to the state:
/// <list type="bullet">
/// <item><c>h_name</c>: the nodal effective field h_i = -(mu0 sum_c Ms_c rho_c V/2^d)^-1 dE/dm_i in A/m (a Function),</item>
/// <item><c>e_name</c>: the mass-lumped energy density in J/m^3 (a Function),</item>
/// <item><c>E_name</c>: the total energy in J,</item>
/// </list>
/// each a <see cref="NamedFunction"/> of the state attributes it reads (m, the term's material parameters, rho, Ms),
/// so <c>state.Resolve("E_exchange", ["material__A"])</c> yields a differentiable function of A.
/// </summary>
public abstract class FieldTerm
{
    /// <summary>Name used when <see cref="Register"/> gets none, e.g. "exchange".</summary>
    public abstract string DefaultName { get; }

    /// <summary>Gauss points per axis (upstream's n_gauss); null uses the density's default (exact for quadratic densities).</summary>
    public int? NGauss { get; init; }

    /// <summary>The energy density defining the term.</summary>
    public abstract EnergyDensity Density { get; }

    /// <summary>"h" + "_" + name, or "h" for the empty name (upstream's attr_name).</summary>
    public string AttributeName(string attr, string? name = null)
    {
        name ??= DefaultName;
        return name.Length == 0 ? attr : $"{attr}_{name}";
    }

    /// <summary>Adds h_name, e_name and E_name to the state as dynamic attributes.</summary>
    public virtual void Register(State state, string? name = null)
    {
        var op = new FieldTermOperator(state, Density, NGauss ?? Density.DefaultGaussPoints, GetType().Name, NodalFieldAttributes(name));
        var mSpaces = state.M.Spaces;
        if (mSpaces.Contains('c') && mSpaces.Contains('n'))
            throw new NotSupportedException($"{GetType().Name}: m must live on nodes or on cells (FIC), not on mixed spaces '{mSpaces}'.");
        if (ComputesField)
            state.SetTyped(AttributeName("h", name), new NamedFunction(op.FieldParameters, op.Field), mSpaces, new[] { 3 });
        state.SetTyped(AttributeName("e", name), new NamedFunction(op.FieldParameters, op.EnergyDensity), mSpaces, Array.Empty<int>());
        state[AttributeName("E", name)] = new NamedFunction(op.EnergyParameters, op.Energy);
    }

    /// <summary>False for terms whose field is given rather than derived (the external field).</summary>
    protected virtual bool ComputesField => true;

    /// <summary>State attribute names of the density's nodal fields (after renaming by the registered name).</summary>
    protected virtual IReadOnlyList<string> NodalFieldAttributes(string? name) => Density.NodalFields;
}

/// <summary>
/// The tensor operations of one registered term: converts state tensors to the assembler's arrays and back, and
/// records the energy and field on the tape with their vector-Jacobian products. With FIC (m on cells) m is first
/// projected to the nodes (rho-weighted mean of the adjacent cells, as upstream) and h and e are averaged back to cells.
/// </summary>
internal sealed class FieldTermOperator
{
    private readonly State _state;
    private readonly EnergyDensity _density;
    private readonly ElementAssembler _asm;
    private readonly string _term;
    private readonly int _nParams, _nNodal;
    private readonly bool _fic;
    private readonly Projections _proj;

    public FieldTermOperator(State state, EnergyDensity density, int gaussPoints, string term, IReadOnlyList<string> nodalAttributes)
    {
        _state = state;
        _density = density;
        _term = term;
        var mesh = state.Mesh;
        _asm = new ElementAssembler(new GridGeometry(mesh.N, mesh.Pbc.Take(mesh.Dim).Select(p => p.IsPeriodic).ToArray(), mesh.Dx), gaussPoints);
        _proj = new Projections(_asm.Geometry, float32Mass: true);
        _fic = state.M.Spaces.All(c => c == 'c');
        _nParams = density.Parameters.Count;
        _nNodal = nodalAttributes.Count;
        var core = new List<string> { "m" };
        core.AddRange(density.Parameters.Select(p => p.Name));
        core.AddRange(nodalAttributes);
        core.Add("rho");
        EnergyParameters = core.ToArray();
        FieldParameters = core.Contains("material__Ms") ? EnergyParameters : core.Append("material__Ms").ToArray();
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

    private double[] FieldValues(NTensor t, string what)
    {
        var expect = MShape;
        if (Shapes.Equal(t.GetShape(), expect)) return t.ToArray();
        if (t.Rank == 1 && t.Size == 3) return t.Expand(expect).ToArray();
        throw new ArgumentException($"{_term}: '{what}' has shape {Shapes.Format(t.GetShape())}, expected {Shapes.Format(expect)} (or (3,)).");
    }

    private double[] CellValues(NTensor t, string what, int width)
    {
        var cellShape = width == 1 ? Geo.Cells : Geo.Cells.Append(width).ToArray();
        var shape = t.GetShape();
        if (Shapes.Equal(shape, cellShape)) return t.ToArray();
        bool scalarLike = t.Size == 1 && width == 1;
        bool vectorLike = width > 1 && t.Rank == 1 && t.Size == width;
        if (scalarLike || vectorLike) return t.Reshape(width == 1 ? Array.Empty<int>() : new[] { width }).Expand(cellShape).ToArray();
        throw new ArgumentException($"{_term}: material parameter '{what}' has shape {Shapes.Format(shape)}, expected a cell function of shape {Shapes.Format(cellShape)}" +
                                    (width == 1 ? " or a scalar." : $" or a vector of length {width}."));
    }

    /// <summary>The assembler's inputs: nodal m (projected from cells with FIC) and the rest.</summary>
    private sealed record Prepared(double[] MNode, double[] MOwn, double[][] P, double[][] N, double[] Rho, double[]? Denominators);

    private Prepared Inputs(NTensor[] a)
    {
        var rho = CellValues(a[1 + _nParams + _nNodal], "rho", 1);
        var mOwn = FieldValues(a[0], "m");
        double[]? den = null;
        var mNode = _fic ? _proj.CellsToNodes(mOwn, 3, rho, out den) : mOwn;
        var p = new double[_nParams][];
        for (int i = 0; i < _nParams; i++) p[i] = CellValues(a[1 + i], _density.Parameters[i].Name, _density.Parameters[i].Width);
        var n = new double[_nNodal][];
        for (int i = 0; i < _nNodal; i++) n[i] = FieldValues(a[1 + _nParams + i], EnergyParameters[1 + _nParams + i]);
        return new Prepared(mNode, mOwn, p, n, rho, den);
    }

    private bool[] CellFields => Enumerable.Repeat(_fic, _nNodal).ToArray();

    private ElementAssembler.Result Run(Prepared x, double[] mNode, ElementAssembler.Mode mode) =>
        _asm.Assemble(_density, mNode, x.P, x.N, x.Rho, mode, CellFields);

    private NTensor Make(double[] data, int[] shape) => NTensor.FromArray(data, shape, _state.DType, _state.Device);

    /// <summary>Gradient with respect to the nodal m carried back to m's own space.</summary>
    private double[] ToOwnSpace(double[] nodeGrad, Prepared x) =>
        _fic ? _proj.CellsToNodesAdjoint(nodeGrad, 3, x.Rho, x.Denominators!) : nodeGrad;

    private void RejectRhoWithFic(NTensor[] a)
    {
        if (_fic && Tape.IsRecording(a[1 + _nParams + _nNodal]))
            throw new NotSupportedException($"{_term}: with FIC the gradient with respect to rho is not implemented (rho also enters the cell-to-node projection).");
    }

    /// <summary>E in J; differentiable with respect to m, every parameter, the term's fields and rho.</summary>
    public NTensor Energy(NTensor[] a)
    {
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
            var gm = ToOwnSpace(Run(x, x.MNode, ElementAssembler.Mode.MGradient).DEdm!, x);
            grads[0] = Make(Scale(gm, gs), MShape);
            if (_nParams > 0)
            {
                var gp = Run(x, x.MNode, ElementAssembler.Mode.ParamGradient).DEdp!;
                for (int i = 0; i < _nParams; i++)
                {
                    int w = _density.Parameters[i].Width;
                    grads[1 + i] = Make(Scale(gp[i], gs), w == 1 ? Geo.Cells : Geo.Cells.Append(w).ToArray());
                }
            }
            if (_nNodal > 0)
            {
                var gn = Run(x, x.MNode, ElementAssembler.Mode.NodalGradient).DEdNodal!;
                for (int i = 0; i < _nNodal; i++) grads[1 + _nParams + i] = Make(Scale(gn[i], gs), MShape);
            }
            var gr = new double[x.Rho.Length];
            for (int c = 0; c < gr.Length; c++) gr[c] = gs * cellEnergy[c] / x.Rho[c];
            grads[^1] = Make(gr, Geo.Cells);
            return grads;
        });
    }

    private double[] Mass(double[] ms, double[] rho)
    {
        var w = new double[ms.Length];
        for (int c = 0; c < w.Length; c++) w[c] = ms[c] * rho[c];
        return _asm.LumpedMass(w);
    }

    /// <summary>h in A/m (on m's space); differentiable with respect to m (terms quadratic in m) and Ms.</summary>
    public NTensor Field(NTensor[] a)
    {
        var x = Inputs(a);
        int msIndex = Array.IndexOf(FieldParameters, "material__Ms");
        var ms = CellValues(a[msIndex], "material__Ms", 1);
        var mass = Mass(ms, x.Rho);
        var r = Run(x, x.MNode, ElementAssembler.Mode.MGradient);
        var hNode = FieldFromGradient(r.DEdm!, mass);
        var h = _fic ? _proj.NodesToCells(hNode, 3) : hNode;
        var result = Make(h, MShape);
        if (!Tape.IsRecording(a)) return result;
        RejectRhoWithFic(a);
        bool[] tracked = a.Select(Tape.IsRecording).ToArray();
        for (int i = 1; i < a.Length; i++)
            if (tracked[i] && i != msIndex)
                throw new NotSupportedException($"{_term}: the gradient of h with respect to '{FieldParameters[i]}' is not implemented; differentiate the energy E instead, or h with respect to m or Ms.");
        return Tape.Record(result, a, g =>
        {
            var grads = new NTensor?[a.Length];
            var gv = g.ToArray();
            var gNode = _fic ? _proj.NodesToCellsAdjoint(gv, 3) : gv;
            if (tracked[0])
            {
                // h = -M^-1 (K m + b) for a density quadratic in m, so g^T dh/dm = -(grad E(M^-1 g) - grad E(0)).
                var w = new double[gNode.Length];
                for (int i = 0; i < w.Length; i++) w[i] = gNode[i] / (Constants.Mu0 * mass[i / 3]);
                var g1 = Run(x, w, ElementAssembler.Mode.MGradient).DEdm!;
                var g0 = Run(x, new double[w.Length], ElementAssembler.Mode.MGradient).DEdm!;
                var gm = new double[w.Length];
                for (int i = 0; i < gm.Length; i++) gm[i] = -(g1[i] - g0[i]);
                grads[0] = Make(ToOwnSpace(gm, x), MShape);
            }
            if (tracked[msIndex])
            {
                // Ms enters h through the mass only: dh_i/dM_i = -h_i / M_i, dM_i/dMs_c = rho_c V / 2^d.
                var gms = new double[ms.Length];
                Span<int> nodes = stackalloc int[8];
                double share = Geo.CellVolume / Geo.Corners;
                for (int c = 0; c < ms.Length; c++)
                {
                    Geo.CornerNodes(c, nodes);
                    double s = 0;
                    for (int k = 0; k < Geo.Corners; k++)
                    {
                        int node = nodes[k];
                        for (int i = 0; i < 3; i++) s -= gNode[node * 3 + i] * hNode[node * 3 + i] / mass[node];
                    }
                    gms[c] = s * x.Rho[c] * share;
                }
                grads[msIndex] = Make(gms, Geo.Cells);
            }
            return grads;
        });
    }

    private static double[] FieldFromGradient(double[] dEdm, double[] mass)
    {
        var h = new double[dEdm.Length];
        for (int i = 0; i < h.Length; i++) h[i] = -dEdm[i] / (Constants.Mu0 * mass[i / 3]);
        return h;
    }

    /// <summary>The mass-lumped energy density e_i = (integral rho e N_i) / (integral rho N_i) in J/m^3 (cell means with FIC).</summary>
    public NTensor EnergyDensity(NTensor[] a)
    {
        if (Tape.IsRecording(a)) throw new NotSupportedException($"{_term}: the energy density e is not differentiable; differentiate E instead.");
        var x = Inputs(a);
        var r = Run(x, x.MNode, ElementAssembler.Mode.MGradient);
        var mass = _asm.LumpedMass(x.Rho);
        var e = new double[mass.Length];
        for (int i = 0; i < e.Length; i++) e[i] = r.EN![i] / mass[i];
        return _fic ? Make(_proj.NodesToCells(e, 1), Geo.Cells) : Make(e, Geo.Nodes);
    }

    private static double[] Scale(double[] v, double s)
    {
        var o = new double[v.Length];
        for (int i = 0; i < o.Length; i++) o[i] = v[i] * s;
        return o;
    }
}
