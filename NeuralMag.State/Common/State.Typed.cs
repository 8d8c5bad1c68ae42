using NeuralMag.AD;

namespace NeuralMag;

// Typed overloads so that C# infers the parameter types of a lambda: state.Resolve((x, y) => x - y, ...) and
// state.Define("Ms", T => ...) compile without writing NTensor for every parameter. The lambda's parameter names are
// the attribute names it reads (read by reflection, as for any delegate).
public sealed partial class State
{
    /// <summary>Resolves a lambda of 0 tensor parameters named after attributes (see <see cref="Resolve(object, IReadOnlyList{string}?, IReadOnlyDictionary{string, string}?, IReadOnlyDictionary{string, object}?)"/>).</summary>
    public NamedFunction Resolve(Func<NTensor> func, IReadOnlyList<string>? funcArgs = null,
        IReadOnlyDictionary<string, string>? remap = null, IReadOnlyDictionary<string, object>? inject = null) =>
        Resolve((object)func, funcArgs, remap, inject);

    /// <summary>Resolves a lambda of 1 tensor parameter named after attributes (see <see cref="Resolve(object, IReadOnlyList{string}?, IReadOnlyDictionary{string, string}?, IReadOnlyDictionary{string, object}?)"/>).</summary>
    public NamedFunction Resolve(Func<NTensor, NTensor> func, IReadOnlyList<string>? funcArgs = null,
        IReadOnlyDictionary<string, string>? remap = null, IReadOnlyDictionary<string, object>? inject = null) =>
        Resolve((object)func, funcArgs, remap, inject);

    /// <summary>Resolves a lambda of 2 tensor parameters named after attributes (see <see cref="Resolve(object, IReadOnlyList{string}?, IReadOnlyDictionary{string, string}?, IReadOnlyDictionary{string, object}?)"/>).</summary>
    public NamedFunction Resolve(Func<NTensor, NTensor, NTensor> func, IReadOnlyList<string>? funcArgs = null,
        IReadOnlyDictionary<string, string>? remap = null, IReadOnlyDictionary<string, object>? inject = null) =>
        Resolve((object)func, funcArgs, remap, inject);

    /// <summary>Resolves a lambda of 3 tensor parameters named after attributes (see <see cref="Resolve(object, IReadOnlyList{string}?, IReadOnlyDictionary{string, string}?, IReadOnlyDictionary{string, object}?)"/>).</summary>
    public NamedFunction Resolve(Func<NTensor, NTensor, NTensor, NTensor> func, IReadOnlyList<string>? funcArgs = null,
        IReadOnlyDictionary<string, string>? remap = null, IReadOnlyDictionary<string, object>? inject = null) =>
        Resolve((object)func, funcArgs, remap, inject);

    /// <summary>Resolves a lambda of 4 tensor parameters named after attributes (see <see cref="Resolve(object, IReadOnlyList{string}?, IReadOnlyDictionary{string, string}?, IReadOnlyDictionary{string, object}?)"/>).</summary>
    public NamedFunction Resolve(Func<NTensor, NTensor, NTensor, NTensor, NTensor> func, IReadOnlyList<string>? funcArgs = null,
        IReadOnlyDictionary<string, string>? remap = null, IReadOnlyDictionary<string, object>? inject = null) =>
        Resolve((object)func, funcArgs, remap, inject);

    /// <summary>Resolves a lambda of 5 tensor parameters named after attributes (see <see cref="Resolve(object, IReadOnlyList{string}?, IReadOnlyDictionary{string, string}?, IReadOnlyDictionary{string, object}?)"/>).</summary>
    public NamedFunction Resolve(Func<NTensor, NTensor, NTensor, NTensor, NTensor, NTensor> func, IReadOnlyList<string>? funcArgs = null,
        IReadOnlyDictionary<string, string>? remap = null, IReadOnlyDictionary<string, object>? inject = null) =>
        Resolve((object)func, funcArgs, remap, inject);

