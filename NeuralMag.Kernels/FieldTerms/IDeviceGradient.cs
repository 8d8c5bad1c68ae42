using NeuralMag.AD;

namespace NeuralMag.Kernels.FieldTerms;

/// <summary>
/// A prepared operator on an ILGPU device that maps nodal m (nodes x 3) to s ⊙ ∇E(m) at the nodes for a quadratic
/// energy E, in m's precision: the element operators of volume densities (<see cref="DeviceElementOperator"/>) and of
/// interface densities (<see cref="DeviceInterfaceOperator"/>). With unit node scale s it is the raw gradient ∇E.
/// </summary>
public interface IDeviceGradient : IDisposable
{
    /// <summary>s ⊙ ∇E(m) for nodal m on the operator's device.</summary>
    NTensor Apply(NTensor m);
}
