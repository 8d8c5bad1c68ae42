using NeuralMag.AD;
using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>
/// An energy bilinear and symmetric in m and one nodal field n (Zeeman: E = −μ0 ∫ Ms m·h dV, demag: −½ μ0 ∫ Ms m·h_demag dV)
/// on the state's device, from the element operator K of Q(u) = E(u, u) (<see cref="BilinearElementOperator"/>) applied
/// with unit node scale (<see cref="CpuElementGradient"/> on the CPU, <see cref="DeviceElementOperator"/> on ILGPU devices):
/// <code>E(m, n) = ½ m·(K n),   dE/dm = ½ K n,   dE/dn = ½ K m.</code>
/// One operator application and a reduction per energy; on a device nothing is copied to the host.
/// </summary>
internal sealed class BilinearEnergy : IDisposable
{
    private readonly INodalGradient _k;

    /// <param name="k">The unit-scale operator u ↦ K u (owned: disposed with this).</param>
    public BilinearEnergy(INodalGradient k) => _k = k;

    /// <summary>E(a[0], a[<paramref name="field"/>]), recorded with its VJPs in m and n when either is on the tape (the
    /// caller checks that no other input records).</summary>
    public NTensor Energy(NTensor[] a, int field)
    {
        var (m, n) = (a[0], a[field]);
        var kn = _k.Apply(n);
        var e = (m * kn).Sum() * 0.5;
        bool dm = Tape.IsRecording(m), dn = Tape.IsRecording(n);
        if (!dm && !dn) return e;
        return Tape.Record(e, a, g =>
        {
            var grads = new NTensor?[a.Length];
            var half = g * 0.5;
            if (dm) grads[0] = kn * half;
            if (dn) grads[field] = _k.Apply(m) * half;
            return grads;
        });
    }

    public void Dispose() => _k.Dispose();
}
