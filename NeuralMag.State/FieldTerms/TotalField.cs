using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// The sum of registered terms: h = sum h_X, e = sum e_X, E = sum E_X over the named terms (upstream's TotalField).
/// On a batched state a term shared by the members (e.g. an applied field of the member shape) is expanded to the
/// batch before the sum, so that each member is summed as it would be alone.
/// </summary>
public sealed class TotalField
{
    private readonly string[] _terms;

    /// <summary>The sum of the named, already registered terms.</summary>
    /// <param name="terms">Registered term names, e.g. "exchange", "demag" (at least one).</param>
    /// <exception cref="ArgumentException">No term name is given.</exception>
    public TotalField(params string[] terms)
    {
        ArgumentNullException.ThrowIfNull(terms);
        if (terms.Any(t => t is null)) throw new ArgumentException("TotalField: a term name is null.", nameof(terms));
        if (terms.Length == 0) throw new ArgumentException("TotalField needs at least one term name, e.g. new TotalField(\"exchange\", \"demag\").");
        _terms = terms;
    }

    /// <summary>Registers h_name, e_name and E_name (h, e, E for the default empty name).</summary>
    public void Register(State state, string name = "")
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(name);
        string Attr(string a, string n) => n.Length == 0 ? a : $"{a}_{n}";
        foreach (var t in _terms)
            if (!state.Has(Attr("E", t)))
                throw new InvalidOperationException($"TotalField: term '{t}' is not registered (no attribute '{Attr("E", t)}'). Register it first.");
        bool batched = state.Batch != null;
        NamedFunction Sum(string a) => new(_terms.Select(t => Attr(a, t)).ToArray(), xs => SumOf(batched ? ToCommonShape(xs) : xs));
        var spaces = state.M.Spaces;
        state.SetTyped(Attr("h", name), Sum("h"), spaces, new[] { 3 });
        state.SetTyped(Attr("e", name), Sum("e"), spaces, Array.Empty<int>());
        state[Attr("E", name)] = Sum("E");
    }

    /// <summary>The terms expanded to their common (batch) shape when their shapes differ.</summary>
    private static NTensor[] ToCommonShape(NTensor[] xs)
    {
        var shape = xs[0].GetShape();
        bool differ = false;
        for (int i = 1; i < xs.Length; i++)
            if (!Shapes.Equal(shape, xs[i].GetShape()))
            {
                shape = Shapes.Broadcast(shape, xs[i].GetShape());
                differ = true;
            }
        if (!differ) return xs;
        // A term of the member shape beside batched ones (e.g. a shared applied field) is repeated per member.
        return xs.Select(x => Shapes.Equal(x.GetShape(), shape) ? x : x.Expand(shape)).ToArray();
    }

    /// <summary>
    /// x_0 + x_1 + …, left to right: one fused pass (<see cref="NTensor.LinearCombination"/>, the same rounding) when
    /// three or more terms share one shape, else broadcasting adds.
    /// </summary>
    private static NTensor SumOf(NTensor[] xs)
    {
        if (xs.Length >= 3 && xs.All(x => x.DType == xs[0].DType && x.Device == xs[0].Device && Shapes.Equal(x.GetShape(), xs[0].GetShape())))
            return NTensor.LinearCombination(xs, Enumerable.Repeat(1.0, xs.Length).ToArray());
        var s = xs[0];
        for (int i = 1; i < xs.Length; i++) s = s + xs[i];
        return s;
    }
}
