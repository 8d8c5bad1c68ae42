using System.Collections;
using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Everything a simulation knows: the mesh, the magnetization, material parameters, time and any derived quantity.
/// Attributes live in three stores: raw values (tensors, Functions, functions of other attributes, anything else),
/// attribute types (spaces/shape for attributes that read back wrapped as a <see cref="Function"/>), and a cache of
/// resolved functions (cleared by every assignment). A function-valued attribute is evaluated on every read with its
/// arguments fetched from the state by parameter name. Names may use "." for namespaces ("material.Ms" is stored as
/// "material__Ms").
/// </summary>
public sealed partial class State
{
    private readonly Dictionary<string, object> _values = new();
    private readonly Dictionary<string, (string Spaces, int[] Shape)> _types = new();
    private readonly Dictionary<string, NamedFunction> _funcs = new();

    public State(Mesh mesh, Device? device = null, DType? dtype = null)
    {
        Mesh = mesh ?? throw new ArgumentNullException(nameof(mesh));
        Device = device ?? Config.Device;
        DType = dtype ?? Config.DType;
        Material = new MaterialNamespace(this);
        this["dx"] = Tensor(mesh.Dx);
        this["t"] = 0.0;
        _values["eps"] = NTensor.Scalar(Eps, DType, Device);
        InitDomains();
    }

    public Mesh Mesh { get; }
    public Device Device { get; }
    public DType DType { get; }

    /// <summary>Machine epsilon of the state's dtype (density outside the magnetic domain).</summary>
    public double Eps => DType.Eps();

    /// <summary>Material namespace: <c>state.Material["Ms"]</c> is the attribute "material__Ms".</summary>
    public MaterialNamespace Material { get; }

    /// <summary>Simulation time t [s].</summary>
    public NTensor Time { get => Tensor("t"); set => this["t"] = value; }

    /// <summary>The magnetization m (a vector Function on nodes, once set).</summary>
    public Function M { get => GetFunction("m"); set => this["m"] = value; }

    /// <summary>Converts "material.Ms" to the stored name "material__Ms".</summary>
    public static string Normalize(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return name.Contains('.') ? name.Replace(".", "__") : name;
    }

    /// <summary>Reads (evaluating function-valued attributes) or assigns an attribute.</summary>
    public object this[string name]
    {
        get => Get(name);
        set => Set(name, value);
    }

    /// <summary>True when an attribute of that name exists.</summary>
    public bool Has(string name) => _values.ContainsKey(Normalize(name));

    /// <summary>Names of all attributes.</summary>
    public IEnumerable<string> AttributeNames => _values.Keys;

    /// <summary>Assigns an attribute following the conversion rules (numbers and arrays become tensors).</summary>
    public void Set(string name, object value)
    {
        name = Normalize(name);
        ArgumentNullException.ThrowIfNull(value, name);
        value = Convert(value, name);
        _funcs.Clear();
        _values[name] = value;
    }

    /// <summary>Assigns an attribute that always reads back as a Function of the given spaces and shape.</summary>
    public void SetTyped(string name, object value, string spaces, int[]? shape = null)
    {
        name = Normalize(name);
        Function.CheckSpaces(this, spaces);
        Set(name, value);
        _types[name] = (spaces, shape ?? Array.Empty<int>());
    }

    /// <summary>
    /// Registers a function-valued attribute (field terms: h_X, E_X, ...). Reading it evaluates <paramref name="f"/>
    /// with arguments fetched by parameter name and wraps the result as a Function of the given spaces/shape.
    /// </summary>
    public void RegisterFunctionAttribute(string name, NamedFunction f, string spaces, int[]? shape = null) =>
        SetTyped(name, f, spaces, shape);

    /// <summary>Removes an attribute (and its type).</summary>
    public void Remove(string name)
    {
        name = Normalize(name);
        _values.Remove(name);
        _types.Remove(name);
        _funcs.Clear();
    }

