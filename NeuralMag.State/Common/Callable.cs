using System.Reflection;
using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Uniform view of the function-like values a state accepts: a <see cref="NamedFunction"/> or a C# delegate whose
/// parameters (all <see cref="NTensor"/>) name state attributes. Converting a delegate reads its parameter names once
/// and builds a typed invoker, so calls avoid reflection for up to six parameters.
/// </summary>
internal static class Callable
{
    /// <summary>True for values the state treats as dynamic (function-valued) attributes.</summary>
    public static bool IsCallable(object? value) => value is NamedFunction || value is Delegate;

    /// <summary>Wraps a NamedFunction or delegate as a NamedFunction (identity for NamedFunction).</summary>
    public static NamedFunction ToNamed(object value, string? attribute = null)
    {
        if (value is NamedFunction nf) return nf;
        if (value is not Delegate d)
            throw new ArgumentException($"Value of type {value?.GetType().Name ?? "null"} is not a function.");
        var ps = d.Method.GetParameters();
        foreach (var p in ps)
            if (p.ParameterType != typeof(NTensor))
                throw new ArgumentException(
                    $"Parameter '{p.Name}' of the function{(attribute is null ? "" : $" for '{attribute}'")} has type " +
                    $"{p.ParameterType.Name}; function parameters must be NTensor (they receive state attributes as tensors).");
        if (d.Method.ReturnType != typeof(NTensor))
            throw new ArgumentException(
                $"The function{(attribute is null ? "" : $" for '{attribute}'")} returns {d.Method.ReturnType.Name}; it must return NTensor.");
        var names = ps.Select(p => State.Normalize(p.Name ?? throw new ArgumentException("Function parameter without a name."))).ToArray();
        Func<NTensor[], NTensor> body = d switch
        {
            Func<NTensor> f0 => _ => f0(),
            Func<NTensor, NTensor> f1 => a => f1(a[0]),
            Func<NTensor, NTensor, NTensor> f2 => a => f2(a[0], a[1]),
            Func<NTensor, NTensor, NTensor, NTensor> f3 => a => f3(a[0], a[1], a[2]),
            Func<NTensor, NTensor, NTensor, NTensor, NTensor> f4 => a => f4(a[0], a[1], a[2], a[3]),
            Func<NTensor, NTensor, NTensor, NTensor, NTensor, NTensor> f5 => a => f5(a[0], a[1], a[2], a[3], a[4]),
            Func<NTensor, NTensor, NTensor, NTensor, NTensor, NTensor, NTensor> f6 => a => f6(a[0], a[1], a[2], a[3], a[4], a[5]),
            _ => a => Unwrap(d, a),
        };
        return new NamedFunction(names, body);
    }

    private static NTensor Unwrap(Delegate d, NTensor[] args)
    {
        try { return (NTensor)d.DynamicInvoke(args.Cast<object>().ToArray())!; }
        catch (TargetInvocationException e) when (e.InnerException is not null) { throw e.InnerException; }
    }
}
