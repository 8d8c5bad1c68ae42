using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// A discretized field on the state's mesh. Each axis is nodal ('n': n+1 values, n with PBC) or cellwise ('c': n
/// values); the value shape is scalar (<c>[]</c>) or vector (<c>[3]</c>). The tensor is either stored, or defined by a
/// function of state attributes (a lambda or <see cref="NamedFunction"/>) that is evaluated from the state on read.
/// </summary>
public class Function
{
    private object? _tensor; // NTensor, NamedFunction/Delegate, or null (zeros on first read)
    private static long _nextId;
    private readonly long _id = Interlocked.Increment(ref _nextId);

    public Function(State state, string? spaces = null, int[]? shape = null, object? tensor = null, string? name = null)
    {
        State = state ?? throw new ArgumentNullException(nameof(state));
        Spaces = spaces ?? new string('n', state.Mesh.Dim);
        Shape = shape ?? Array.Empty<int>();
        Name = name ?? "f";
        TensorShape = CheckSpaces(state, Spaces).Concat(Shape).ToArray();
        if (tensor != null) SetTensor(tensor);
    }

    public State State { get; }

    /// <summary>Per-axis function spaces, e.g. "nnn", "ccc", "ccn".</summary>
    public string Spaces { get; }

    /// <summary>Value shape: [] scalar, [3] vector.</summary>
    public int[] Shape { get; }

    public string Name { get; }

    /// <summary>Shape of the tensor: mesh part (per space) followed by <see cref="Shape"/>.</summary>
    public int[] TensorShape { get; }

    /// <summary>The defining function of state attributes, or null for a stored tensor.</summary>
    public NamedFunction? Func => _tensor is Delegate or NamedFunction ? Callable.ToNamed(_tensor) : null;

    /// <summary>Name under which the defining function is registered on the state.</summary>
    public string FuncId => $"function__{_id}";

    /// <summary>The discretized values (evaluated from the state for a function-defined Function).</summary>
    public NTensor Tensor
    {
        get
        {
            if (_tensor is NTensor t) return t;
            if (_tensor is null)
            {
                t = State.Zeros(TensorShape);
                _tensor = t;
                return t;
            }
            return State.Tensor(FuncId);
        }
        set => SetTensor(value);
    }

    /// <summary>Sets the values: a tensor, or a function of state attributes (lambda / NamedFunction).</summary>
    public void SetTensor(object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (_tensor is Delegate or NamedFunction) State.Remove(FuncId);
        if (value is Delegate or NamedFunction)
        {
            Callable.ToNamed(value, Name);
            _tensor = value;
            State[FuncId] = value;
        }
        else if (value is NTensor t) _tensor = t;
        else throw new ArgumentException($"Function tensor must be an NTensor or a function of state attributes, got {value.GetType().Name}.");
    }

    /// <summary>Fills with a constant (scalar) — <paramref name="expand"/> kept for API parity (tensors are dense).</summary>
    public Function Fill(double value, bool expand = false)
    {
        SetTensor(NTensor.Full(TensorShape, value, State.DType, State.Device));
        return this;
    }

    /// <summary>Fills a vector Function with a constant vector.</summary>
    public Function Fill(double[] value, bool expand = false)
    {
        var v = State.Tensor(value);
        if (Shape.Length == 0 || Shape[^1] != value.Length)
            throw new ArgumentException($"Cannot fill a Function of shape [{string.Join(",", Shape)}] with a vector of length {value.Length}.");
        SetTensor(v.Expand(TensorShape));
        return this;
    }

    /// <summary>Fills a cell Function from per-domain values: value at cell = values[domains[cell]].</summary>
    public Function FillByDomain(double[] values)
    {
        if (Spaces != new string('c', State.Mesh.Dim))
            throw new NotSupportedException($"FillByDomain needs a cell Function (spaces '{new string('c', State.Mesh.Dim)}'), this one has '{Spaces}'.");
        var aux = State.Tensor(values);
        SetTensor(new NamedFunction(new[] { "domains" }, a => ByDomain(a[0], aux)));
        return this;
    }