    /// <summary>Resolves a lambda of 6 tensor parameters named after attributes (see <see cref="Resolve(object, IReadOnlyList{string}?, IReadOnlyDictionary{string, string}?, IReadOnlyDictionary{string, object}?)"/>).</summary>
    public NamedFunction Resolve(Func<NTensor, NTensor, NTensor, NTensor, NTensor, NTensor, NTensor> func, IReadOnlyList<string>? funcArgs = null,
        IReadOnlyDictionary<string, string>? remap = null, IReadOnlyDictionary<string, object>? inject = null) =>
        Resolve((object)func, funcArgs, remap, inject);

    /// <summary>Assigns attribute <paramref name="name"/> a function of the attributes its 0 parameters name (same as the indexer).</summary>
    public void Define(string name, Func<NTensor> func) => Set(name, func ?? throw new ArgumentNullException(nameof(func)));

    /// <summary>Assigns attribute <paramref name="name"/> a function of the attributes its 1 parameter name (same as the indexer).</summary>
    public void Define(string name, Func<NTensor, NTensor> func) => Set(name, func ?? throw new ArgumentNullException(nameof(func)));

    /// <summary>Assigns attribute <paramref name="name"/> a function of the attributes its 2 parameters name (same as the indexer).</summary>
    public void Define(string name, Func<NTensor, NTensor, NTensor> func) => Set(name, func ?? throw new ArgumentNullException(nameof(func)));

    /// <summary>Assigns attribute <paramref name="name"/> a function of the attributes its 3 parameters name (same as the indexer).</summary>
    public void Define(string name, Func<NTensor, NTensor, NTensor, NTensor> func) => Set(name, func ?? throw new ArgumentNullException(nameof(func)));

    /// <summary>Assigns attribute <paramref name="name"/> a function of the attributes its 4 parameters name (same as the indexer).</summary>
    public void Define(string name, Func<NTensor, NTensor, NTensor, NTensor, NTensor> func) => Set(name, func ?? throw new ArgumentNullException(nameof(func)));

    /// <summary>Assigns attribute <paramref name="name"/> a function of the attributes its 5 parameters name (same as the indexer).</summary>
    public void Define(string name, Func<NTensor, NTensor, NTensor, NTensor, NTensor, NTensor> func) => Set(name, func ?? throw new ArgumentNullException(nameof(func)));

    /// <summary>Assigns attribute <paramref name="name"/> a function of the attributes its 6 parameters name (same as the indexer).</summary>
    public void Define(string name, Func<NTensor, NTensor, NTensor, NTensor, NTensor, NTensor, NTensor> func) => Set(name, func ?? throw new ArgumentNullException(nameof(func)));

}

public sealed partial class MaterialNamespace
{
    /// <summary>Assigns material parameter <paramref name="name"/> ("material__" + name) a function of the attributes its parameters name.</summary>
    public void Define(string name, Func<NTensor> func) => _state.Define("material__" + name, func);

    /// <summary>Assigns material parameter <paramref name="name"/> ("material__" + name) a function of the attributes its parameters name.</summary>
    public void Define(string name, Func<NTensor, NTensor> func) => _state.Define("material__" + name, func);

    /// <summary>Assigns material parameter <paramref name="name"/> ("material__" + name) a function of the attributes its parameters name.</summary>
    public void Define(string name, Func<NTensor, NTensor, NTensor> func) => _state.Define("material__" + name, func);

    /// <summary>Assigns material parameter <paramref name="name"/> ("material__" + name) a function of the attributes its parameters name.</summary>
    public void Define(string name, Func<NTensor, NTensor, NTensor, NTensor> func) => _state.Define("material__" + name, func);

    /// <summary>Assigns material parameter <paramref name="name"/> ("material__" + name) a function of the attributes its parameters name.</summary>
    public void Define(string name, Func<NTensor, NTensor, NTensor, NTensor, NTensor> func) => _state.Define("material__" + name, func);

    /// <summary>Assigns material parameter <paramref name="name"/> ("material__" + name) a function of the attributes its parameters name.</summary>
    public void Define(string name, Func<NTensor, NTensor, NTensor, NTensor, NTensor, NTensor> func) => _state.Define("material__" + name, func);

    /// <summary>Assigns material parameter <paramref name="name"/> ("material__" + name) a function of the attributes its parameters name.</summary>
    public void Define(string name, Func<NTensor, NTensor, NTensor, NTensor, NTensor, NTensor, NTensor> func) => _state.Define("material__" + name, func);

}
