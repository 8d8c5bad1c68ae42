namespace NeuralMag.Kernels.FieldTerms;

/// <summary>
/// Energies bilinear and symmetric in m and one nodal field n, e(m, n) = mᵀ C n with C symmetric and fixed by the cell's
/// parameters: the Zeeman energy (C = −μ0 Ms I, n = h) and the demag energy (C = −½ μ0 Ms I, n = h_demag). With
/// Q(u) = ∫ rho e(u, u) dV, a quadratic energy with the element operator K = ∇²Q (<see cref="QuadraticElementOperator"/>,
/// the same Gauss rule), the energy is
/// <code>E(m, n) = ∫ rho mᵀ C n dV = ½ mᵀ K n,   dE/dm = ½ K n,   dE/dn = ½ K m,</code>
/// so one operator application gives the energy and its gradients wherever the operator runs (an ILGPU device).
/// The density is not analysed symbolically: <see cref="TryBuild"/> builds K from e with its nodal field set to m and
/// checks the identity on two random pairs (m, n) against the generic assembly of e itself.
/// </summary>
public static class BilinearElementOperator
{
    /// <summary>
    /// K = ∇²Q for a density bilinear and symmetric in m and its one nodal field, or null when the density has another
    /// number of nodal fields, is not quadratic with n = m, or does not satisfy E(m, n) = ½ mᵀ K n.
    /// </summary>
    /// <param name="asm">The assembler of the term (grid and Gauss rule).</param>
    /// <param name="density">The density e(m, n).</param>
    /// <param name="parameters">Its cell parameters (cells x width each).</param>
    /// <param name="rho">Density per cell.</param>
    /// <param name="cellFields">Whether the nodal field is given per cell (FIC): then no operator (the identity needs nodal n).</param>
    public static QuadraticElementOperator? TryBuild(ElementAssembler asm, EnergyDensity density, double[][] parameters, double[] rho, bool cellFields = false)
    {
        ArgumentNullException.ThrowIfNull(asm);
        ArgumentNullException.ThrowIfNull(density);
        if (density.NodalFields.Count != 1 || cellFields) return null;
        var k = QuadraticElementOperator.TryBuild(asm, new SelfCoupled(density), parameters);
        if (k == null || k.HasLinear || k.ConstantEnergy(rho) != 0) return null;
        return Satisfies(asm, density, parameters, rho, k) ? k : null;
    }

    /// <summary>E(m, n) from the generic assembly of e equals ½ mᵀ K n, to round-off, at two random pairs.</summary>
    private static bool Satisfies(ElementAssembler asm, EnergyDensity density, double[][] parameters, double[] rho, QuadraticElementOperator k)
    {
        int values = asm.Geometry.NumNodes * 3;
        var rng = new Random(20261203);
        for (int trial = 0; trial < 2; trial++)
        {
            var m = new double[values];
            var n = new double[values];
            for (int i = 0; i < values; i++)
            {
                m[i] = 2 * rng.NextDouble() - 1;
                n[i] = 2 * rng.NextDouble() - 1;
            }
            var generic = asm.Assemble(density, m, parameters, new[] { n }, rho, ElementAssembler.Mode.Energy);
            var kn = asm.AssembleQuadratic(k, n, rho, gradient: true, energy: false).DEdm!;
            double half = 0, size = 0;
            for (int i = 0; i < values; i++)
            {
                half += 0.5 * m[i] * kn[i];
                size += Math.Abs(0.5 * m[i] * kn[i]);
            }
            foreach (var e in generic.CellEnergy) size += Math.Abs(e);
            if (Math.Abs(generic.Energy - half) > 1e-11 * size + 1e-300) return false;
        }
        return true;
    }

    /// <summary>e(u, u): the density with its nodal field read from m itself (no nodal fields of its own).</summary>
    private sealed class SelfCoupled : EnergyDensity
    {
        private readonly EnergyDensity _e;

        public SelfCoupled(EnergyDensity e) => _e = e;

        public override IReadOnlyList<CellParameter> Parameters => _e.Parameters;

        public override int DefaultGaussPoints => _e.DefaultGaussPoints;

        public override Dual Evaluate(in QuadPoint q)
        {
            var atM = q;
            atM.NodalValues = q.MValues;
            return _e.Evaluate(atM);
        }
    }
}
