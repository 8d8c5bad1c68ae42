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
    public int? NGauss
    {
        get => _nGauss;
        init => _nGauss = value is null or (>= 1 and <= 10) ? value
            : throw new ArgumentOutOfRangeException(nameof(NGauss), value, $"n_gauss (Gauss points per axis) must be between 1 and 10, got {value}.");
    }
    private readonly int? _nGauss;

    /// <summary>
    /// Use precomputed element operators when the density is quadratic in (m, grad m) (default true): the same numbers
    /// to round-off, at the cost of a small matrix-vector product per cell. False forces the generic dual-number path.
    /// </summary>
    public bool ElementOperators { get; init; } = true;

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
        ArgumentNullException.ThrowIfNull(state);
        if (!state.Has("m"))
            throw new InvalidOperationException($"{GetType().Name}.Register: the state has no magnetization 'm'; assign state.M (e.g. a VectorFunction) before registering field terms.");
        var op = new FieldTermOperator(state, Density, NGauss ?? Density.DefaultGaussPoints, GetType().Name, NodalFieldAttributes(name), ElementOperators);
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

