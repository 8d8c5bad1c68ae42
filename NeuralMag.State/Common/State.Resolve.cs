using NeuralMag.AD;

namespace NeuralMag;

public sealed partial class State
{
    /// <summary>
    /// Turns a function of state attributes (or the name of a function-valued attribute) into a pure function.
    /// The dependency graph is walked once here: every parameter that names another function-valued attribute
    /// (or a <see cref="Function"/> defined by a function) becomes a sub-function evaluated before its users;
    /// every other parameter is a leaf. With <paramref name="funcArgs"/> = null the result takes all leaves as
    /// parameters; otherwise it takes exactly <paramref name="funcArgs"/> (the walk stops at those names) and every
    /// other leaf is bound to its current state value now, at resolve time.
    /// </summary>
    /// <param name="remap">renames parameters of the function and, recursively, of all its sub-functions.</param>
    /// <param name="inject">replaces named dependencies with the given values (functions, tensors or numbers).</param>
    /// <returns>A NamedFunction whose body runs a precomputed evaluation plan (no lookups per call).</returns>
    public NamedFunction Resolve(object func, IReadOnlyList<string>? funcArgs = null,
        IDictionary<string, string>? remap = null, IDictionary<string, object>? inject = null)
    {
        ArgumentNullException.ThrowIfNull(func);
        string owner = "the function";
        string rootName = "<function>";
        if (func is string attrName)
        {
            attrName = Normalize(attrName);
            rootName = attrName;
            owner = $"'{attrName}'";
            func = RawValue(attrName, null, null);
        }
        if (func is Function { Func: not null } ff) func = ff.Func;
        if (!Callable.IsCallable(func))
            throw new ArgumentException($"Cannot resolve {owner}: it is a {func.GetType().Name}, not a function.");

        var map = Normalize(remap);
        var inj = inject?.ToDictionary(kv => Normalize(kv.Key), kv => kv.Value) ?? new Dictionary<string, object>();
        var args = funcArgs?.Select(Normalize).ToArray();
        var exclude = new HashSet<string>(args ?? Array.Empty<string>());
        var root = Remap(Callable.ToNamed(func), map);

        // depth-first walk: post-order gives an evaluation order where dependencies come first
        var order = new List<(string Name, NamedFunction F)>();
        var leaves = new List<string>();
        var done = new HashSet<string>();
        var stack = new List<string>();
        var referenced = new HashSet<string>();

        void Walk(NamedFunction f, string fname)
        {
            foreach (var p in f.Parameters)
            {
                referenced.Add(p);
                if (exclude.Contains(p) || done.Contains(p)) continue;
                if (stack.Contains(p))
                {
                    var cycle = stack.Skip(stack.IndexOf(p)).Append(p);
                    throw new InvalidOperationException($"Dependency cycle between state attributes: {string.Join(" -> ", cycle)}.");
                }
                object source;
                if (inj.TryGetValue(p, out var injected)) source = injected;
                else source = RawValue(p, p, fname);
                if (source is Function { Func: not null } sf) source = sf.Func;
                if (Callable.IsCallable(source))
                {
                    var sub = Remap(Callable.ToNamed(source, p), map);
                    stack.Add(p);
                    Walk(sub, p);
                    stack.RemoveAt(stack.Count - 1);
                    order.Add((p, sub));
                }
                else leaves.Add(p);
                done.Add(p);
            }
        }

        stack.Add(rootName);
        Walk(root, owner);

        if (args != null)
            foreach (var a in args)
                if (!referenced.Contains(a) && !_values.ContainsKey(a))
                    throw new ArgumentException(
                        $"funcArgs names '{a}', which is neither a state attribute nor a parameter of any function in the " +
                        $"dependency graph of {owner}.{Suggest(a)}");

        if (order.Count == 0 && args == null) return root;

        var exposed = args ?? leaves.ToArray();
        var slot = new Dictionary<string, int>();
        foreach (var a in exposed) slot[a] = slot.Count;
        var template = new List<NTensor?>(new NTensor?[exposed.Length]);
        foreach (var leaf in leaves)
        {
            if (slot.ContainsKey(leaf)) continue;
            slot[leaf] = slot.Count;
            template.Add(inj.TryGetValue(leaf, out var v) ? ToTensorValue(v, leaf) : ArgumentTensor(leaf, owner));
        }
        var steps = new (NamedFunction F, int[] Args, int Out)[order.Count];
        for (int i = 0; i < order.Count; i++)
        {
            var (name, f) = order[i];
            slot[name] = slot.Count;
            template.Add(null);
            steps[i] = (f, f.Parameters.Select(p => slot[p]).ToArray(), slot[name]);
        }
        var rootArgs = root.Parameters.Select(p => slot[p]).ToArray();
        var bound = template.ToArray();
        int nExposed = exposed.Length;

        return new NamedFunction(exposed, input =>
        {
            var s = (NTensor?[])bound.Clone();
            Array.Copy(input, s, nExposed);
            foreach (var (f, ai, o) in steps) s[o] = f.Invoke(Gather(s, ai));
            return root.Invoke(Gather(s, rootArgs));
        });
    }

    private static NTensor[] Gather(NTensor?[] slots, int[] idx)
    {
        var a = new NTensor[idx.Length];
        for (int i = 0; i < idx.Length; i++) a[i] = slots[idx[i]]!;
        return a;
    }

    /// <summary>Renames the parameters of a function (names not in the mapping are kept).</summary>
    public static NamedFunction Remap(object func, IDictionary<string, string>? mapping)
    {
        var f = Callable.ToNamed(func is Function { Func: not null } ff ? ff.Func : func);
        if (mapping is null || mapping.Count == 0) return f;
        var map = Normalize(mapping);
        var names = f.Parameters.Select(p => map.TryGetValue(p, out var n) ? n : p).ToArray();
        if (names.SequenceEqual(f.Parameters)) return f;
        return new NamedFunction(names, f.Invoke);
    }

    private static Dictionary<string, string> Normalize(IDictionary<string, string>? m) =>
        m?.ToDictionary(kv => Normalize(kv.Key), kv => Normalize(kv.Value)) ?? new Dictionary<string, string>();
}
