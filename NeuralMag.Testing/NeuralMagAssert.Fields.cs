using System.Globalization;
using System.Text;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using NeuralMag.AD;
using NeuralMag.IO;
using NeuralMag.Verification;

namespace NeuralMag.Testing;

public static partial class NeuralMagAssert
{
    // ---------------------------------------------------------------- reference-case folders

    /// <summary>
    /// Asserts that a field term reproduces the reference numbers of one case folder (layout of
    /// shared/reference-data/README.md): the state of <c>inputs.json</c> is built as <see cref="ReferenceVerifier"/>
    /// builds it (every entry of <c>params</c> becomes a material parameter, so a new term's parameters can be given
    /// there), the term is registered under the name <paramref name="termFile"/>, and its h (A/m) and E (J) are
    /// compared with <c>&lt;termFile&gt;.json</c>: max|h − h_ref| / max|h_ref| and |E − E_ref| / |E_ref|.
    /// </summary>
    /// <param name="caseDirectory">The case folder (holding inputs.json).</param>
    /// <param name="term">The term to check.</param>
    /// <param name="termFile">Name of the term file without .json; null: <see cref="FieldTerm.DefaultName"/>.</param>
    /// <param name="tolerance">Relative tolerance of h and E; null: <see cref="ReferenceVerifier.DefaultTolerance"/> (1e-10 in float64).</param>
    /// <param name="device">Device of the state; null: the CPU.</param>
    /// <param name="dtype">Floating-point type of the state; null: float64.</param>
    /// <exception cref="AssertFailedException">h or E differs by more than the tolerance, or h has another shape.</exception>
    /// <exception cref="ReferenceDataException">A file of the case is missing or malformed.</exception>
    public static void TermMatchesReference(string caseDirectory, FieldTerm term, string? termFile = null, double? tolerance = null, Device? device = null, DType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(term);
        TermMatchesReference(caseDirectory, termFile ?? term.DefaultName, term.Register, tolerance, device, dtype);
    }