    /// <summary>Gathers values[domains] (differentiable in values): sum_k values[k] [domains == k].</summary>
    internal static NTensor ByDomain(NTensor domains, NTensor values)
    {
        int n = values.Shape[0];
        NTensor? acc = null;
        for (int k = 0; k < n; k++)
        {
            var term = domains.Eq(NTensor.Scalar(k, domains.DType, domains.Device)) * values[k];
            acc = acc is null ? term : acc + term;
        }
        return acc!;
    }

    /// <summary>
    /// Componentwise average weighted by the density: ∫ρ f dV / ∫ρ dV, with ρ = state.rho (domain_id null) or
    /// ρ = 1 on cells with domains == domainId, eps elsewhere. Nodal axes are integrated exactly for multilinear f
    /// (mean of the two nodes of each cell edge).
    /// </summary>
    public NTensor Avg(int? domainId = null)
    {
        var rho = domainId is null
            ? State.Tensor("rho")
            : NTensor.Where(State.Tensor("domains").Eq(State.Tensor((double)domainId.Value)), State.Tensor(1.0), State.Tensor(State.Eps));
        return Integrate(Tensor, rho) / rho.Sum();
    }

    /// <summary>∫ρ f dV [unit of f · m³] with the state's density ρ.</summary>
    public NTensor Integral() => Integrate(Tensor, State.Tensor("rho")) * State.Mesh.CellVolume;

    private NTensor Integrate(NTensor f, NTensor rhoCells)
    {
        var cells = ToCellMean(f);
        var w = Shape.Length == 0 ? rhoCells : rhoCells.Unsqueeze(rhoCells.Rank);
        var prod = cells * w;
        for (int i = 0; i < Spaces.Length; i++) prod = prod.Sum(0, false);
        return prod;
    }

    /// <summary>Averages each nodal axis over the two nodes of a cell (wrapping on periodic axes).</summary>
    private NTensor ToCellMean(NTensor f)
    {
        for (int i = 0; i < Spaces.Length; i++)
        {
            if (Spaces[i] != 'n') continue;
            int n = State.Mesh.N[i];
            NTensor lo = f.Slice(i, 0, n, 1), hi;
            if (State.Mesh.Pbc[i].IsPeriodic)
                hi = NTensor.Concat(i, f.Slice(i, 1, n, 1), f.Slice(i, 0, 1, 1));
            else hi = f.Slice(i, 1, n + 1, 1);
            f = (lo + hi) * 0.5;
        }
        return f;
    }

    /// <summary>Mesh part of the tensor shape for the given spaces; throws on unknown spaces.</summary>
    internal static int[] CheckSpaces(State state, string spaces)
    {
        var mesh = state.Mesh;
        if (spaces.Length != mesh.Dim)
            throw new ArgumentException($"Function spaces '{spaces}' have {spaces.Length} axes but the mesh has {mesh.Dim}.");
        var s = new int[spaces.Length];
        for (int i = 0; i < spaces.Length; i++)
            s[i] = spaces[i] switch
            {
                'c' => mesh.N[i],
                'n' => mesh.Pbc[i].IsPeriodic ? mesh.N[i] : mesh.N[i] + 1,
                _ => throw new ArgumentException($"Function space '{spaces[i]}' in '{spaces}' is not supported; use 'n' or 'c'."),
            };
        return s;
    }

    public override string ToString() => $"Function({Name}, spaces={Spaces}, shape=[{string.Join(",", Shape)}])";
}

/// <summary>Scalar Function with cellwise values on every axis.</summary>
public class CellFunction : Function
{
    public CellFunction(State state, int[]? shape = null, object? tensor = null, string? name = null)
        : base(state, new string('c', state.Mesh.Dim), shape, tensor, name) { }
}

/// <summary>Vector (shape [3]) Function on nodes.</summary>
public class VectorFunction : Function
{
    public VectorFunction(State state, object? tensor = null, string? name = null, string? spaces = null)
        : base(state, spaces, new[] { 3 }, tensor, name) { }
}

/// <summary>Vector (shape [3]) Function with cellwise values.</summary>
public class VectorCellFunction : Function
{
    public VectorCellFunction(State state, object? tensor = null, string? name = null)
        : base(state, new string('c', state.Mesh.Dim), new[] { 3 }, tensor, name) { }
}
