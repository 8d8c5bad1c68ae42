using NeuralMag.AD;
using NeuralMag.IO;

namespace NeuralMag.Verification;

/// <summary>
/// Checks our fields, energies and gradients against a folder of upstream-computed reference numbers (layout in
/// shared/reference-data/README.md). Every term file of a case is one check; a check that cannot run (unknown term,
/// bad shape, unreadable file, unsupported feature) fails with a one-line reason, and the other checks still run.
/// </summary>
public sealed class ReferenceVerifier
{
    /// <summary>Field terms by reference file name. More terms are added by registering a factory here.</summary>
    public static readonly Dictionary<string, Func<ReferenceCase, object>> KnownTerms = new()
    {
        ["exchange"] = _ => new ExchangeField(),
        ["uaniso"] = _ => new UniaxialAnisotropyField(),
        ["caniso"] = _ => new CubicAnisotropyField(),
        ["bdmi"] = _ => new BulkDMIField(),
        ["idmi"] = _ => new InterfaceDMIField(),
        ["external"] = c => new ExternalField(c.Vector("h_ext")),
        ["demag"] = _ => new DemagField(),
    };

    /// <summary>A verifier that builds its states on <paramref name="device"/> in <paramref name="dtype"/>.</summary>
    /// <param name="device">Device of the states and field computations.</param>
    /// <param name="dtype">Floating-point type of the states.</param>
    /// <param name="rtol">Relative tolerance of every check; null: <see cref="DefaultTolerance"/>.</param>
    public ReferenceVerifier(Device device, DType dtype, double? rtol = null)
    {
        Device = device;
        DType = dtype;
        Tolerance = rtol ?? DefaultTolerance(dtype);
    }

    /// <summary>Device of the states.</summary>
    public Device Device { get; }
    /// <summary>Floating-point type of the states.</summary>
    public DType DType { get; }
    /// <summary>Relative tolerance of every check (max-norm relative error of h, relative error of E).</summary>
    public double Tolerance { get; }

    /// <summary>
    /// float64: 1e-10 (same algorithm, round-off only; measured at most 5e-14). float32: 5e-4, measured: single-precision
    /// fields match to about 1e-7, except next to empty cells (rho = eps), where eps is float32's rather than the
    /// float64 eps upstream's numbers were made with (case B demag: 2.1e-4).
    /// </summary>
    public static double DefaultTolerance(DType dtype) => dtype == DType.Float64 ? 1e-10 : 5e-4;

    /// <summary>Runs every check of one case folder.</summary>
    public IEnumerable<CheckResult> VerifyCase(string directory)
    {
        var caseName = Path.GetFileName(Path.TrimEndingDirectorySeparator(directory));
        ReferenceCase c;
        State state;
        try
        {
            c = ReferenceCase.Load(directory);
            state = BuildState(c);
        }
        catch (Exception e) when (e is ReferenceDataException or ArgumentException or InvalidOperationException or KeyNotFoundException or NotSupportedException)
        {
            return new[] { CheckResult.Failure(caseName, "inputs", OneLine(e)) };
        }
        var results = new List<CheckResult>();
        var files = System.IO.Directory.GetFiles(directory, "*.json")
            .Select(f => Path.GetFileNameWithoutExtension(f)!)
            .Where(f => f != "inputs" && !f.StartsWith("grad_", StringComparison.Ordinal))
            .OrderBy(f => f == "total" ? 1 : 0).ThenBy(f => f, StringComparer.Ordinal).ToList();
        foreach (var listed in c.Terms.Where(t => !files.Contains(t)))
            results.Add(CheckResult.Failure(caseName, listed, $"{Path.Combine(directory, listed + ".json")}: file not found (listed in inputs.json 'terms')"));
        foreach (var term in files) results.Add(Guard(caseName, term, () => CheckTerm(c, state, term)));
        foreach (var file in c.GradientFiles())
        {
            var check = Path.GetFileNameWithoutExtension(file)!;
            results.Add(Guard(caseName, check, () => CheckGradient(c, state, file, check)));
        }
        // A case with nothing to compare must not pass as "0 failed".
        if (results.Count == 0)
            results.Add(CheckResult.Failure(caseName, "inputs",
                $"{Path.Combine(directory, "inputs.json")}: nothing to check: key 'terms' is empty and the folder holds no <term>.json or grad_*.json file"));
        return results;
    }

    private static CheckResult Guard(string caseName, string check, Func<CheckResult> run)
    {
        try { return run(); }
        catch (Exception e) when (e is ReferenceDataException or ArgumentException or InvalidOperationException or KeyNotFoundException or NotSupportedException or IndexOutOfRangeException)
        {
            return CheckResult.Failure(caseName, check, OneLine(e));
        }
    }

    private static string OneLine(Exception e) => e.Message.Replace('\n', ' ').Replace('\r', ' ');

