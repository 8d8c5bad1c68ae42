using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// A discretized field on the mesh of a state (upstream's <c>Function</c>). Each axis lives on nodes ('n') or cells
/// ('c'); the value shape is scalar (empty) or a vector ([3]). The tensor is a fixed <see cref="NTensor"/> or a
/// function of state attributes (a lambda or <see cref="NamedFunction"/>) evaluated from the state on each read.
/// </summary>
public partial class Function
{
    private NTensor? _tensor;

    /// <param name="state">The state whose mesh, device and dtype the function uses.</param>
    /// <param name="spaces">Per-axis spaces, e.g. "nnn" (default: nodes on every axis) or "ccc".</param>
    /// <param name="shape">Value shape: empty for scalars, [3] for vectors.</param>
    /// <param name="tensor">An NTensor, a lambda/NamedFunction of state attributes, or null (zeros on first read).</param>
    /// <param name="name">Optional name (used by loggers and files).</param>
    public Function(State state, string? spaces = null, int[]? shape = null, object? tensor = null, string? name = null)
    {
        State = state ?? throw new ArgumentNullException(nameof(state));
        Spaces = spaces ?? new string('n', state.Mesh.Dim);
        if (Spaces.Length != state.Mesh.Dim)
            throw new ArgumentException($"Function spaces '{Spaces}' need one letter per mesh axis ({state.Mesh.Dim}).", nameof(spaces));
        Shape = shape ?? Array.Empty<int>();
        foreach (var k in Shape)
            if (k <= 0) throw new ArgumentException($"Function value shape {Shapes.Format(Shape)} must have positive entries (empty for scalars, [3] for vectors).", nameof(shape));
        Name = name ?? "f";
        var ts = new List<int>();
        for (int i = 0; i < Spaces.Length; i++)
        {
            ts.Add(Spaces[i] switch
            {
                'c' => state.Mesh.N[i],
                'n' => state.Mesh.Pbc[i].IsPeriodic ? state.Mesh.N[i] : state.Mesh.N[i] + 1,
                _ => throw new ArgumentException($"Function space '{Spaces[i]}' is not supported (use 'n' or 'c').", nameof(spaces)),
            });
        }
        TensorShape = ts.Concat(Shape).ToArray();
        SetTensorOrFunc(tensor);
    }

    /// <summary>The state whose mesh, device and dtype this function uses.</summary>
    public State State { get; }
    /// <summary>Per-axis space letters, one per mesh axis: 'n' (nodes) or 'c' (cells), e.g. "nnn".</summary>
    public string Spaces { get; }
    /// <summary>Value shape per point: empty (scalar) or [3] (vector).</summary>
    public int[] Shape { get; }
    /// <summary>Name used by loggers and files ("f" when none was given).</summary>
    public string Name { get; }
    /// <summary>Shape of the tensor of one member: points per axis, then <see cref="Shape"/>.</summary>
    public int[] TensorShape { get; }

    /// <summary>
    /// Members of the tensor on a batched state (<see cref="NeuralMag.State.Batch"/>): B when the tensor is
    /// [B] + <see cref="TensorShape"/>, 0 when it has the member shape (one value shared by every member).
    /// </summary>
    public int Members => State.Batch is null ? 0 : Batch.Members(Tensor, TensorShape, Name, State.Batch.Value);

    /// <summary>The function of state attributes that produces the tensor, or null when the tensor is fixed.</summary>
    public object? Func { get; private set; }

    /// <summary>The values: the fixed tensor, or the function evaluated from the state now.</summary>
    public NTensor Tensor
    {
        get
        {
            if (Func != null) return State.Call(Func, $"tensor of function '{Name}'");
            return _tensor ??= State.Zeros(TensorShape);
        }
        set => SetTensorOrFunc(value);
    }

    private void SetTensorOrFunc(object? value)
    {
        // functions that depend on this one were resolved through its defining function: re-resolve them
        if (Func != null || value is Delegate or NamedFunction) State.InvalidateResolved();
        switch (value)
        {
            case null:
                _tensor = null;
                Func = null;
                break;
            case NTensor t:
                // As State's attribute assignment: a tensor of another dtype or device is converted to the state's.
                if (t.DType != State.DType || t.Device != State.Device) t = t.Cast(State.DType).To(State.Device);
                bool batched = State.Batch is int b && Shapes.Equal(t.GetShape(), Batch.Prepend(b, TensorShape));
                if (!Shapes.Equal(t.GetShape(), TensorShape) && t.Size != 1 && !batched)
                    throw new ArgumentException($"Tensor of shape {Shapes.Format(t.GetShape())} does not fit function '{Name}' of shape {Shapes.Format(TensorShape)} (spaces '{Spaces}')" +
                                                (State.Batch is int members ? $" nor its batch of {members} members, shape {Shapes.Format(Batch.Prepend(members, TensorShape))}." : "."));
                _tensor = t.Size == 1 && TensorShape.Length > 0 ? t.Reshape().Expand(TensorShape) : t;
                Func = null;
                break;
            case Delegate or NamedFunction:
                _tensor = null;
                Func = value;
                break;
            default:
                throw new ArgumentException($"A function's tensor must be an NTensor or a function of state attributes, not {value.GetType().Name}.");
        }
    }

    /// <summary>Sets every value to a constant (scalar functions) and returns this function.</summary>
    public Function Fill(double value)
    {
        Tensor = State.Full(TensorShape, value);
        return this;
    }

