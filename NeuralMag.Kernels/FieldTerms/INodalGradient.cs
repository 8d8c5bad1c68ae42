using NeuralMag.AD;

namespace NeuralMag.Kernels.FieldTerms;

/// <summary>
/// A prepared operator that maps nodal m (nodes x 3) to s ⊙ ∇E(m) at the nodes for a quadratic energy E, on its
/// device and in m's precision: the element operators of volume densities on ILGPU devices
/// (<see cref="DeviceElementOperator"/>) and on the CPU (<see cref="CpuElementGradient"/>, unit scale), and of
/// interface densities on ILGPU devices (<see cref="DeviceInterfaceOperator"/>). With unit node scale s it is the raw
/// gradient ∇E.
/// </summary>
public interface INodalGradient : IDisposable
{
    /// <summary>s ⊙ ∇E(m) for nodal m on the operator's device.</summary>
    NTensor Apply(NTensor m);
}
