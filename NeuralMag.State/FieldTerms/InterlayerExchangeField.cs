using NeuralMag.AD;

namespace NeuralMag;

/// <summary>
/// Interlayer (RKKY-type) exchange between two xy node layers idx1 and idx2 of a 3D mesh (upstream's
/// InterlayerExchangeField): E = −½ ∫_Γ iA m · m_other dA over both layers, where m_other is the magnetization of the
/// partner layer at the same (x, y), i.e. E = −∫ iA m₁ · m₂ dA. The coupling iA in J/m² is material.iA, a function on
/// "ccn" (cells in x and y, nodes in z); the face density rhoxy weighs the integral. The field at layer k is
/// h_i = (mu0 M_i)⁻¹ Σ_faces iA rhoxy ∫ N_i m_other dA with the exact bilinear face integral and the volume-lumped
/// mass M_i = Σ_c Ms_c rho_c V/8. h and E are
/// differentiable with respect to m, iA, rhoxy, Ms and rho.
/// </summary>
public sealed class InterlayerExchangeField
{
    private readonly int _idx1, _idx2;

    /// <param name="idx1">z index of the first coupled node layer.</param>
    /// <param name="idx2">z index of the second coupled node layer.</param>
    public InterlayerExchangeField(int idx1, int idx2)
    {
        if (idx1 == idx2) throw new ArgumentException($"The two coupled layers must differ (both are {idx1}).", nameof(idx2));
        if (idx1 < 0) throw new ArgumentOutOfRangeException(nameof(idx1), idx1, "Layer index must be 0 or more (a z index of a node layer).");
        if (idx2 < 0) throw new ArgumentOutOfRangeException(nameof(idx2), idx2, "Layer index must be 0 or more (a z index of a node layer).");
        _idx1 = idx1;
        _idx2 = idx2;
    }

    /// <summary>"iexchange": attributes h_iexchange, E_iexchange.</summary>
    public string DefaultName => "iexchange";

    /// <summary>Adds h_name and E_name (default name "iexchange").</summary>
    public void Register(State state, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        name ??= DefaultName;
        var mesh = state.Mesh;
        if (mesh.Dim != 3) throw new NotSupportedException($"InterlayerExchangeField needs a 3D mesh, this one is {mesh.Dim}D.");
        var nodes = mesh.NodeCounts;
        foreach (var k in new[] { _idx1, _idx2 })
            if (k < 0 || k >= nodes[2]) throw new ArgumentOutOfRangeException("idx", k, $"InterlayerExchangeField: layer index {k} is outside the {nodes[2]} node layers along z (0..{nodes[2] - 1}).");
        string Attr(string a) => name.Length == 0 ? a : $"{a}_{name}";
        var parameters = new[] { "m", "material__iA", "material__Ms", "rho", "rhoxy" };
        state.SetTyped(Attr("h"), new NamedFunction(parameters, a => Field(state, a)), state.M.Spaces, new[] { 3 });
        state[Attr("E")] = new NamedFunction(parameters.Where(p => p != "material__Ms").ToArray(), a => Energy(state, a[0], a[1], a[2], a[3]));
    }

    /// <summary>
    /// The coupling operator C(w) applied to v, w = iA·rhoxy per face: for each node of the two layers,
    /// Σ_faces w ∫ N_i v_other dA (Cᵀ v with <paramref name="transpose"/>).
    /// </summary>
    private double[] Coupling(State state, double[] v, double[] w, bool transpose = false)
    {
        var g = new double[v.Length];
        ForEachFacePair(state, w, (face, ia, ib, wm) =>
        {
            int to = transpose ? ib : ia, from = transpose ? ia : ib;
            for (int c = 0; c < 3; c++) g[to * 3 + c] += wm * v[from * 3 + c];
        });
        return g;
    }

