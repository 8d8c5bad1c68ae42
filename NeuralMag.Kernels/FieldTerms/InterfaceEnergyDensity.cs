namespace NeuralMag.Kernels.FieldTerms;

/// <summary>
/// An energy density per area, e(m₁, m₂, parameters) in J/m², on the interface between two xy node layers k₁ and k₂
/// of a 3D grid (upstream's densities with the surface measure dA): m₁ is m on layer k₁ and m₂ on layer k₂ at the
/// same (x, y), each bilinear over a face of the layer. The <see cref="InterfaceAssembler"/> integrates
/// E = Σ_faces ∫_face e dA and derives the nodal dE/dm on both layers and dE/dp from this one definition. With
/// k₁ = k₂ the density lives on one node layer (m₁ = m₂ = m there), e.g. a surface anisotropy. Densities must be at
/// most quadratic in (m₁, m₂): the field's VJPs use that its derivative in m is then exact from two evaluations.
/// </summary>
public abstract class InterfaceEnergyDensity
{
    /// <summary>
    /// Scalar functions on the layers' faces, of spaces "ccn" (cells in x and y, node layers in z), that
    /// <see cref="InterfacePoint.Param"/> reads on each side, in this order (e.g. "material__iA", "rhoxy").
    /// </summary>
    public abstract IReadOnlyList<string> Parameters { get; }

    /// <summary>The density (J/m²) at one quadrature point of one face pair.</summary>
    public abstract Dual Evaluate(in InterfacePoint p);
}

/// <summary>What an interface density sees at one quadrature point: m on both layers and the face parameters.</summary>
public ref struct InterfacePoint
{
    internal ReadOnlySpan<Dual> MValues;     // 6: m₁ then m₂
    internal ReadOnlySpan<Dual> ParamValues; // 2 per parameter: [2 p + side]

    /// <summary>m on layer k₁ (interpolated from the face's four nodes).</summary>
    public Vec3 M1 => new(MValues[0], MValues[1], MValues[2]);

    /// <summary>m on layer k₂ at the same (x, y).</summary>
    public Vec3 M2 => new(MValues[3], MValues[4], MValues[5]);

    /// <summary>Parameter p on the face of layer k₁ (side 0) or of layer k₂ (side 1).</summary>
    public Dual Param(int p, int side) => ParamValues[2 * p + side];
}
