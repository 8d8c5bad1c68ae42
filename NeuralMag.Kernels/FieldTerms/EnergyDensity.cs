namespace NeuralMag.Kernels.FieldTerms;

/// <summary>A material parameter a density reads: its state attribute name and width (1 scalar, 3 vector) per cell.</summary>
public sealed record CellParameter(string Name, int Width);

/// <summary>
/// The micromagnetic energy density of one field term, e(m, grad m, parameters) in J/m^3, written once over dual
/// numbers. The assembler evaluates it at Gauss points of the trilinear elements and derives from it the nodal field,
/// the energy and all their derivatives: nothing else is needed to add a term.
/// </summary>
public abstract class EnergyDensity
{
    /// <summary>Cell parameters, in the order <see cref="QuadPoint.Param"/> indexes them.</summary>
    public abstract IReadOnlyList<CellParameter> Parameters { get; }

    /// <summary>Nodal vector fields (like m, not differentiated), indexed by <see cref="QuadPoint.Nodal"/>.</summary>
    public virtual IReadOnlyList<string> NodalFields => Array.Empty<string>();

    /// <summary>
    /// Gauss points per axis used when the term's n_gauss is not set. Densities at most quadratic in (m, grad m) with
    /// cell-constant parameters are integrated exactly by 2 points, which equals upstream's default of 3 to round-off.
    /// </summary>
    public virtual int DefaultGaussPoints => 2;

    /// <summary>The energy density at a quadrature point (J/m^3), before the density rho factor.</summary>
    public abstract Dual Evaluate(in QuadPoint q);
}

/// <summary>What a density sees at one Gauss point of one cell.</summary>
public ref struct QuadPoint
{
    internal ReadOnlySpan<Dual> MValues;      // 3
    internal ReadOnlySpan<Dual> GradValues;   // 9: [i * 3 + k] = d m_i / d x_k
    internal ReadOnlySpan<Dual> ParamValues;  // concatenated cell parameters
    internal ReadOnlySpan<int> ParamOffsets;
    internal ReadOnlySpan<Dual> NodalValues;  // 3 per nodal field

    /// <summary>Magnetization (unit vector interpolated from the nodes).</summary>
    public Vec3 M => new(MValues[0], MValues[1], MValues[2]);

    /// <summary>Component i of m differentiated along axis k (1/m).</summary>
    public Dual Grad(int i, int k) => GradValues[i * 3 + k];

    /// <summary>d m / d x_k as a vector.</summary>
    public Vec3 D(int k) => new(GradValues[k], GradValues[3 + k], GradValues[6 + k]);

    /// <summary>Component c of cell parameter p.</summary>
    public Dual Param(int p, int c = 0) => ParamValues[ParamOffsets[p] + c];

    /// <summary>A vector cell parameter.</summary>
    public Vec3 ParamVector(int p) => new(Param(p, 0), Param(p, 1), Param(p, 2));

    /// <summary>Nodal vector field f interpolated to this point.</summary>
    public Vec3 Nodal(int f) => new(NodalValues[3 * f], NodalValues[3 * f + 1], NodalValues[3 * f + 2]);
}