    /// <summary>∂(uᵀ C(w) v)/∂w per face (shape ccn, zero off the two layers).</summary>
    private double[] FaceSensitivity(State state, double[] u, double[] v, int faces)
    {
        var s = new double[faces];
        ForEachFacePair(state, null, (face, ia, ib, mab) =>
        {
            for (int c = 0; c < 3; c++) s[face] += mab * u[ia * 3 + c] * v[ib * 3 + c];
        });
        return s;
    }

    /// <summary>
    /// Visits every pair (node a of a face on layer k, node b of the same face on the partner layer) with the bilinear
    /// face mass ∫ N_a N_b dA = area/36 · (4 same corner, 2 edge neighbours, 1 diagonal), times w when given.
    /// </summary>
    private void ForEachFacePair(State state, double[]? w, Action<int, int, int, double> visit)
    {
        var mesh = state.Mesh;
        int[] nn = mesh.NodeCounts, nc = mesh.N;
        double area = mesh.Dx[0] * mesh.Dx[1];
        int Node(int i, int j, int k) => ((i % nn[0]) * nn[1] + (j % nn[1])) * nn[2] + k;
        foreach (var (k, other) in new[] { (_idx1, _idx2), (_idx2, _idx1) })
            for (int cx = 0; cx < nc[0]; cx++)
                for (int cy = 0; cy < nc[1]; cy++)
                {
                    int face = (cx * nc[1] + cy) * (nc[2] + 1) + k;
                    double wf = w == null ? 1 : w[face];
                    if (wf == 0) continue;
                    for (int a = 0; a < 4; a++)
                        for (int b = 0; b < 4; b++)
                        {
                            int same = ((a & 1) == (b & 1) ? 1 : 0) + ((a >> 1) == (b >> 1) ? 1 : 0);
                            double mab = area / 36.0 * (same == 2 ? 4 : same == 1 ? 2 : 1);
                            visit(face, Node(cx + (a & 1), cy + (a >> 1), k), Node(cx + (b & 1), cy + (b >> 1), other), wf * mab);
                        }
                }
    }

    private static double[] Cells(NTensor t, int[] shape, string what)
    {
        if (t.Size != 1 && !Shapes.Equal(t.GetShape(), shape))
            throw new ArgumentException($"InterlayerExchangeField: '{what}' has shape {Shapes.Format(t.GetShape())}, expected {Shapes.Format(shape)} or a scalar.", what);
        var v = t.Size == 1 ? Enumerable.Repeat(t.Item(), shape.Aggregate(1, (x, y) => x * y)).ToArray() : t.ToArray();
        foreach (var x in v)
            if (!double.IsFinite(x)) throw new ArgumentException($"InterlayerExchangeField: '{what}' contains {x}; it must be finite.", what);
        return v;
    }

    /// <summary>A gradient given per cell (or face) carried back to the input's own shape (summed for a scalar).</summary>
    private static NTensor Back(NTensor input, double[] perCell, int[] shape, State state) =>
        input.Size == 1 && perCell.Length != 1
            ? NTensor.Full(input.GetShape(), perCell.Sum(), state.DType, state.Device)
            : NTensor.FromArray(perCell, shape, state.DType, state.Device).Reshape(input.GetShape());

    private static double[] Times(double[] a, double[] b, double s = 1)
    {
        var r = new double[a.Length];
        for (int i = 0; i < r.Length; i++) r[i] = s * a[i] * b[i];
        return r;
    }

