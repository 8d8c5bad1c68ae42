using NeuralMag.AD;
using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>
/// Zeeman energy of an applied field: E = -∫ mu0 Ms m · h dV, where h (A/m) is the field itself, given as a nodal
/// vector tensor, one vector (3,), a <see cref="Function"/>, or a function of state attributes (e.g.
/// <c>(NTensor t) =&gt; ...</c> for a time-dependent field) returning either shape. Registered as h_name, e_name, E_name;
/// E reads the field under its registered name (upstream remaps h_external to h_name). On a batched state the field
/// may be per member: [B] + the nodal shape, or with size-1 axes that broadcast, e.g. [B, 1, 1, 1, 3] for one vector
/// per member on a 3-d mesh (expanded to [B] + the nodal shape); a field of the member shape or (3,) is shared.
/// </summary>
public sealed class ExternalField : FieldTerm
{
    private readonly object _h;

    /// <summary>An applied field h in A/m.</summary>
    /// <param name="h">A nodal vector tensor, a vector of 3 components (broadcast to every node), a <see cref="Function"/>, or a function of state attributes returning either shape.</param>
    /// <exception cref="ArgumentNullException"><paramref name="h"/> is null.</exception>
    public ExternalField(object h) => _h = h ?? throw new ArgumentNullException(nameof(h));

    /// <summary>"external": attributes h_external, e_external, E_external.</summary>
    public override string DefaultName => "external";
    /// <summary>e = -mu0 Ms m · h (J/m^3).</summary>
    public override EnergyDensity Density { get; } = new ZeemanDensity();

    /// <summary>Adds h_name (the given field), e_name and E_name.</summary>
    public override void Register(State state, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        var hName = AttributeName("h", name);
        var nodal = state.M.TensorShape; // nodes, or cells with FIC
        int? batch = state.Batch;
        NTensor Full(NTensor t)
        {
            if (Shapes.Equal(t.GetShape(), nodal)) return t;
            if (t.Rank == 1 && t.Size == 3) return t.Expand(nodal);
            if (batch is int members && t.Rank == nodal.Length + 1 && Batch.Members(t, nodal, "h", members) > 0) return Batch.Full(t, nodal, members);
            throw new ArgumentException($"ExternalField: the field has shape {Shapes.Format(t.GetShape())}; expected {Shapes.Format(nodal)} (one vector per point of m) or (3,)" +
                                        (batch is int b ? $", or per member {Shapes.Format(Batch.Prepend(b, nodal))} (size-1 axes broadcast, e.g. {Shapes.Format(Batch.Prepend(b, nodal.Select((n, i) => i < nodal.Length - 1 ? 1 : n).ToArray()))})." : "."), "h");
        }
        object value = _h switch
        {
            NTensor t => Full(t.Cast(state.DType).To(state.Device)),
            double[] v => Full(state.Tensor(v)),
            Function f when f.Func == null => Full(f.Tensor),
            Function f => Wrap(f.Func!, Full),
            Delegate or NamedFunction => Wrap(_h, Full),
            _ => throw new ArgumentException($"ExternalField: unsupported field type {_h.GetType().Name}; use an NTensor, double[3], Function or a function of state attributes.", "h"),
        };
        state.SetTyped(hName, value, state.M.Spaces, new[] { 3 });
        base.Register(state, name);
    }

    private static NamedFunction Wrap(object f, Func<NTensor, NTensor> full)
    {
        var c = Callable.From(f, "ExternalField");
        return new NamedFunction(c.Parameters, a => full(c.Invoke(a)));
    }

    /// <summary>False: the field is given, not derived from the energy.</summary>
    protected override bool ComputesField => false;

    /// <summary>The density reads the field under its registered name h_name.</summary>
    protected override IReadOnlyList<string> NodalFieldAttributes(string? name) => new[] { AttributeName("h", name) };

    private sealed class ZeemanDensity : EnergyDensity
    {
        public override IReadOnlyList<CellParameter> Parameters { get; } = new[] { new CellParameter("material__Ms", 1) };
        public override IReadOnlyList<string> NodalFields { get; } = new[] { "h_external" };

        public override Dual Evaluate(in QuadPoint q) => -Constants.Mu0 * q.Param(0) * Vec3.Dot(q.M, q.Nodal(0));
    }
}