    /// <summary>Sets every point to the same vector (vector functions) and returns this function.</summary>
    public Function Fill(double[] vector)
    {
        ArgumentNullException.ThrowIfNull(vector);
        if (Shape.Length != 1 || Shape[0] != vector.Length)
            throw new ArgumentException($"Fill with a vector of length {vector.Length} needs a function of value shape ({vector.Length},), this one has {Shapes.Format(Shape)}.", nameof(vector));
        Tensor = State.Tensor(vector).Expand(TensorShape);
        return this;
    }

    /// <summary>
    /// Makes the value in each cell follow a per-domain table (upstream's fill_by_domain): the function becomes a
    /// function of the state's "domains" attribute, <c>values[domains[cell]]</c>, evaluated on each read, so it follows
    /// later changes of the domains (e.g. <see cref="State.AddDomain"/>). Only for cell functions; every domain id that
    /// occurs needs a value (checked now and on each read).
    /// </summary>
    /// <param name="values">The value of domain id i at index i.</param>
    public Function FillByDomain(double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return FillByDomain(values.Select(v => new[] { v }).ToArray(), scalar: true);
    }

    /// <summary>
    /// Per-domain values of a vector (or otherwise shaped) cell function, upstream's fill_by_domain with vectors:
    /// <paramref name="values"/>[id] holds the value of domain id, with as many entries as one point of the function
    /// (3 for a vector). Lazy like the scalar overload: the values follow later changes of the domains.
    /// </summary>
    public Function FillByDomain(double[][] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return FillByDomain(values, scalar: false);
    }

    private Function FillByDomain(double[][] values, bool scalar)
    {
        if (Spaces.Any(s => s != 'c')) throw new InvalidOperationException($"FillByDomain needs a cell function; '{Name}' has spaces '{Spaces}'.");
        int width = Shapes.Product(Shape);
        if (scalar && width != 1) throw new ArgumentException($"FillByDomain: '{Name}' has {width} entries per cell (shape {Shapes.Format(Shape)}); give one array per domain.", nameof(values));
        for (int id = 0; id < values.Length; id++)
            if (values[id] == null || values[id].Length != width)
                throw new ArgumentException($"FillByDomain: the value of domain {id} has {values[id]?.Length ?? 0} entries; '{Name}' needs {width} per cell (shape {Shapes.Format(Shape)}).", nameof(values));
        var table = values.Select(v => (double[])v.Clone()).ToArray();
        var name = Name;
        var state = State;
        NTensor Lookup(NTensor domains)
        {
            double lo = domains.Min().Item(), hi = domains.Max().Item();
            if (lo < 0 || hi > table.Length - 1)
                throw new ArgumentException($"Domain id {(lo < 0 ? lo : hi)} has no value: FillByDomain of '{name}' got {table.Length} values (ids 0..{table.Length - 1}).", "values");
            var cell = Shape.Length == 0 ? domains : domains.Unsqueeze(-1);
            NTensor? result = null;
            for (int id = 0; id < table.Length; id++)
            {
                var mask = cell.Eq(state.Scalar(id));
                var term = Shape.Length == 0 ? mask * table[id][0] : mask * state.Tensor(table[id], Shape);
                result = result is null ? term : result + term;
            }
            return (result ?? state.Zeros(TensorShape)).Expand(TensorShape);
        }
        Lookup(State.Tensor("domains")); // every domain id present has a value now
        SetTensorOrFunc((Func<NTensor, NTensor>)(domains => Lookup(domains)));
        return this;
    }

    /// <summary>
    /// The plain mean of the tensor's entries over the spatial axes (per component for vectors): every node, or every
    /// cell, counts once, whatever its volume share and the state's density rho. On a nodal function the boundary nodes
    /// therefore weigh as much as interior ones (a node on a face bounds half the volume of an interior node), so this
    /// differs from the physical average; for reported averages use <see cref="Avg"/> (upstream's <c>avg</c>,
    /// ∫ρ f dV / ∫ρ dV). On a batch, one mean per member ([B] + value shape). Differentiable in the tensor.
    /// </summary>
    public NTensor EntryMean()
    {
        var t = Tensor;
        int first = t.Rank - Shape.Length - Spaces.Length; // 1 for a batch ([B] + shape): one mean per member
        for (int i = 0; i < Spaces.Length; i++) t = t.Mean(first);
        return t;
    }

    /// <summary>Name, spaces and tensor shape, e.g. "Function 'm' spaces 'nnn' shape (5, 4, 3, 3)".</summary>
    public override string ToString() => $"Function '{Name}' spaces '{Spaces}' shape {Shapes.Format(TensorShape)}";
}

/// <summary>A scalar field on cells (material parameters).</summary>
public sealed class CellFunction(State state, int[]? shape = null, object? tensor = null, string? name = null)
    : Function(state, new string('c', state.Mesh.Dim), shape, tensor, name);

/// <summary>A vector field on nodes (magnetization, effective fields).</summary>
public sealed class VectorFunction(State state, object? tensor = null, string? name = null)
    : Function(state, null, new[] { 3 }, tensor, name);

/// <summary>A vector field on cells (e.g. anisotropy axes).</summary>
public sealed class VectorCellFunction(State state, object? tensor = null, string? name = null)
    : Function(state, new string('c', state.Mesh.Dim), new[] { 3 }, tensor, name);