    /// <summary>
    /// Asserts that the term added by <paramref name="register"/> reproduces <c>&lt;termFile&gt;.json</c> of a case
    /// folder (see the <see cref="FieldTerm"/> overload); for terms that are not <see cref="FieldTerm"/>s, such as
    /// <see cref="InterlayerExchangeField"/> or a <see cref="TotalField"/>.
    /// </summary>
    /// <param name="caseDirectory">The case folder (holding inputs.json).</param>
    /// <param name="termFile">Name of the term file without .json; also the name the term is registered under.</param>
    /// <param name="register">Adds h_name and E_name to the state for the given name.</param>
    /// <param name="tolerance">Relative tolerance of h and E; null: <see cref="ReferenceVerifier.DefaultTolerance"/>.</param>
    /// <param name="device">Device of the state; null: the CPU.</param>
    /// <param name="dtype">Floating-point type of the state; null: float64.</param>
    /// <exception cref="AssertFailedException">h or E differs by more than the tolerance, or h has another shape.</exception>
    /// <exception cref="ReferenceDataException">A file of the case is missing or malformed.</exception>
    public static void TermMatchesReference(string caseDirectory, string termFile, Action<State, string> register, double? tolerance = null, Device? device = null, DType? dtype = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(caseDirectory);
        ArgumentException.ThrowIfNullOrEmpty(termFile);
        ArgumentNullException.ThrowIfNull(register);
        if (!Directory.Exists(caseDirectory))
            throw new ArgumentException($"Reference case folder '{caseDirectory}' does not exist.", nameof(caseDirectory));
        var verifier = new ReferenceVerifier(device ?? Device.Cpu, dtype ?? DType.Float64, tolerance);
        var c = ReferenceCase.Load(caseDirectory);
        var reference = c.LoadTerm(termFile);
        var state = verifier.BuildState(c);
        register(state, termFile);
        var hName = "h_" + termFile;
        var eName = "E_" + termFile;
        if (!state.Has(hName) || !state.Has(eName))
            throw new ArgumentException($"Registering the term under '{termFile}' did not add '{hName}' and '{eName}' to the state.", nameof(register));
        var h = state.Tensor(hName);
        var shape = h.GetShape();
        if (!Shapes.Equal(shape, reference.HShape))
            Assert.Fail($"{reference.File}: h has shape {Shapes.Format(reference.HShape)}, the term's {hName} has shape {Shapes.Format(shape)}.");
        var hv = h.ToArray();
        double relH = RelativeError.MaxNorm(hv, reference.H);
        double e = state.Tensor(eName).Item();
        double relE = RelativeError.Scalar(e, reference.E);
        double tol = verifier.Tolerance;
        if (relH <= tol && relE <= tol) return;
        var report = new StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"Term '{termFile}' does not match {reference.File} (tolerance {Fmt(tol)}): rel_h = {Fmt(relH)} (max|h - h_ref| / max|h_ref|), rel_E = {Fmt(relE)} (E = {e:R} J, E_ref = {reference.E:R} J)."));
        AppendIfFailed(report, $"{hName} in A/m, shape {Shapes.Format(shape)}", shape, Enumerable.Range(0, hv.Length).ToArray(), hv, reference.H, tol, 5, "ours", "reference");
        Assert.Fail(report.ToString());
    }

    /// <summary>
    /// Asserts that every check of a case folder passes <see cref="ReferenceVerifier.VerifyCase"/>: each
    /// <c>&lt;term&gt;.json</c> (terms known to <see cref="ReferenceVerifier.KnownTerms"/>), <c>total.json</c> and the
    /// gradient files.
    /// </summary>
    /// <param name="caseDirectory">The case folder (holding inputs.json).</param>
    /// <param name="tolerance">Relative tolerance; null: <see cref="ReferenceVerifier.DefaultTolerance"/>.</param>
    /// <param name="device">Device of the state; null: the CPU.</param>
    /// <param name="dtype">Floating-point type of the state; null: float64.</param>
    /// <exception cref="AssertFailedException">Some check fails or cannot run; the message lists those checks.</exception>
    public static void CaseMatchesReference(string caseDirectory, double? tolerance = null, Device? device = null, DType? dtype = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(caseDirectory);
        if (!Directory.Exists(caseDirectory))
            throw new ArgumentException($"Reference case folder '{caseDirectory}' does not exist.", nameof(caseDirectory));
        var verifier = new ReferenceVerifier(device ?? Device.Cpu, dtype ?? DType.Float64, tolerance);
        var results = verifier.VerifyCase(caseDirectory).ToList();
        var failed = results.Where(r => !r.Passed).ToList();
        if (failed.Count > 0)
            Assert.Fail($"{failed.Count} of {results.Count} checks of {caseDirectory} failed (tolerance {Fmt(verifier.Tolerance)}):{Environment.NewLine}  " +
                        string.Join(Environment.NewLine + "  ", failed));
    }

    // ---------------------------------------------------------------- field/energy consistency

    /// <summary>
    /// Asserts that a registered term's nodal field is the gradient of its energy with respect to m, as
    /// <see cref="FieldTerm"/> defines it: h_i = −dE/dm_i / (mu0 M_i) with the lumped mass
    /// M_i = Σ_{cells c at node i} Ms_c rho_c V / 2^d (V the cell volume, d the mesh dimension, Ms in A/m, rho the
    /// dimensionless density). dE/dm comes from the tape (<c>state.Resolve("E_name", ["m"])</c>), h from
    /// <c>state.Tensor("h_name")</c>. Nodes with M_i = 0 (all adjacent cells with Ms = 0) are skipped: no field is
    /// defined there. The error is max|h − h_E| / max|h_E| over the other nodes.
    /// </summary>
    /// <remarks>
    /// Holds to round-off for every term whose field is derived from its energy (exchange, anisotropies, DMI, Lifshitz
    /// invariants, users' <see cref="FieldTerm"/> subclasses, and <see cref="InterlayerExchangeField"/> when iA·rhoxy
    /// is equal on the faces of the two coupled layers: its field at layer k uses layer k's coupling only, its energy
    /// the mean of both). It does not hold exactly for
    /// <see cref="ExternalField"/> and <see cref="DemagField"/>, whose fields are inputs of their energies, and it
    /// needs m on nodes (with FIC the cell field is an average of nodal fields).
    /// </remarks>
    /// <param name="state">A state with m on nodes, material.Ms and the registered term.</param>
    /// <param name="name">The registered name: attributes h_name and E_name are compared.</param>
    /// <param name="tolerance">Relative tolerance (default 1e-10 in float64; about 1e-5 suits float32).</param>
    /// <exception cref="AssertFailedException">Some node differs by more than the tolerance.</exception>
    /// <exception cref="ArgumentException">The attributes are missing, or m lives on cells.</exception>
    public static void FieldIsEnergyGradient(State state, string name, double tolerance = 1e-10)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(name);
        if (!(tolerance > 0)) throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "The tolerance must be positive.");
        string hName = name.Length == 0 ? "h" : "h_" + name, eName = name.Length == 0 ? "E" : "E_" + name;
        foreach (var attr in new[] { hName, eName, "m", "material__Ms", "rho" })
            if (!state.Has(attr)) throw new ArgumentException($"The state has no attribute '{attr}' (register the term '{name}' and set m and material.Ms first).", nameof(state));
        if (state.M.Spaces.Contains('c'))
            throw new ArgumentException($"m lives on '{state.M.Spaces}': the field/energy relation is checked for nodal m only.", nameof(state));
        var mesh = state.Mesh;
        var m = state.Tensor("m");
        var energy = state.Resolve(eName, new[] { "m" });
        var dEdm = Autodiff.Grad(x => energy.Invoke(x))(m).ToArray();
        var h = state.Tensor(hName);
        var hv = h.ToArray();
        var mass = LumpedMass(mesh, CellValues(state.Tensor("material__Ms"), mesh, "material__Ms"), CellValues(state.Tensor("rho"), mesh, "rho"));
        var entries = new List<int>();
        for (int i = 0; i < mass.Length; i++)
            if (mass[i] != 0) entries.AddRange(new[] { 3 * i, 3 * i + 1, 3 * i + 2 });
        var ours = entries.Select(k => hv[k]).ToArray();
        var fromEnergy = entries.Select(k => -dEdm[k] / (Constants.Mu0 * mass[k / 3])).ToArray();
        var report = new StringBuilder();
        AppendIfFailed(report, $"{hName} in A/m, shape {Shapes.Format(h.GetShape())}", h.GetShape(), entries, ours, fromEnergy, tolerance, 5, hName, "-dE/dm/(mu0 M)");
        if (report.Length > 0)
            Assert.Fail($"The field {hName} is not -1/(mu0 M_i) dE/dm_i of {eName} (lumped mass M_i = sum_c Ms_c rho_c V/2^d; {mass.Count(v => v == 0)} nodes with M_i = 0 skipped; tolerance {Fmt(tolerance)}).{report}");
    }

    /// <summary>Cell values of a material parameter or rho: a cell tensor, or a scalar broadcast to every cell.</summary>
    private static double[] CellValues(NTensor t, Mesh mesh, string what)
    {
        var v = t.ToArray();
        if (v.Length == mesh.NumCells) return v;
        if (v.Length == 1) return Enumerable.Repeat(v[0], mesh.NumCells).ToArray();
        throw new ArgumentException($"'{what}' has shape {Shapes.Format(t.GetShape())}; expected a scalar or one value per cell ({mesh.NumCells}).");
    }

    /// <summary>M_i = Σ_{c at i} w_c V / 2^d over the corners of every cell (indices wrap along periodic axes).</summary>
    private static double[] LumpedMass(Mesh mesh, double[] ms, double[] rho)
    {
        int dim = mesh.Dim;
        var cells = mesh.N;
        var nodes = mesh.NodeCounts;
        double share = mesh.CellVolume / (1 << dim);
        var mass = new double[mesh.NumNodes];
        var ci = new int[dim];
        for (int c = 0; c < mesh.NumCells; c++)
        {
            for (int d = dim - 1, r = c; d >= 0; d--) { ci[d] = r % cells[d]; r /= cells[d]; }
            for (int corner = 0; corner < 1 << dim; corner++)
            {
                int node = 0;
                for (int d = 0; d < dim; d++)
                {
                    int k = ci[d] + ((corner >> (dim - 1 - d)) & 1);
                    if (k == nodes[d]) k = 0; // periodic axis: n nodes, the last cell's upper corner is node 0
                    node = node * nodes[d] + k;
                }
                mass[node] += ms[c] * rho[c] * share;
            }
        }
        return mass;
    }
}