    /// <summary>Reads an attribute: tensors/Functions as stored; function-valued ones evaluated now.</summary>
    public object Get(string name)
    {
        name = Normalize(name);
        var raw = RawValue(name, null, null);
        object value = raw;
        if (Callable.IsCallable(raw))
        {
            if (!_funcs.TryGetValue(name, out var f))
            {
                f = Resolve(name);
                _funcs[name] = f;
            }
            var args = new NTensor[f.Parameters.Count];
            for (int i = 0; i < args.Length; i++) args[i] = ArgumentTensor(f.Parameters[i], $"'{name}'");
            value = f.Invoke(args);
        }
        if (_types.TryGetValue(name, out var type) && value is NTensor t)
            return new Function(this, type.Spaces, type.Shape, t, name);
        return value;
    }

    /// <summary>Reads an attribute as a typed value.</summary>
    public T Get<T>(string name)
    {
        var v = Get(name);
        if (v is T t) return t;
        if (typeof(T) == typeof(NTensor) && v is Function f) return (T)(object)f.Tensor;
        throw new InvalidCastException($"Attribute '{Normalize(name)}' is a {v.GetType().Name}, not a {typeof(T).Name}.");
    }

    /// <summary>The attribute's value as a tensor (a Function gives its tensor).</summary>
    public NTensor Tensor(string name) => AsTensor(Get(name), Normalize(name));

    /// <summary>The attribute as a Function (a function-valued attribute of registered type is wrapped).</summary>
    public Function GetFunction(string name) => Get(name) switch
    {
        Function f => f,
        var v => throw new InvalidCastException($"Attribute '{Normalize(name)}' is a {v.GetType().Name}, not a Function."),
    };

    /// <summary>The raw stored value (no evaluation), e.g. the lambda itself.</summary>
    public object Raw(string name) => RawValue(Normalize(name), null, null);

    /// <summary>The registered (spaces, shape) of a typed attribute, or null.</summary>
    public (string Spaces, int[] Shape)? TypeOf(string name) =>
        _types.TryGetValue(Normalize(name), out var t) ? t : null;

    // ---- tensor helpers (state dtype/device) ----

    public NTensor Tensor(double value) => NTensor.Scalar(value, DType, Device);
    public NTensor Tensor(double[] values) => NTensor.FromArray(values, new[] { values.Length }, DType, Device);
    public NTensor Tensor(Array values) => ArrayToTensor(values);
    public NTensor Tensor(NTensor value) => value.DType == DType && value.Device == Device ? value : value.Cast(DType).To(Device);
    public NTensor Zeros(params int[] shape) => NTensor.Zeros(shape, DType, Device);

    /// <summary>Coordinates x, y, z (one tensor per mesh dimension) of nodes ('n') or cell centres ('c') per axis.</summary>
    public NTensor[] Coordinates(string? spaces = null)
    {
        spaces ??= new string('c', Mesh.Dim);
        var axes = new NTensor[spaces.Length];
        for (int i = 0; i < spaces.Length; i++)
        {
            double o = Mesh.Origin[i], d = Mesh.Dx[i];
            int n = Mesh.N[i];
            axes[i] = spaces[i] switch
            {
                'c' => NTensor.Linspace(o + d / 2, o + d / 2 + d * (n - 1), n, DType, Device),
                'n' => NTensor.Linspace(o, o + d * n, n + 1, DType, Device),
                _ => throw new ArgumentException($"Unknown function space '{spaces[i]}' in '{spaces}'; use 'c' or 'n'."),
            };
        }
        return NTensor.Meshgrid(axes);
    }

    // ---- internals ----

    private object Convert(object value, string name) => value switch
    {
        NTensor or Function or NamedFunction or string => value,
        Delegate d => CheckDelegate(d, name),
        double x => Tensor(x),
        float x => Tensor(x),
        int x => Tensor(x),
        long x => Tensor(x),
        double[] a => Tensor(a),
        Array a when IsNumeric(a) => ArrayToTensor(a),
        _ => value,
    };

    private static Delegate CheckDelegate(Delegate d, string name)
    {
        Callable.ToNamed(d, name); // validates parameter and return types
        return d;
    }

    private static bool IsNumeric(Array a)
    {
        var t = a.GetType().GetElementType();
        while (t is { IsArray: true }) t = t.GetElementType();
        return t == typeof(double) || t == typeof(float) || t == typeof(int) || t == typeof(long);
    }