    /// <summary>The state of a case: mesh, m, material parameters as cell functions, domains.</summary>
    public State BuildState(ReferenceCase c)
    {
        var state = new State(c.CreateMesh(), Device, DType);
        var m = NTensor.FromArray(c.M, c.MShape, DType, Device);
        state["m"] = c.Fic ? new VectorCellFunction(state, m, "m") : new VectorFunction(state, m, "m");
        if (c.Domains != null)
            state["domains"] = new CellFunction(state, tensor: NTensor.FromArray(c.Domains.Select(d => (double)d).ToArray(), c.N, DType, Device), name: "domains");
        foreach (var (key, value) in c.Params)
        {
            if (key.EndsWith("_by_domain", StringComparison.Ordinal))
            {
                var name = key[..^"_by_domain".Length];
                state.Material[name] = new CellFunction(state, name: name).FillByDomain(value);
            }
            else if (key == "h_ext") continue; // the external field's field, not a material parameter
            else if (value.Length == 1)
            {
                if (!c.Params.ContainsKey(key + "_by_domain")) state.Material[key] = new CellFunction(state, name: key).Fill(value[0]);
            }
            else state.Material[key] = new VectorCellFunction(state, name: key).Fill(value);
        }
        // Axes the README fixes: cubic anisotropy along x, y, z; interface DMI normal (0, 0, 1) unless given.
        if (c.Params.ContainsKey("Kc"))
        {
            state.Material["Kc_axis1"] = new VectorCellFunction(state).Fill(new[] { 1.0, 0, 0 });
            state.Material["Kc_axis2"] = new VectorCellFunction(state).Fill(new[] { 0, 1.0, 0 });
            state.Material["Kc_axis3"] = new VectorCellFunction(state).Fill(new[] { 0, 0, 1.0 });
        }
        if (c.Params.ContainsKey("Di") && !c.Params.ContainsKey("Di_axis"))
            state.Material["Di_axis"] = new VectorCellFunction(state).Fill(new[] { 0, 0, 1.0 });
        return state;
    }

    private void EnsureRegistered(ReferenceCase c, State state, string term)
    {
        if (state.Has("E_" + term)) return;
        if (!KnownTerms.TryGetValue(term, out var factory))
            throw new ArgumentException($"{Path.Combine(c.Directory, term + ".json")}: unknown term '{term}' (known: {string.Join(", ", KnownTerms.Keys.Append("total"))})");
        switch (factory(c))
        {
            case FieldTerm ft: ft.Register(state, term); break;
            case Action<State, string> register: register(state, term); break;
            case var other: throw new InvalidOperationException($"Term factory for '{term}' returned {other.GetType().Name}.");
        }
    }

    private CheckResult CheckTerm(ReferenceCase c, State state, string term)
    {
        var reference = c.LoadTerm(term);
        string hName, eName;
        if (term == "total")
        {
            var parts = reference.Terms ?? throw new ReferenceDataException($"{reference.File}: key 'terms' is missing.");
            foreach (var p in parts) EnsureRegistered(c, state, p);
            new TotalField(parts).Register(state, "total_check");
            (hName, eName) = ("h_total_check", "E_total_check");
        }
        else
        {
            EnsureRegistered(c, state, term);
            (hName, eName) = ("h_" + term, "E_" + term);
        }
        var h = state.Tensor(hName);
        if (!Shapes.Equal(h.GetShape(), reference.HShape))
            return CheckResult.Failure(c.Name, term, $"{reference.File}: key 'h' has shape {Shapes.Format(reference.HShape)}, ours is {Shapes.Format(h.GetShape())}");
        double relH = RelativeError.MaxNorm(h.ToArray(), reference.H);
        double relE = RelativeError.Scalar(state.Tensor(eName).Item(), reference.E);
        return new CheckResult(c.Name, term, new[] { ("rel_h", relH), ("rel_E", relE) }, relH <= Tolerance && relE <= Tolerance);
    }

    private CheckResult CheckGradient(ReferenceCase c, State state, string file, string check)
    {
        var reference = ReferenceCase.LoadGradient(file);
        // grad_<p>_of_<attribute>.json: the attribute is the energy that was differentiated.
        var stem = Path.GetFileNameWithoutExtension(file)!;
        int of = stem.IndexOf("_of_", StringComparison.Ordinal);
        if (of < 0) throw new ReferenceDataException($"{file}: the name does not follow grad_<param>_of_<attribute>.json.");
        var attribute = stem[(of + 4)..];
        if (attribute == "E_total")
        {
            var parts = c.Terms;
            foreach (var p in parts) EnsureRegistered(c, state, p);
            if (!state.Has("E_total")) new TotalField(parts).Register(state, "total");
        }
        else if (attribute.StartsWith("E_", StringComparison.Ordinal)) EnsureRegistered(c, state, attribute[2..]);
        var f = state.Resolve(attribute, new[] { reference.Param });
        var x = state.Tensor(reference.Param);
        var (value, grad) = Autodiff.ValueAndGrad(t => f.Invoke(t))(x);
        if (!Shapes.Equal(grad.GetShape(), reference.GradShape))
            return CheckResult.Failure(c.Name, check, $"{file}: key 'grad' has shape {Shapes.Format(reference.GradShape)}, ours is {Shapes.Format(grad.GetShape())}");
        double relG = RelativeError.MaxNorm(grad.ToArray(), reference.Grad);
        double relV = RelativeError.Scalar(value.Item(), reference.Value);
        return new CheckResult(c.Name, check, new[] { ("rel_grad", relG), ("rel_value", relV) }, relG <= Tolerance && relV <= Tolerance);
    }
}
