using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// The simulation state (upstream's <c>State</c>): mesh, device, dtype and a store of named attributes. Any attribute
/// may be a function of other attributes, matched by parameter name; reading it evaluates the function with the
/// current values. <see cref="Resolve(object, IReadOnlyList{string}?, IReadOnlyDictionary{string, string}?, IReadOnlyDictionary{string, object}?)"/>
/// turns such a dependency graph into a plain function of chosen arguments that runs on the tape.
/// </summary>
/// <remarks>
/// Three stores as upstream: raw values; attribute types (spaces and value shape for attributes that read back as a
/// <see cref="Function"/>, e.g. the fields registered by field terms); and a cache of resolved functions, cleared on
/// every assignment. Material parameters live in the same store under "material__X" (<see cref="Material"/>).
/// </remarks>
public sealed partial class State
{
    private readonly Dictionary<string, object?> _values = new();
    private readonly Dictionary<string, (string Spaces, int[] Shape)> _types = new();
    private readonly Dictionary<string, NamedFunction> _resolved = new();
    // Resolved functions of Functions defined by a lambda (rho, ...), by reference; cleared with _resolved.
    private readonly Dictionary<object, NamedFunction> _resolvedByFunc = new(ReferenceEqualityComparer.Instance);

    /// <param name="mesh">The mesh.</param>
    /// <param name="device">Device of all tensors (default <see cref="Config.Device"/>).</param>
    /// <param name="dtype">Precision of all tensors (default <see cref="Config.DType"/>).</param>
    /// <param name="batch">Null (default): one system. B ≥ 1: a batch of B independent members on this mesh
    /// (<see cref="Batch"/>): m and any other function may hold [B] + its shape, one value per member.</param>
    public State(Mesh mesh, Device? device = null, DType? dtype = null, int? batch = null)
    {
        Mesh = mesh ?? throw new ArgumentNullException(nameof(mesh));
        if (batch is < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch is the number of members (1 or more), or null for one system without a batch axis.");
        Batch = batch;
        Device = device ?? Config.Device;
        DType = dtype ?? Config.DType;
        if (!Enum.IsDefined(DType)) throw new ArgumentOutOfRangeException(nameof(dtype), DType, "dtype must be DType.Float64 or DType.Float32.");
        CheckMemory(mesh, DType, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
        Material = new MaterialNamespace(this);
        this["t"] = 0.0;
        this["eps"] = DType.Eps();
        // Domains as upstream: id per cell (1 everywhere by default), rho = 1 inside the magnet and eps outside.
        this["domains"] = new CellFunction(this, name: "domains").Fill(1);
        this["domain"] = (Func<NTensor, NTensor>)(domains => domains.Gt(0.0));
        this["rho"] = new CellFunction(this, tensor: (Func<NTensor, NTensor, NTensor>)((domain, eps) => NTensor.Where(domain, NTensor.OnesLike(eps), eps)), name: "rho");
        InitDomainExtras();
    }

    /// <summary>
    /// Bytes a state on <paramref name="mesh"/> holds at the least: the domain ids and rho (one value per cell each)
    /// and the nodal magnetization (three values per node).
    /// </summary>
    public static long RequiredMemoryBytes(Mesh mesh, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        return (2L * mesh.NumCells + 3L * mesh.NumNodes) * dtype.SizeInBytes();
    }

    /// <summary>Refuses a mesh whose state needs more than <paramref name="availableBytes"/> (0 or less: unknown, no check).</summary>
    internal static void CheckMemory(Mesh mesh, DType dtype, long availableBytes)
    {
        long need = RequiredMemoryBytes(mesh, dtype);
        if (availableBytes > 0 && need > availableBytes)
            throw new InsufficientMemoryException(
                $"A {dtype.Name()} state on mesh {string.Join("x", mesh.N)} ({mesh.NumCells:N0} cells, {mesh.NumNodes:N0} nodes) needs at least " +
                $"{need / 1e9:F1} GB (domains, rho and m), but only {availableBytes / 1e9:F1} GB are available: use fewer cells or float32.");
    }

    /// <summary>The mesh the state's functions live on.</summary>
    public Mesh Mesh { get; }

    /// <summary>
    /// Null: one system. B: the state holds a batch of B independent members on one mesh. A function's tensor is then
    /// its member shape (shared by every member) or [B] + that shape (one value per member); a per-member material
    /// parameter or field has rank one more than its member shape, with size-1 axes broadcasting ([B, 1, 1, 1] for one
    /// scalar per member on a 3-d mesh, [B, 1, 1, 1, 3] for one vector per member). Fields and energy densities come out
    /// [B] + their shape and energies as [B]; each member is computed as it would be alone
    /// (<see cref="NeuralMag.AD.Batch"/>).
    /// </summary>
    public int? Batch { get; }
    /// <summary>Device of the state's tensors.</summary>
    public Device Device { get; }
    /// <summary>Floating-point type of the state's tensors.</summary>
    public DType DType { get; }

    /// <summary>Machine epsilon of the state's dtype.</summary>
    public double Eps => DType.Eps();

    /// <summary>The material namespace: <c>state.Material["Ms"]</c> is the attribute "material__Ms".</summary>
    public MaterialNamespace Material { get; }

    /// <summary>Simulation time in s (attribute "t").</summary>
    public double T
    {
        get => Tensor("t").Item();
        set => this["t"] = double.IsFinite(value) ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "The simulation time t must be finite (in s).");
    }

    /// <summary>The magnetization (attribute "m"), a nodal vector function (or a cell one with FIC).</summary>
    public Function M
    {
        get => GetFunction("m");
        set => this["m"] = value;
    }

    /// <summary>"material.Ms" → "material__Ms"; other names unchanged.</summary>
    public static string NormalizeName(string name) => name.Replace(".", "__");

    /// <summary>Names of all attributes.</summary>
    public IEnumerable<string> AttributeNames => _values.Keys;

    /// <summary>True when the attribute exists (dotted names are normalized, "material.Ms" = "material__Ms").</summary>
    public bool Has(string name) => _values.ContainsKey(NormalizeName(name));

    /// <summary>
    /// Reads or assigns an attribute. Assignment converts numbers to 0-d tensors and double arrays to tensors, stores
    /// functions (lambdas, <see cref="NamedFunction"/>) as they are, and clears the resolved-function cache. Reading a
    /// function-valued attribute evaluates it with its arguments fetched from the state by parameter name; a typed
    /// attribute reads back as a <see cref="Function"/>.
    /// </summary>
    public object? this[string name]
    {
        get => Get(name);
        set => Set(name, value);
    }

    private void Set(string name, object? value)
    {
        if (string.IsNullOrEmpty(name)) throw new ArgumentException("Attribute names must be non-empty.", nameof(name));
        name = NormalizeName(name);
        value = value switch
        {
            double d => Scalar(d),
            float f => Scalar(f),
            int i => Scalar(i),
            double[] a => Tensor(a),
            Array a when a.GetType().GetElementType() is { IsArray: true } => Tensor(a),
            Array a when a.Rank > 1 => NTensor.From(a, DType, Device),
            _ => value,
        };
        if (value is NTensor t && (t.DType != DType || t.Device != Device)) value = t.Cast(DType).To(Device);
        _values[name] = value;
        _resolved.Clear();
        _resolvedByFunc.Clear();
    }

    private object? Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        name = NormalizeName(name);
        if (!_values.TryGetValue(name, out var raw)) throw MissingAttribute(name, null);
        object? value = raw;
        if (raw is Delegate or NamedFunction) value = Call(raw, name);
        if (_types.TryGetValue(name, out var type) && value is NTensor tensor)
            return new Function(this, type.Spaces, type.Shape, tensor, name);
        return value;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _preparedBuilds = new();
    // The last output of each attribute function (by the function object), shared by every plan that evaluates it,
    // so that a re-resolve after an assignment (of m, t, ...) finds rho and the other unchanged intermediates as they were.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, StepMemo.Slot> _memos = new();

    /// <summary>
    /// Diagnostics: how many times each prepared operator of this state's terms was built, by name ("demag.weights",
    /// "demag.device", "exchange.operator", "exchange.device", ...). A solve on an unchanged configuration builds each once.
    /// </summary>
    internal IReadOnlyDictionary<string, long> PreparedBuilds => _preparedBuilds;

    /// <summary>Counts one construction of the prepared operator <paramref name="what"/> (see <see cref="PreparedBuilds"/>).</summary>
    internal void CountPreparedBuild(string what) => _preparedBuilds.AddOrUpdate(what, 1, (_, n) => n + 1);

    /// <summary>
    /// Diagnostics of a batched state: how many members each term served from its member memo instead of computing
    /// them (members whose inputs did not change since their last evaluation), by term name ("exchange", "demag", ...).
    /// </summary>
    internal IReadOnlyDictionary<string, long> MemberReuses => _memberReuses;

    /// <summary>Counts <paramref name="members"/> members of term <paramref name="what"/> served from its memo.</summary>
    internal void CountMemberReuses(string what, long members)
    {
        if (members > 0) _memberReuses.AddOrUpdate(what, members, (_, n) => n + members);
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _memberReuses = new();

    /// <summary>Drops all cached resolutions (a Function switched between a fixed tensor and a defining function).</summary>
    internal void InvalidateResolved()
    {
        _resolved.Clear();
        _resolvedByFunc.Clear();
    }

    /// <summary>Removes an attribute.</summary>
    public void Remove(string name)
    {
        name = NormalizeName(name);
        _values.Remove(name);
        _types.Remove(name);
        _resolved.Clear();
        _resolvedByFunc.Clear();
    }

    /// <summary>
    /// Assigns an attribute that always reads back as a <see cref="Function"/> of the given spaces and value shape
    /// (upstream's typed attributes; field terms register h_X this way).
    /// </summary>
    public void SetTyped(string name, object value, string spaces, int[] shape)
    {
        Set(name, value);
        _types[NormalizeName(name)] = (spaces, shape);
    }

    /// <summary>The tensor value of an attribute (a Function's tensor, a function's result, or the tensor itself).</summary>
    public NTensor Tensor(string name) => Get(name) switch
    {
        NTensor t => t,
        Function f => f.Tensor,
        var other => throw new InvalidOperationException($"Attribute '{name}' holds {other?.GetType().Name ?? "null"}, not a tensor."),
    };

    /// <summary>The attribute as a <see cref="Function"/>.</summary>
    public Function GetFunction(string name) => Get(name) as Function
        ?? throw new InvalidOperationException($"Attribute '{name}' is not a Function.");

    /// <summary>The attribute cast to T.</summary>
    public TValue Get<TValue>(string name) => Get(name) is TValue v ? v
        : throw new InvalidOperationException($"Attribute '{name}' is not a {typeof(TValue).Name}.");

    /// <summary>The raw stored value (a function stays a function).</summary>
    public object? Raw(string name) => _values.TryGetValue(NormalizeName(name), out var v) ? v : throw MissingAttribute(NormalizeName(name), null);

    // ---------------------------------------------------------------- tensors of this state's dtype/device

    /// <summary>A rank-0 tensor of the state's dtype and device.</summary>
    public NTensor Scalar(double value) => NTensor.Scalar(value, DType, Device);
    /// <summary>A tensor of the state's dtype and device from row-major values (1-D when <paramref name="shape"/> is null).</summary>
    public NTensor Tensor(double[] values, int[]? shape = null) => NTensor.FromArray(values, shape, DType, Device);
    /// <summary>A zero tensor of the state's dtype and device.</summary>
    public NTensor Zeros(int[] shape) => NTensor.Zeros(shape, DType, Device);
    /// <summary>A constant tensor of the state's dtype and device.</summary>
    public NTensor Full(int[] shape, double value) => NTensor.Full(shape, value, DType, Device);

    /// <summary>
    /// Coordinates (x, y, z, ...) of the nodes ('n') or cell centres ('c') per axis, each of the full grid shape, in m.
    /// </summary>
    public NTensor[] Coordinates(string? spaces = null)
    {
        spaces ??= new string('c', Mesh.Dim);
        var axes = new NTensor[spaces.Length];
        for (int i = 0; i < spaces.Length; i++)
        {
            double o = Mesh.Origin[i], h = Mesh.Dx[i];
            int n = Mesh.N[i];
            axes[i] = spaces[i] switch
            {
                'c' => NTensor.Linspace(o + h / 2, o + h / 2 + h * (n - 1), n, DType, Device),
                'n' => Mesh.Pbc[i].IsPeriodic ? NTensor.Linspace(o, o + h * (n - 1), n, DType, Device) : NTensor.Linspace(o, o + h * n, n + 1, DType, Device),
                _ => throw new ArgumentException($"Unknown function space '{spaces[i]}'."),
            };
        }
        return NTensor.Meshgrid(axes);
    }

    /// <summary>Marks the cells where <paramref name="condition"/> (0/1 per cell) is set as domain <paramref name="id"/>.</summary>
    /// <param name="id">Domain id, 0 or more (0 marks cells outside the magnet: rho = eps there).</param>
    /// <param name="condition">Per-cell mask of the mesh's cell shape (nonzero = in the domain).</param>
    public void AddDomain(int id, NTensor condition)
    {
        ArgumentNullException.ThrowIfNull(condition);
        if (id < 0) throw new ArgumentOutOfRangeException(nameof(id), id, $"Domain id must be 0 or more (0 = outside the magnet), got {id}.");
        if (!Shapes.Equal(condition.GetShape(), Mesh.N))
            throw new ArgumentException($"AddDomain: condition has shape {Shapes.Format(condition.GetShape())}; it needs one value per cell, shape {Shapes.Format(Mesh.N)}.", nameof(condition));
        var domains = GetFunction("domains");
        var current = domains.Tensor;
        if (current.Eq(Scalar(1)).Min().Item() == 1) current = NTensor.ZerosLike(current);
        domains.Tensor = NTensor.Where(condition, Full(current.GetShape(), id), current);
    }

    // ---------------------------------------------------------------- evaluation and resolve

    /// <summary>Calls a function with its arguments read from the state by parameter name (resolved once, cached).</summary>
    internal NTensor Call(object func, string what)
    {
        NamedFunction resolved;
        if (what.Length > 0 && _values.TryGetValue(what, out var stored) && ReferenceEquals(stored, func))
        {
            if (!_resolved.TryGetValue(what, out resolved!))
                _resolved[what] = resolved = ResolveCore(func, null, null, null, what, allowUnusedArgs: false);
        }
        else if (!_resolvedByFunc.TryGetValue(func, out resolved!))
            _resolvedByFunc[func] = resolved = ResolveCore(func, null, null, null, null, allowUnusedArgs: false);
        var args = new NTensor[resolved.Parameters.Count];
        for (int i = 0; i < args.Length; i++) args[i] = ArgumentValue(resolved.Parameters[i], what);
        return resolved.Invoke(args);
    }

    /// <summary>The tensor passed for a parameter name: a Function's tensor, or the tensor itself.</summary>
    private NTensor ArgumentValue(string name, string requiredBy)
    {
        if (!_values.ContainsKey(name)) throw MissingAttribute(name, requiredBy);
        return Get(name) switch
        {
            NTensor t => t,
            Function f => f.Tensor,
            var other => throw new InvalidOperationException($"Attribute '{name}' (needed by {requiredBy}) holds {other?.GetType().Name ?? "null"}, which cannot be passed to a function."),
        };
    }

    /// <summary>Resolves an attribute by name (see the other overload).</summary>
    public NamedFunction Resolve(string attribute, IReadOnlyList<string>? funcArgs = null,
        IReadOnlyDictionary<string, string>? remap = null, IReadOnlyDictionary<string, object>? inject = null)
    {
        ArgumentNullException.ThrowIfNull(attribute);
        var name = NormalizeName(attribute);
        var raw = Raw(name);
        if (raw is Function { Func: { } f }) raw = f;
        if (!Callable.IsCallable(raw)) throw new ArgumentException($"Attribute '{attribute}' is not a function of other attributes; nothing to resolve.", nameof(attribute));
        return ResolveCore(raw!, funcArgs, remap, inject, name, allowUnusedArgs: false);
    }

    /// <summary>
    /// Turns a function of state attributes into a plain function of <paramref name="funcArgs"/> (upstream's
    /// <c>state.resolve</c>): every parameter that is itself a function-valued attribute is evaluated from its own
    /// dependencies, everything not in <paramref name="funcArgs"/> is bound to its current value, <paramref name="remap"/>
    /// renames parameters in the whole graph and <paramref name="inject"/> replaces named dependencies. Without funcArgs
    /// the result takes all static dependencies (in order of first use). The dependency walk happens here, once;
    /// calling the result only runs the functions, on the tape when one records.
    /// </summary>
    /// <param name="func">A lambda or <see cref="NamedFunction"/> whose parameter names are attribute names.</param>
    /// <param name="funcArgs">Arguments of the result, in order; each must be read somewhere in the graph.</param>
    /// <param name="remap">Parameter renames applied to every function of the graph. A rename may not make two
    /// parameters of one function the same name (they would merge into one argument).</param>
    /// <param name="inject">Replacements for attributes of the graph: a function (its own parameters are resolved
    /// from the state) or a value (a number, double[], <see cref="NTensor"/> or fixed <see cref="Function"/>), which is
    /// bound in place of the attribute's value. Each key must be a dependency of the graph and not a funcArg.</param>
    /// <exception cref="ArgumentException">A funcArg the graph never reads, an inject key that is not a dependency,
    /// an injected value of another type, or a remap that merges two parameters.</exception>
    /// <exception cref="KeyNotFoundException">A parameter names no attribute (with a did-you-mean suggestion).</exception>
    public NamedFunction Resolve(object func, IReadOnlyList<string>? funcArgs = null,
        IReadOnlyDictionary<string, string>? remap = null, IReadOnlyDictionary<string, object>? inject = null)
    {
        ArgumentNullException.ThrowIfNull(func);
        if (func is string attribute) return Resolve(attribute, funcArgs, remap, inject);
        return ResolveCore(func, funcArgs, remap, inject, null, allowUnusedArgs: false);
    }

    /// <summary>
    /// As <see cref="Resolve(object, IReadOnlyList{string}?, IReadOnlyDictionary{string, string}?, IReadOnlyDictionary{string, object}?)"/>,
    /// but a funcArg the graph does not read is accepted (its argument is ignored): for solvers whose right-hand side
    /// always takes t whether or not a field depends on it.
    /// </summary>
    internal NamedFunction ResolveAllowingUnusedArgs(object func, IReadOnlyList<string> funcArgs) =>
        ResolveCore(func, funcArgs, null, null, null, allowUnusedArgs: true);

    /// <summary>True when <paramref name="func"/> or a function-valued attribute it reads (transitively) reads <paramref name="attribute"/>.</summary>
    internal bool DependsOn(object func, string attribute)
    {
        attribute = NormalizeName(attribute);
        var seen = new HashSet<string>();
        bool Walk(object f)
        {
            foreach (var p in Callable.From(f, "dependency walk").Parameters)
            {
                if (p == attribute) return true;
                if (!seen.Add(p) || !_values.TryGetValue(p, out var v)) continue;
                if (v is Function { Func: { } ff }) v = ff;
                if (Callable.IsCallable(v) && Walk(v!)) return true;
            }
            return false;
        }
        return Walk(func);
    }

    /// <summary>An injected replacement: a function of attributes, or a value bound as a tensor of this state.</summary>
    private object ConvertInjected(string key, object? value) => value switch
    {
        null => throw new ArgumentNullException(nameof(value), $"inject['{key}'] is null: inject a function of attributes or a value (number, double[], NTensor)."),
        _ when Callable.IsCallable(value) => value,
        Function f => f.Tensor,
        NTensor t => t.DType != DType || t.Device != Device ? t.Cast(DType).To(Device) : t,
        double d => Scalar(d),
        float f => Scalar(f),
        int i => Scalar(i),
        double[] a => Tensor(a),
        Array a => Tensor(a),
        _ => throw new ArgumentException($"inject['{key}'] is a {value.GetType().Name}; inject a function of attributes (a lambda or NamedFunction) " +
                                         "or a value (a number, double[], NTensor or Function).", "inject"),
    };

    /// <param name="func">The function to resolve (delegate, NamedFunction or attribute name).</param>
    /// <param name="funcArgs">Parameters of the result, or null for all static dependencies.</param>
    /// <param name="remap">Parameter renames applied in the whole graph.</param>
    /// <param name="inject">Named dependencies replaced by other functions.</param>
    /// <param name="targetName">The attribute the function is stored under, if any (for messages and cycle detection).</param>
    private NamedFunction ResolveCore(object func, IReadOnlyList<string>? funcArgs, IReadOnlyDictionary<string, string>? remap,
        IReadOnlyDictionary<string, object>? inject, string? targetName, bool allowUnusedArgs)
    {
        var target = Callable.From(func, targetName == null ? "resolve target" : $"attribute '{targetName}'");
        var targetLabel = targetName == null ? "the resolved function" : $"'{targetName}'";
        var renames = new Dictionary<string, string>();
        if (remap != null)
            foreach (var (from, to) in remap)
            {
                if (string.IsNullOrEmpty(from) || string.IsNullOrEmpty(to))
                    throw new ArgumentException($"remap entry '{from}' -> '{to}': both names must be non-empty attribute names.", nameof(remap));
                renames[NormalizeName(from)] = NormalizeName(to);
            }
        var inj = new Dictionary<string, object>();
        if (inject != null)
            foreach (var (key, value) in inject)
            {
                if (string.IsNullOrEmpty(key)) throw new ArgumentException("inject has an empty key; keys are attribute names.", nameof(inject));
                inj[NormalizeName(key)] = ConvertInjected(key, value);
            }
        var exposed = funcArgs?.Select(a => NormalizeName(a ?? throw new ArgumentException("funcArgs contains null; entries are attribute names.", nameof(funcArgs)))).ToList();
        if (exposed != null)
        {
            var twice = exposed.GroupBy(a => a).FirstOrDefault(g => g.Count() > 1);
            if (twice != null) throw new ArgumentException($"funcArgs names '{twice.Key}' twice; each argument of the resolved function needs its own name.", nameof(funcArgs));
            foreach (var a in exposed)
                if (inj.ContainsKey(a))
                    throw new ArgumentException($"'{a}' is both a funcArg and an inject key: a funcArg is an argument of the resolved function, so it cannot also be replaced.", nameof(inject));
        }
        string Map(string p) => renames.TryGetValue(p, out var r) ? r : p;
        // Every parameter name seen in the graph, after renaming (for unused funcArgs/inject keys and suggestions).
        var graphNames = new List<string>();
        string[] MappedParameters(Callable fn, string label)
        {
            var mapped = fn.Parameters.Select(Map).ToArray();
            for (int i = 0; i < mapped.Length; i++)
                for (int j = 0; j < i; j++)
                    if (mapped[i] == mapped[j])
                        throw new ArgumentException(
                            $"remap makes parameters '{fn.Parameters[j]}' and '{fn.Parameters[i]}' of {label} both read '{mapped[i]}': they would merge into one argument. " +
                            "Rename to a name that is not already a parameter of that function.", nameof(remap));
            foreach (var p in mapped)
                if (!graphNames.Contains(p)) graphNames.Add(p);
            return mapped;
        }

        var slots = new Dictionary<string, int>();
        var constants = new List<(int Slot, string Name)>();
        var injectedConstants = new List<(int Slot, NTensor Value)>();
        var steps = new List<(int Slot, Callable Fn, int[] Args, StepMemo.Slot Memo)>();
        var freeArgs = new List<string>();
        if (exposed != null)
            foreach (var a in exposed) slots[a] = slots.Count;

        var visiting = new List<string>();
        if (targetName != null) visiting.Add(targetName);
        int SlotOf(string name, string requiredBy)
        {
            if (slots.TryGetValue(name, out var s)) return s;
            if (visiting.Contains(name))
                throw new InvalidOperationException($"Cycle in the dependency graph: {string.Join(" -> ", visiting.SkipWhile(v => v != name).Append(name))}.");
            bool isInjected = inj.TryGetValue(name, out var injected);
            object? source = isInjected ? injected
                : _values.TryGetValue(name, out var v) ? v : throw MissingAttribute(name, requiredBy);
            if (source is Function { Func: { } ff }) source = ff;
            if (Callable.IsCallable(source))
            {
                visiting.Add(name);
                var fn = Callable.From(source!, $"attribute '{name}'");
                var args = MappedParameters(fn, $"'{name}'").Select(p => SlotOf(p, $"'{name}'")).ToArray();
                visiting.Remove(name);
                int slot = slots.Count;
                slots[name] = slot;
                steps.Add((slot, fn, args, _memos.GetValue(source!, _ => new StepMemo.Slot())));
                return slot;
            }
            int cs = slots.Count;
            slots[name] = cs;
            if (isInjected) injectedConstants.Add((cs, (NTensor)injected!));
            else if (exposed == null) freeArgs.Add(name);
            else constants.Add((cs, name));
            return cs;
        }

        var targetArgs = MappedParameters(target, targetLabel).Select(p => SlotOf(p, targetLabel)).ToArray();
        foreach (var key in inj.Keys)
            if (!graphNames.Contains(key))
                throw new ArgumentException($"inject names '{key}', which is not a dependency of {targetLabel} (the graph reads: {string.Join(", ", graphNames)}).{SuggestFrom(key, graphNames)}", nameof(inject));
        if (exposed != null && !allowUnusedArgs)
        {
            foreach (var a in exposed)
                if (!graphNames.Contains(a))
                    throw new ArgumentException(
                        $"funcArgs names '{a}', which {targetLabel} and its dependencies never read (they read: {string.Join(", ", graphNames)}); " +
                        $"its argument would be ignored.{SuggestFrom(a, graphNames)}", nameof(funcArgs));
        }
        var parameters = exposed ?? freeArgs;
        // Free (exposed) arguments occupy the first slots when funcArgs is given; otherwise map each by name.
        var paramSlots = parameters.Select(p => slots[p]).ToArray();
        var bound = constants.Select(c => (c.Slot, Value: ArgumentValue(c.Name, "the resolved function"))).Concat(injectedConstants).ToArray();
        int slotCount = slots.Count;
        var stepArray = steps.ToArray();
        var targetInvoke = target.Invoke;
        return new NamedFunction(parameters, args =>
        {
            var env = new NTensor[slotCount];
            for (int i = 0; i < paramSlots.Length; i++) env[paramSlots[i]] = args[i];
            foreach (var (slot, value) in bound) env[slot] = value;
            for (int k = 0; k < stepArray.Length; k++)
            {
                var (slot, fn, argSlots, memo) = stepArray[k];
                var a = new NTensor[argSlots.Length];
                for (int i = 0; i < a.Length; i++) a[i] = env[argSlots[i]];
                env[slot] = StepMemo.Evaluate(ref memo.Last, fn, a);
            }
            var ta = new NTensor[targetArgs.Length];
            for (int i = 0; i < ta.Length; i++) ta[i] = env[targetArgs[i]];
            return targetInvoke(ta);
        });
    }

    /// <summary>
    /// Renames a function's parameters (upstream's <c>state.remap</c>): the result takes mapping[p] where f took p.
    /// </summary>
    public static NamedFunction Remap(object func, IReadOnlyDictionary<string, string> mapping)
    {
        ArgumentNullException.ThrowIfNull(func);
        ArgumentNullException.ThrowIfNull(mapping);
        var c = Callable.From(func, "remap target");
        return new NamedFunction(c.Parameters.Select(p => mapping.TryGetValue(p, out var r) ? NormalizeName(r) : p).ToArray(), c.Invoke);
    }

    private Exception MissingAttribute(string name, string? requiredBy)
    {
        var msg = requiredBy == null
            ? $"State has no attribute '{name}'.{Suggest(name)}"
            : $"Parameter '{name}' of {requiredBy} names no state attribute; {requiredBy} needs an attribute called '{name}'.{Suggest(name)}";
        return new KeyNotFoundException(msg);
    }

    /// <summary>" Did you mean 'T'?" for a close existing name (edit distance, prefix or material namespace).</summary>
    private string Suggest(string name) => SuggestFrom(name, _values.Keys);

    /// <summary>" Did you mean 'x'?" for the closest of <paramref name="candidates"/>, or "" when none is close.</summary>
    private static string SuggestFrom(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestScore = int.MaxValue;
        foreach (var k in candidates)
        {
            int d = EditDistance.Between(name.ToLowerInvariant(), k.ToLowerInvariant());
            if (name.StartsWith(k, StringComparison.OrdinalIgnoreCase) || k.StartsWith(name, StringComparison.OrdinalIgnoreCase)) d = Math.Min(d, 1);
            if ("material__" + name == k) d = 0;
            if (k is "t" or "eps" or "domains" or "domain" or "rho") d++; // prefer the user's own attributes
            if (d < bestScore) { bestScore = d; best = k; }
        }
        return best != null && bestScore <= Math.Max(2, name.Length / 3) ? $" Did you mean '{best}'?" : "";
    }
}

/// <summary>The material namespace: <c>Material["Ms"]</c> is the state attribute "material__Ms" (one store).</summary>
public sealed partial class MaterialNamespace
{
    private readonly State _state;
    internal MaterialNamespace(State state) => _state = state;

    /// <summary>The attribute "material__" + <paramref name="name"/> (get and set as on the state).</summary>
    public object? this[string name]
    {
        get => _state["material__" + name];
        set => _state["material__" + name] = value;
    }

    /// <summary>The current tensor of material parameter <paramref name="name"/>, e.g. "Ms".</summary>
    public NTensor Tensor(string name) => _state.Tensor("material__" + name);

    /// <summary>Material parameter <paramref name="name"/> as a <see cref="Function"/>.</summary>
    public Function GetFunction(string name) => _state.GetFunction("material__" + name);

    /// <summary>True when material parameter <paramref name="name"/> is set.</summary>
    public bool Has(string name) => _state.Has("material__" + name);
}

/// <summary>
/// The last inputs and output of one intermediate attribute function in a resolved plan. Attribute functions are pure
/// functions of their arguments, so when every argument is the same immutable storage as last time and nothing
/// records on the tape, the last output is reused: rho rebuilt from the domains, or a material law of a fixed
/// temperature, is computed once instead of on every field evaluation. The memo belongs to the function object and is
/// shared by every plan of the state that evaluates it (a plan resolved again after an assignment of m or t finds rho
/// unchanged). Outputs on every device are kept (on an ILGPU
/// device rho then keeps one storage from call to call, so the operators prepared from it are built once per State
/// configuration: an assignment of an input gives it a new storage, which misses the memo and rebuilds them once).
/// Only functions with arguments are memoized (one without may read anything, e.g. a clock).
/// </summary>
internal sealed class StepMemo
{
    private readonly Storage[] _inputs;
    private readonly NTensor _output;

    /// <summary>The memo of one attribute function (null before its first evaluation off the tape).</summary>
    internal sealed class Slot
    {
        public StepMemo? Last;
    }

    private StepMemo(Storage[] inputs, NTensor output)
    {
        _inputs = inputs;
        _output = output;
    }

    public static NTensor Evaluate(ref StepMemo? slot, Callable fn, NTensor[] args)
    {
        if (args.Length == 0 || Tape.IsRecording(args)) return fn.Invoke(args);
        var last = Volatile.Read(ref slot);
        if (last != null && last.Matches(args)) return last._output;
        var output = fn.Invoke(args);
        if (!Tape.IsRecording(output))
            Volatile.Write(ref slot, new StepMemo(args.Select(a => a.Storage).ToArray(), output));
        return output;
    }

    private bool Matches(NTensor[] args)
    {
        if (args.Length != _inputs.Length) return false;
        for (int i = 0; i < args.Length; i++)
            if (!ReferenceEquals(args[i].Storage, _inputs[i])) return false;
        return true;
    }
}