    /// <summary>h = C m / (mu0 M); inputs m, iA, Ms, rho, rhoxy. Differentiable with respect to all of them.</summary>
    private NTensor Field(State state, NTensor[] a)
    {
        var mesh = state.Mesh;
        var ccn = new[] { mesh.N[0], mesh.N[1], mesh.N[2] + 1 };
        var m = a[0].ToArray();
        var iA = Cells(a[1], ccn, "material__iA");
        var rhoxy = Cells(a[4], ccn, "rhoxy");
        var w = Times(iA, rhoxy);
        var g = Coupling(state, m, w);
        var ms = Cells(a[2], mesh.N, "material__Ms");
        var rho = Cells(a[3], mesh.N, "rho");
        var geo = new NeuralMag.Kernels.FieldTerms.GridGeometry(mesh.N, mesh.Pbc.Take(3).Select(p => p.IsPeriodic).ToArray(), mesh.Dx);
        var assembler = new NeuralMag.Kernels.FieldTerms.ElementAssembler(geo, 1);
        var mass = assembler.LumpedMass(Times(ms, rho));
        var h = new double[g.Length];
        for (int i = 0; i < h.Length; i++) h[i] = g[i] * NeuralMag.Kernels.FieldTerms.ElementAssembler.InverseMass(mass[i / 3]) / Constants.Mu0;
        var result = NTensor.FromArray(h, a[0].GetShape(), state.DType, state.Device);
        if (!Tape.IsRecording(a)) return result;
        return Tape.Record(result, a, gOut =>
        {
            // g_outᵀh = uᵀ C m with u = g_out / (mu0 M).
            var go = gOut.ToArray();
            var u = new double[go.Length];
            for (int i = 0; i < u.Length; i++) u[i] = go[i] * NeuralMag.Kernels.FieldTerms.ElementAssembler.InverseMass(mass[i / 3]) / Constants.Mu0;
            var grads = new NTensor?[a.Length];
            grads[0] = NTensor.FromArray(Coupling(state, u, w, transpose: true), a[0].GetShape(), state.DType, state.Device);
            var dw = FaceSensitivity(state, u, m, w.Length);
            grads[1] = Back(a[1], Times(dw, rhoxy), ccn, state);
            grads[4] = Back(a[4], Times(dw, iA), ccn, state);
            // dh_i/dM_i = -h_i/M_i, M_i = Σ_c Ms_c rho_c V/8.
            var dWeight = assembler.LumpedMassAdjoint(NeuralMag.Kernels.FieldTerms.ElementAssembler.InverseMassCotangent(go, h, mass));
            var gMs = new double[ms.Length];
            var gRho = new double[ms.Length];
            for (int c = 0; c < ms.Length; c++)
            {
                gMs[c] = dWeight[c] * rho[c];
                gRho[c] = dWeight[c] * ms[c];
            }
            grads[2] = Back(a[2], gMs, mesh.N, state);
            grads[3] = Back(a[3], gRho, mesh.N, state);
            return grads;
        });
    }

    /// <summary>E = −½ mᵀ C m; inputs m, iA, rho (unused: E is a face integral), rhoxy.</summary>
    private NTensor Energy(State state, NTensor mT, NTensor iAT, NTensor rhoT, NTensor rhoxyT)
    {
        var mesh = state.Mesh;
        var ccn = new[] { mesh.N[0], mesh.N[1], mesh.N[2] + 1 };
        var m = mT.ToArray();
        var iA = Cells(iAT, ccn, "material__iA");
        var rhoxy = Cells(rhoxyT, ccn, "rhoxy");
        var w = Times(iA, rhoxy);
        var g = Coupling(state, m, w);
        double e = 0;
        for (int i = 0; i < m.Length; i++) e -= 0.5 * m[i] * g[i];
        var result = NTensor.Scalar(e, state.DType, state.Device);
        var inputs = new[] { mT, iAT, rhoT, rhoxyT };
        if (!Tape.IsRecording(inputs)) return result;
        return Tape.Record(result, inputs, gOut =>
        {
            double s = gOut.Item();
            var gt = Coupling(state, m, w, transpose: true);
            var gm = new double[m.Length];
            for (int i = 0; i < gm.Length; i++) gm[i] = -0.5 * s * (g[i] + gt[i]);
            var dw = FaceSensitivity(state, m, m, w.Length);
            return new NTensor?[]
            {
                NTensor.FromArray(gm, mT.GetShape(), state.DType, state.Device),
                Back(iAT, Times(dw, rhoxy, -0.5 * s), ccn, state),
                null,
                Back(rhoxyT, Times(dw, iA, -0.5 * s), ccn, state),
            };
        });
    }
}
