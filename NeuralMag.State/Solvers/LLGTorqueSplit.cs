using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// The LLG right-hand side T(m, h) = −γ'(m × h) − αγ' m × (m × h), γ' = γ/(1 + α²) (1/s, h in A/m), for the
/// implicit integrators, with its linearisation: for a field h(m) that is affine in m (exchange, demag, uniaxial
/// anisotropy, DMI, Zeeman),
/// J v = dT/dm v = −γ'(v × h + m × δh) − αγ'(v × (m × h) + m × (v × h + m × δh)),
/// δh = (h(m + s v) − h(m))/s = (∂h/∂m) v, one field evaluation of our own operators per product (exact for affine
/// h up to round-off, s chosen so that max |s v| = 1e-5; a secant approximation for a non-linear field such as cubic
/// anisotropy, with which Newton still converges). Upstream's split (diffrax MultiTerm): Kvaerno methods take the whole
/// torque of state.h implicitly; KenCarp methods take the torque of state.h_impl implicitly and that of state.h_expl
/// explicitly, both resolved like state.h (e.g. h_impl = exchange, h_expl = demag + Zeeman, registered with
/// <see cref="TotalField"/> under the names "impl" and "expl").
/// </summary>
internal static class LLGTorqueSplit
{
    /// <summary>Relative size max |s v| of the perturbation along v that gives δh.</summary>
    private const double Perturbation = 1e-5;

    /// <summary>
    /// The integrator of <paramref name="method"/> on the state's fields, as functions of τ (units of
    /// <paramref name="scaleT"/>) and m; <paramref name="parameterValues"/> gives the current values of the solver's
    /// explicit parameters (arguments after t and m).
    /// </summary>
    public static ImplicitRungeKutta Create(State state, ImplicitMethod method, IReadOnlyList<string> funcArgs, Func<NTensor[]> parameterValues,
        double scaleT, double rtol, double atol, int maxSteps, ImplicitSolverOptions? options)
    {
        bool imex = method is ImplicitMethod.KenCarp3 or ImplicitMethod.KenCarp5;
        string implicitField = imex ? "h_impl" : "h";
        if (imex)
            foreach (var name in new[] { "h_impl", "h_expl" })
                if (!state.Has(name))
                    throw new InvalidOperationException($"LLGSolver: the implicit–explicit method {method} needs the state attributes h_impl (integrated implicitly) and h_expl (explicitly), as upstream; '{name}' is missing. Register them, e.g. new TotalField(\"exchange\").Register(state, \"impl\") and new TotalField(\"demag\", \"external\").Register(state, \"expl\").");
        var field = state.ResolveAllowingUnusedArgs(new NamedFunction(new[] { implicitField }, a => a[0]), funcArgs);
        var alphaOf = state.ResolveAllowingUnusedArgs(new NamedFunction(new[] { "material__alpha" }, a => a[0]), funcArgs);
        NTensor[] Args(double tau, NTensor m) => new[] { state.Scalar(tau * scaleT), m }.Concat(parameterValues()).ToArray();
        ImplicitLinearization Implicit(double tau, NTensor m)
        {
            var args = Args(tau, m);
            var h = field.Invoke(args);
            var alpha = alphaOf.Invoke(args);
            var value = LLGSolver.Rhs.Invoke(h, m, alpha) * scaleT;
            return new ImplicitLinearization(value, v =>
            {
                double vMax = v.Abs().Max().Item();
                if (vMax == 0) return NTensor.ZerosLike(v);
                double s = Perturbation / vMax;
                var shifted = Args(tau, m + v * s);
                var dh = (field.Invoke(shifted) - h) * (1 / s);
                return Linearized(m, h, alpha, v, dh) * scaleT;
            });
        }
        Func<double, NTensor, NTensor>? explicitPart = null;
        if (imex)
        {
            var rhsExplicit = state.ResolveAllowingUnusedArgs(State.Remap(LLGSolver.Rhs, new Dictionary<string, string> { ["h"] = "h_expl" }), funcArgs);
            explicitPart = (tau, m) => rhsExplicit.Invoke(Args(tau, m)) * scaleT;
        }
        return new ImplicitRungeKutta(method, explicitPart, Implicit, rtol, atol, maxSteps, options);
    }

    /// <summary>dT = −γ'(v × h + m × δh) − αγ'(v × (m × h) + m × (v × h + m × δh)) in 1/s.</summary>
    private static NTensor Linearized(NTensor m, NTensor h, NTensor alpha, NTensor v, NTensor dh)
    {
        var gammaPrime = Constants.Gamma / (alpha.Square() + 1.0);
        var dmxh = NTensor.Cross(v, h) + NTensor.Cross(m, dh);
        return -gammaPrime * dmxh - alpha * gammaPrime * (NTensor.Cross(v, NTensor.Cross(m, h)) + NTensor.Cross(m, dmxh));
    }
}
