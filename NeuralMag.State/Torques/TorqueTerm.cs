using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Base of the terms whose sum is the right-hand side of the LLG equation, dm/dt = sum_X tau_X (1/s). A term is a
/// function of state attributes (m, h, material parameters, currents, t), like a field term's h;
/// <see cref="Register"/> adds it to the state as the nodal vector attribute <c>dmdt_name</c> and makes the
/// attribute <c>dmdt</c> the sum of all registered terms. The precession/damping torque of the effective field
/// (<see cref="PrecessionDampingTorque"/>, <c>dmdt_llg</c>) is always part of that sum: it is added with the first
/// other term, and a state without any registered term integrates it alone (<see cref="RightHandSide"/>).
/// </summary>
public abstract class TorqueTerm
{
    /// <summary>The attribute holding the sum of the registered torque terms, in 1/s.</summary>
    public const string SumAttribute = "dmdt";

    /// <summary>Name used when <see cref="Register"/> gets none, e.g. "zhangli".</summary>
    public abstract string DefaultName { get; }

    /// <summary>"dmdt_" + name (the default name when none is given).</summary>
    public string AttributeName(string? name = null) => $"{SumAttribute}_{name ?? DefaultName}";

    /// <summary>The torque dm/dt in 1/s on m's points, as a function of state attributes (its parameter names).</summary>
    public abstract NamedFunction Torque(State state);

    /// <summary>
    /// Adds <c>dmdt_name</c> to the state and appends it to the sum <c>dmdt</c> (creating the sum with
    /// <c>dmdt_llg</c> first when it does not exist yet). Registering a name again replaces that term.
    /// </summary>
    /// <param name="state">The state; it needs its magnetization m.</param>
    /// <param name="name">The term's name (default <see cref="DefaultName"/>), a non-empty identifier.</param>
    public virtual void Register(State state, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        name ??= DefaultName;
        if (name.Length == 0 || name.Contains('.'))
            throw new ArgumentException($"{GetType().Name}.Register: the term name '{name}' must be non-empty and contain no '.'.", nameof(name));
        if (!state.Has("m"))
            throw new InvalidOperationException($"{GetType().Name}.Register: the state has no magnetization 'm'; assign state.M (e.g. a VectorFunction) before registering torque terms.");
        var attr = AttributeName(name);
        var terms = RegisteredTerms(state);
        if (terms.Count == 0 && this is not PrecessionDampingTorque)
        {
            var llg = new PrecessionDampingTorque();
            state.SetTyped(llg.AttributeName(), llg.Torque(state), state.M.Spaces, new[] { 3 });
            terms.Add(llg.AttributeName());
        }
        state.SetTyped(attr, Torque(state), state.M.Spaces, new[] { 3 });
        if (!terms.Contains(attr)) terms.Add(attr);
        var names = terms.ToArray();
        state.SetTyped(SumAttribute, new NamedFunction(names, xs =>
        {
            var s = xs[0];
            for (int i = 1; i < xs.Length; i++) s = s + xs[i];
            return s;
        }), state.M.Spaces, new[] { 3 });
    }

    /// <summary>The attribute names summed in <c>dmdt</c> (empty when no torque term is registered).</summary>
    public static IReadOnlyList<string> Registered(State state) => RegisteredTerms(state);

    private static List<string> RegisteredTerms(State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!state.Has(SumAttribute)) return new List<string>();
        return state.Raw(SumAttribute) is NamedFunction f
            ? f.Parameters.ToList()
            : throw new InvalidOperationException($"The state attribute '{SumAttribute}' is not the sum of registered torque terms (it holds {state.Raw(SumAttribute)?.GetType().Name ?? "null"}); remove it or register torque terms through TorqueTerm.Register.");
    }

    /// <summary>
    /// The LLG right-hand side of <paramref name="state"/> as a function of attributes: the sum <c>dmdt</c> when torque
    /// terms are registered, otherwise the precession/damping torque of h alone (<see cref="PrecessionDampingTorque.Function"/>).
    /// </summary>
    public static object RightHandSide(State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return state.Has(SumAttribute) ? state.Raw(SumAttribute)! : new PrecessionDampingTorque().Torque(state);
    }
}
