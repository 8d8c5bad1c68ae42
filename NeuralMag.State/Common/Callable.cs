using System.Reflection;
using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// A function-valued attribute in normalized form: its parameter names (state attribute names) and a fast invoker.
/// Built from a C# delegate (parameter names read by reflection) or a <see cref="NamedFunction"/>.
/// </summary>
internal sealed class Callable
{
    private Callable(string[] parameters, Func<NTensor[], NTensor> invoke, object source)
    {
        Parameters = parameters;
        Invoke = invoke;
        Source = source;
    }

    public string[] Parameters { get; }
    public Func<NTensor[], NTensor> Invoke { get; }
    public object Source { get; }

    public static bool IsCallable(object? value) => value is Delegate or NamedFunction || value is Function { Func: not null };

    public static Callable From(object value, string what)
    {
        switch (value)
        {
            case NamedFunction nf:
                return new Callable(nf.Parameters.Select(State.NormalizeName).ToArray(), nf.Invoke, nf);
            case Function { Func: { } f }:
                return From(f, what);
            case Delegate d:
                return FromDelegate(d, what);
            default:
                throw new ArgumentException($"{what} is not a function (got {value.GetType().Name}).");
        }
    }

    private static Callable FromDelegate(Delegate d, string what)
    {
        var ps = d.Method.GetParameters();
        // Closed static lambdas can carry a hidden first parameter: Invoke's signature is the one that counts.
        var invokeParams = d.GetType().GetMethod("Invoke")!.GetParameters();
        var names = new string[invokeParams.Length];
        int skip = ps.Length - invokeParams.Length;
        for (int i = 0; i < invokeParams.Length; i++)
        {
            names[i] = State.NormalizeName(ps[i + skip].Name ?? invokeParams[i].Name
                ?? throw new ArgumentException($"{what}: parameter {i} has no name."));
            if (invokeParams[i].ParameterType != typeof(NTensor))
                throw new ArgumentException($"{what}: parameter '{names[i]}' has type {invokeParams[i].ParameterType.Name}; function attributes take NTensor parameters.");
        }
        var ret = d.GetType().GetMethod("Invoke")!.ReturnType;
        if (ret != typeof(NTensor))
            throw new ArgumentException($"{what}: returns {ret.Name}; function attributes return NTensor.");
        Func<NTensor[], NTensor> invoke = d switch
        {
            Func<NTensor> f0 => _ => f0(),
            Func<NTensor, NTensor> f1 => a => f1(a[0]),
            Func<NTensor, NTensor, NTensor> f2 => a => f2(a[0], a[1]),
            Func<NTensor, NTensor, NTensor, NTensor> f3 => a => f3(a[0], a[1], a[2]),
            Func<NTensor, NTensor, NTensor, NTensor, NTensor> f4 => a => f4(a[0], a[1], a[2], a[3]),
            Func<NTensor, NTensor, NTensor, NTensor, NTensor, NTensor> f5 => a => f5(a[0], a[1], a[2], a[3], a[4]),
            Func<NTensor, NTensor, NTensor, NTensor, NTensor, NTensor, NTensor> f6 => a => f6(a[0], a[1], a[2], a[3], a[4], a[5]),
            _ => a =>
            {
                try { return (NTensor)d.DynamicInvoke(a.Cast<object>().ToArray())!; }
                catch (TargetInvocationException e) when (e.InnerException != null) { throw e.InnerException; }
            },
        };
        return new Callable(names, invoke, d);
    }
}
