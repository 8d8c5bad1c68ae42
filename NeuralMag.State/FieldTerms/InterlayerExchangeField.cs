using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Interlayer (RKKY-type) exchange between two xy node layers idx1 and idx2 of a 3D mesh (upstream's
/// InterlayerExchangeField): E = −½ ∫_Γ iA m · m_other dA over both layers, where m_other is the magnetization of the
/// partner layer at the same (x, y), i.e. E = −∫ iA m₁ · m₂ dA. The coupling iA in J/m² is material.iA, a function on
/// "ccn" (cells in x and y, nodes in z); the face density rhoxy weighs the integral. The field at layer k is
/// h_i = (mu0 M_i)⁻¹ Σ_faces iA rhoxy ∫ N_i m_other dA with the exact bilinear face integral and the volume-lumped
/// mass M_i = Σ_c Ms_c rho_c V/8. Forward only: its gradients are not on the tape yet.
/// </summary>
public sealed class InterlayerExchangeField
{
    private readonly int _idx1, _idx2;

    /// <param name="idx1">z index of the first coupled node layer.</param>
    /// <param name="idx2">z index of the second coupled node layer.</param>
    public InterlayerExchangeField(int idx1, int idx2)
    {
        if (idx1 == idx2) throw new ArgumentException($"The two coupled layers must differ (both are {idx1}).");
        _idx1 = idx1;
        _idx2 = idx2;
    }

    public string DefaultName => "iexchange";

    /// <summary>Adds h_name and E_name (default name "iexchange").</summary>
    public void Register(State state, string? name = null)
    {
        name ??= DefaultName;
        var mesh = state.Mesh;
        if (mesh.Dim != 3) throw new NotSupportedException($"InterlayerExchangeField needs a 3D mesh, this one is {mesh.Dim}D.");
        var nodes = mesh.NodeCounts;
        foreach (var k in new[] { _idx1, _idx2 })
            if (k < 0 || k >= nodes[2]) throw new ArgumentOutOfRangeException(nameof(k), $"Layer index {k} is outside the {nodes[2]} node layers along z.");
        string Attr(string a) => name.Length == 0 ? a : $"{a}_{name}";
        var parameters = new[] { "m", "material__iA", "material__Ms", "rho", "rhoxy" };
        state.SetTyped(Attr("h"), new NamedFunction(parameters, a => Field(state, a)), state.M.Spaces, new[] { 3 });
        state[Attr("E")] = new NamedFunction(parameters.Where(p => p != "material__Ms").ToArray(), a => Energy(state, a[0], a[1], a[2], a[3]));
    }

    /// <summary>Face integrals: for each node of the two layers, sum over faces of iA rhoxy ∫ N_i m_other dA.</summary>
    private double[] Coupling(State state, double[] m, double[] iA, double[] rhoxy)
    {
        var mesh = state.Mesh;
        int[] nn = mesh.NodeCounts, nc = mesh.N;
        double area = mesh.Dx[0] * mesh.Dx[1];
        var g = new double[m.Length];
        int Node(int i, int j, int k) => ((i % nn[0]) * nn[1] + (j % nn[1])) * nn[2] + k;
        foreach (var (k, other) in new[] { (_idx1, _idx2), (_idx2, _idx1) })
            for (int cx = 0; cx < nc[0]; cx++)
                for (int cy = 0; cy < nc[1]; cy++)
                {
                    double w = iA[(cx * nc[1] + cy) * (nc[2] + 1) + k] * rhoxy[(cx * nc[1] + cy) * (nc[2] + 1) + k];
                    if (w == 0) continue;
                    for (int a = 0; a < 4; a++)
                        for (int b = 0; b < 4; b++)
                        {
                            // Bilinear face mass: ∫ N_a N_b dA = area/36 · (4 same corner, 2 edge neighbours, 1 diagonal).
                            int same = ((a & 1) == (b & 1) ? 1 : 0) + ((a >> 1) == (b >> 1) ? 1 : 0);
                            double mab = area / 36.0 * (same == 2 ? 4 : same == 1 ? 2 : 1);
                            int ia = Node(cx + (a & 1), cy + (a >> 1), k), ib = Node(cx + (b & 1), cy + (b >> 1), other);
                            for (int c = 0; c < 3; c++) g[ia * 3 + c] += w * mab * m[ib * 3 + c];
                        }
                }
        return g;
    }

    private static double[] Cells(NTensor t, int[] shape) => t.Size == 1 ? Enumerable.Repeat(t.Item(), shape.Aggregate(1, (x, y) => x * y)).ToArray() : t.ToArray();

    private NTensor Field(State state, NTensor[] a)
    {
        if (Tape.IsRecording(a)) throw new NotSupportedException("InterlayerExchangeField: gradients are not implemented yet.");
        var mesh = state.Mesh;
        var ccn = new[] { mesh.N[0], mesh.N[1], mesh.N[2] + 1 };
        var m = a[0].ToArray();
        var g = Coupling(state, m, Cells(a[1], ccn), Cells(a[4], ccn));
        var ms = Cells(a[2], mesh.N);
        var rho = Cells(a[3], mesh.N);
        var geo = new NeuralMag.Kernels.FieldTerms.GridGeometry(mesh.N, mesh.Pbc.Take(3).Select(p => p.IsPeriodic).ToArray(), mesh.Dx);
        var w = ms.Zip(rho, (x, y) => x * y).ToArray();
        var mass = new NeuralMag.Kernels.FieldTerms.ElementAssembler(geo, 1).LumpedMass(w);
        var h = new double[g.Length];
        for (int i = 0; i < h.Length; i++) h[i] = g[i] / (Constants.Mu0 * mass[i / 3]);
        return NTensor.FromArray(h, a[0].GetShape(), state.DType, state.Device);
    }

    private NTensor Energy(State state, NTensor mT, NTensor iAT, NTensor rhoT, NTensor rhoxyT)
    {
        if (Tape.IsRecording(new[] { mT, iAT, rhoT, rhoxyT })) throw new NotSupportedException("InterlayerExchangeField: gradients are not implemented yet.");
        var mesh = state.Mesh;
        var ccn = new[] { mesh.N[0], mesh.N[1], mesh.N[2] + 1 };
        var m = mT.ToArray();
        var g = Coupling(state, m, Cells(iAT, ccn), Cells(rhoxyT, ccn));
        double e = 0;
        for (int i = 0; i < m.Length; i++) e -= 0.5 * m[i] * g[i];
        return NTensor.Scalar(e, state.DType, state.Device);
    }
}
