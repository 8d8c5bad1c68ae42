using NeuralMag.AD;
using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>
/// A quadratic energy E(m) = ½ mᵀKm + bᵀm + E₀ (K symmetric, J) on an ILGPU device, from an operator giving the raw
/// gradient ∇E = Km + b at the nodes (<see cref="INodalGradient"/> with unit node scale):
/// <list type="bullet">
/// <item>E = ½ m·(∇E(m) + ∇E(0)) + E₀, one operator application and a device reduction, ∇E(0) = b made once;</item>
/// <item>dE/dm = ∇E(m);</item>
/// <item>the VJP in m of the field h = S ∇E(m), S = diag(−1/(μ0 M)): K(S g) = ∇E(S g) − ∇E(0).</item>
/// </list>
/// Used by the element-operator volume terms and the interface terms alike; nothing is copied to the host.
/// </summary>
internal sealed class DeviceQuadraticEnergy : IDisposable
{
    private readonly INodalGradient _gradient;

    /// <param name="gradient">The unit-scale gradient operator (owned: disposed with this).</param>
    /// <param name="mShape">Shape of nodal m (nodes x 3).</param>
    /// <param name="dtype">The precision m comes in.</param>
    /// <param name="device">The operator's device.</param>
    /// <param name="e0">E₀ = E(0) in J.</param>
    public DeviceQuadraticEnergy(INodalGradient gradient, int[] mShape, DType dtype, Device device, double e0)
    {
        _gradient = gradient;
        AtZero = gradient.Apply(NTensor.Zeros(mShape, dtype, device));
        E0 = e0;
    }

    /// <summary>∇E(0) = b at the nodes.</summary>
    public NTensor AtZero { get; }

    /// <summary>E(0) in J.</summary>
    public double E0 { get; }

    /// <summary>The precision the constants were made in.</summary>
    public DType DType => AtZero.DType;

    /// <summary>
    /// E(m) for a[0] = m, recorded with its VJP g ∇E(m) when m is on the tape and, when a[<paramref name="rhoIndex"/>]
    /// (rho, cells) is, g dE/d rho_c = g E_c / rho_c from <paramref name="perUnitRho"/>(m) (the cells' energies per unit
    /// rho); the caller checks that no other input records.
    /// </summary>
    public NTensor Energy(NTensor[] a, int rhoIndex = -1, Func<NTensor, NTensor>? perUnitRho = null)
    {
        var m = a[0];
        var gm = _gradient.Apply(m);
        var e = (m * (gm + AtZero)).Sum() * 0.5 + E0;
        if (!Tape.IsRecording(a)) return e;
        bool dm = Tape.IsRecording(m), drho = rhoIndex >= 0 && Tape.IsRecording(a[rhoIndex]);
        if (drho && perUnitRho == null) throw new ArgumentNullException(nameof(perUnitRho), "rho records: the cells' energies per unit rho are needed.");
        return Tape.Record(e, a, g =>
        {
            var grads = new NTensor?[a.Length];
            if (dm) grads[0] = gm * g;
            if (drho) grads[rhoIndex] = (perUnitRho!(m) * g).Reshape(a[rhoIndex].GetShape()).Cast(a[rhoIndex].DType);
            return grads;
        });
    }

    /// <summary>The VJP in m of h = S ∇E(m) for the output gradient g and the node scale S (nodes x 1).</summary>
    public NTensor FieldVjp(NTensor g, NTensor scale) => _gradient.Apply(g * scale) - AtZero;

    public void Dispose() => _gradient.Dispose();
}
