using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// A function of tensors whose parameters carry state attribute names (upstream matches a Python function's
/// parameter names against state attributes). C# lambdas keep their parameter names too, so a lambda such as
/// <c>(NTensor T) =&gt; ...</c> works wherever a NamedFunction does; NamedFunction is for code that builds functions
/// with many or computed parameter names (field terms, resolved functions).
/// </summary>
public sealed class NamedFunction
{
    private readonly Func<NTensor[], NTensor> _body;

    /// <summary>Wraps <paramref name="body"/> as a function of the named parameters.</summary>
    /// <param name="parameters">State attribute names, unique, in the order <paramref name="body"/> receives its arguments.</param>
    /// <param name="body">Computes the value from one tensor per parameter; it should use NTensor operations so the tape can record it.</param>
    /// <exception cref="ArgumentException">A parameter name occurs twice.</exception>
    public NamedFunction(IReadOnlyList<string> parameters, Func<NTensor[], NTensor> body)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Distinct().Count() != parameters.Count)
            throw new ArgumentException($"Parameter names must be unique: ({string.Join(", ", parameters)}).", nameof(parameters));
        Parameters = parameters.ToArray();
        _body = body ?? throw new ArgumentNullException(nameof(body));
    }

    /// <summary>Attribute names of the parameters, in call order (dotted names are normalized by the state).</summary>
    public IReadOnlyList<string> Parameters { get; }

    /// <summary>Calls the function with one tensor per parameter.</summary>
    public NTensor Invoke(params NTensor[] args)
    {
        if (args.Length != Parameters.Count)
            throw new ArgumentException($"Function of ({string.Join(", ", Parameters)}) called with {args.Length} arguments.");
        return _body(args);
    }

    /// <summary>"NamedFunction(p1, p2, ...)".</summary>
    public override string ToString() => $"NamedFunction({string.Join(", ", Parameters)})";
}
