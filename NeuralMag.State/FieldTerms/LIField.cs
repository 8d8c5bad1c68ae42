using NeuralMag.Kernels.FieldTerms;

namespace NeuralMag;

/// <summary>
/// A single Lifshitz invariant: E = ∫ D_ijk (m_i ∂_k m_j − m_j ∂_k m_i) dV, the building block of DMI energies for any
/// crystal symmetry (bulk DMI is L_zy^x + L_xz^y + L_yx^z). The invariant is chosen by three letters "ijk" from x, y, z;
/// its constant D_ijk in J/m² is read from material.D{ijk} (e.g. material.Dxyz). Default name "LI_{ijk}".
/// </summary>
public sealed class LIField : FieldTerm
{
    private readonly string _li;

    /// <param name="li">Three letters of x, y, z: the pair (i, j) and the derivative direction k, e.g. "xyz".</param>
    public LIField(string li)
    {
        if (li is null) throw new ArgumentNullException(nameof(li), "LI must be a string of three letters x, y, z, e.g. \"xyz\".");
        if (li.Length != 3) throw new ArgumentException($"LI must be a string of length 3, but got '{li}' of length {li.Length}.", nameof(li));
        foreach (var ch in li)
            if (ch is not ('x' or 'y' or 'z')) throw new ArgumentException($"LI contains invalid character '{ch}'. Valid characters are 'x', 'y' and 'z'.", nameof(li));
        _li = li;
        Density = new LifshitzDensity(li);
    }

    /// <summary>"LI_" + the three letters, e.g. "LI_xyz".</summary>
    public override string DefaultName => $"LI_{_li}";
    /// <summary>e = D_ijk (m_i ∂_k m_j − m_j ∂_k m_i) (J/m^3).</summary>
    public override EnergyDensity Density { get; }

    private sealed class LifshitzDensity(string li) : EnergyDensity
    {
        private readonly int _i = li[0] - 'x', _j = li[1] - 'x', _k = li[2] - 'x';

        public override IReadOnlyList<CellParameter> Parameters { get; } = new[] { new CellParameter($"material__D{li}", 1) };

        public override Dual Evaluate(in QuadPoint q)
        {
            var m = q.M;
            return q.Param(0) * (m[_i] * q.Grad(_j, _k) - m[_j] * q.Grad(_i, _k));
        }
    }
}
