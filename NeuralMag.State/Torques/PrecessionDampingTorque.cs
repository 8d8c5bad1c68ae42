using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Precession and Gilbert damping in the effective field (the Landau–Lifshitz form of the Gilbert equation):
/// tau = -γ' m × h - α γ' m × (m × h), γ' = γ/(1 + α²), γ = <see cref="Constants.Gamma"/> = 221276.14725379366 m/(A s),
/// h the effective field (attribute "h", A/m), α = material.alpha (dimensionless); tau in 1/s. Registered as
/// <c>dmdt_llg</c>, and the whole right-hand side of a state without other torque terms.
/// </summary>
public sealed class PrecessionDampingTorque : TorqueTerm
{
    /// <summary>"llg": attribute dmdt_llg.</summary>
    public override string DefaultName => "llg";

    /// <summary>The torque as a function of the attributes h, m and material__alpha, in 1/s.</summary>
    public static readonly NamedFunction Function = new(new[] { "h", "m", "material__alpha" }, a => Of(a[1], a[0], a[2]));

    /// <summary>-γ'(m × h + α m × (m × h)) for any field h in A/m (nodal vectors) and damping α (scalar or per node).</summary>
    /// <param name="m">Unit magnetization, shape (..., 3).</param>
    /// <param name="h">Field in A/m, broadcastable to m.</param>
    /// <param name="alpha">Gilbert damping, a scalar or broadcastable to m.</param>
    public static NTensor Of(NTensor m, NTensor h, NTensor alpha)
    {
        var gammaPrime = Constants.Gamma / (alpha.Square() + 1.0);
        var mxh = NTensor.Cross(m, h);
        return -gammaPrime * mxh - alpha * gammaPrime * NTensor.Cross(m, mxh);
    }

    /// <inheritdoc />
    public override NamedFunction Torque(State state) => Function;
}