    private NTensor ArrayToTensor(Array a)
    {
        if (a.GetType().GetElementType() is { IsArray: true })
        {
            var parts = a.Cast<Array>().Select(ArrayToTensor).ToArray();
            if (parts.Length == 0) throw new ArgumentException("Cannot convert an empty nested array to a tensor.");
            var shape = parts[0].Shape;
            foreach (var p in parts)
                if (!p.Shape.SequenceEqual(shape))
                    throw new ArgumentException("Nested array is ragged; all rows must have the same shape.");
            return NTensor.Stack(0, parts);
        }
        return NTensor.From(a, DType, Device);
    }

    internal object RawValue(string name, string? parameter, string? neededBy)
    {
        if (_values.TryGetValue(name, out var v)) return v;
        var msg = parameter is null
            ? $"State has no attribute '{name}'."
            : $"Parameter '{parameter}' of {neededBy} needs the state attribute '{name}', which does not exist.";
        throw new KeyNotFoundException(msg + Suggest(name));
    }

    /// <summary>The tensor passed for argument <paramref name="name"/> when calling a function of the state.</summary>
    internal NTensor ArgumentTensor(string name, string neededBy)
    {
        if (!_values.ContainsKey(name)) RawValue(name, name, neededBy);
        return AsTensor(Get(name), name);
    }

    private NTensor ToTensorValue(object v, string name) => AsTensor(Convert(v, name), name);

    private static NTensor AsTensor(object v, string name) => v switch
    {
        NTensor t => t,
        Function f => f.Tensor,
        _ => throw new InvalidCastException($"Attribute '{name}' is a {v.GetType().Name}, not a tensor or Function."),
    };

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["temperature"] = "T", ["time"] = "t", ["magnetization"] = "m", ["magnetisation"] = "m",
        ["density"] = "rho", ["saturation_magnetization"] = "material__Ms", ["exchange"] = "material__A",
    };

    /// <summary>" Did you mean 'X'?" for a close attribute name, or "".</summary>
    internal string Suggest(string name)
    {
        var names = _values.Keys.Where(k => !k.StartsWith("function__", StringComparison.Ordinal)).ToList();
        string? best = null;
        if (Aliases.TryGetValue(name, out var alias) && names.Contains(alias)) best = alias;
        best ??= names.FirstOrDefault(k => k == "material__" + name || "material__" + k == name);
        best ??= names.FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase));
        if (best is null)
        {
            int bestD = int.MaxValue;
            foreach (var k in names)
            {
                int d = Levenshtein(k, name);
                if (d < bestD && d <= Math.Max(1, Math.Min(k.Length, name.Length) / 3)) { bestD = d; best = k; }
            }
        }
        best ??= names.FirstOrDefault(k => k.Length <= 2 && name.Length > 2 && char.ToLowerInvariant(k[0]) == char.ToLowerInvariant(name[0])
            && names.Count(q => q.Length <= 2 && char.ToLowerInvariant(q[0]) == char.ToLowerInvariant(name[0])) == 1);
        return best is null ? "" : $" Did you mean '{best}'?";
    }

    private static int Levenshtein(string a, string b)
    {
        var d = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) d[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            int prev = d[0];
            d[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int tmp = d[j];
                d[j] = Math.Min(Math.Min(d[j] + 1, d[j - 1] + 1), prev + (a[i - 1] == b[j - 1] ? 0 : 1));
                prev = tmp;
            }
        }
        return d[b.Length];
    }
}

/// <summary>Proxy for the "material" namespace: <c>Material["Ms"]</c> is the state attribute "material__Ms".</summary>
public sealed class MaterialNamespace
{
    private readonly State _state;
    internal MaterialNamespace(State state) => _state = state;

    public object this[string name]
    {
        get => _state[Full(name)];
        set => _state[Full(name)] = value;
    }

    public NTensor Tensor(string name) => _state.Tensor(Full(name));
    public Function GetFunction(string name) => _state.GetFunction(Full(name));
    public bool Has(string name) => _state.Has(Full(name));

    private static string Full(string name) => "material__" + State.Normalize(name);
}
