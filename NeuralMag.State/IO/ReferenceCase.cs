using System.Text.Json;

namespace NeuralMag.IO;

/// <summary>Thrown for a reference file that is missing, unparsable or of the wrong layout; the message names the file and key.</summary>
public sealed class ReferenceDataException(string message) : Exception(message);

/// <summary>
/// One case folder of upstream-computed reference numbers (layout documented in data/reference/README.md):
/// <c>inputs.json</c> plus one <c>&lt;term&gt;.json</c> per field term and optional gradient files. Arrays are
/// flattened row-major with their shapes kept.
/// </summary>
public sealed class ReferenceCase
{
    private static readonly HashSet<string> InputKeys = new() { "n", "dx", "pbc", "fic", "params", "domains", "m", "terms" };

    /// <summary>Case name: the folder name, e.g. "A_3d_all_terms".</summary>
    public required string Name { get; init; }
    /// <summary>Path of the case folder.</summary>
    public required string Directory { get; init; }
    /// <summary>Cells per axis (1, 2 or 3 entries).</summary>
    public required int[] N { get; init; }
    /// <summary>Cell size in m (3 entries; on 1D/2D meshes the unused ones are the cross-section).</summary>
    public required double[] Dx { get; init; }
    /// <summary>Per axis (3 entries): open, image count or true.</summary>
    public required Pbc[] Pbc { get; init; }
    /// <summary>True when m and h live on cells (FIC variant) rather than on nodes.</summary>
    public bool Fic { get; init; }
    /// <summary>Material parameters: each a number or an array of numbers (e.g. Ku_axis, h_ext, Ms_by_domain).</summary>
    public required IReadOnlyDictionary<string, double[]> Params { get; init; }
    /// <summary>Domain id per cell (shape <see cref="N"/>), or null.</summary>
    public int[]? Domains { get; init; }
    /// <summary>Magnetization, flattened, with shape <see cref="MShape"/> (nodes or, with FIC, cells, then 3).</summary>
    public required double[] M { get; init; }
    /// <summary>Shape of <see cref="M"/>: nodes (or cells with FIC) per axis, then 3.</summary>
    public required int[] MShape { get; init; }
    /// <summary>Term files the case lists (without .json).</summary>
    public required string[] Terms { get; init; }

    /// <summary>The mesh of the case: <see cref="N"/> cells of size <see cref="Dx"/> with the case's boundary conditions.</summary>
    public Mesh CreateMesh() => new(N, Dx, null, Pbc);

    /// <summary>The scalar value of a parameter, throwing with the file and key if absent or not a scalar.</summary>
    public double Scalar(string key) =>
        Params.TryGetValue(key, out var v) && v.Length == 1 ? v[0]
        : throw new ReferenceDataException($"{Path.Combine(Directory, "inputs.json")}: params.{key} {(Params.ContainsKey(key) ? "is not a single number" : "is missing")}.");

    /// <summary>The values of a parameter (e.g. h_ext), throwing <see cref="ReferenceDataException"/> naming the file and key if absent.</summary>
    public double[] Vector(string key) =>
        Params.TryGetValue(key, out var v) ? v
        : throw new ReferenceDataException($"{Path.Combine(Directory, "inputs.json")}: params.{key} is missing.");

    /// <summary>Every case folder under the given paths: a folder holding inputs.json, or its subfolders (recursively) that do.</summary>
    public static IEnumerable<string> FindCaseFolders(string root)
    {
        if (File.Exists(Path.Combine(root, "inputs.json"))) { yield return Path.GetFullPath(root); yield break; }
        if (!System.IO.Directory.Exists(root)) yield break;
        foreach (var sub in System.IO.Directory.GetDirectories(root).OrderBy(d => d, StringComparer.Ordinal))
            foreach (var c in FindCaseFolders(sub)) yield return c;
    }

    /// <summary>Environment variable naming an extra reference-data folder, searched first.</summary>
    public const string EnvironmentVariable = "NM_REFERENCE_DATA";

    /// <summary>The repository's copy of the reference data, relative to the repository root.</summary>
    public static readonly string RepositoryFolder = Path.Combine("data", "reference");

    /// <summary>The shared reference-data folder, looked for beside or above the working directory.</summary>
    public static readonly string SharedFolder = Path.Combine("shared", "reference-data");

    /// <summary>
    /// Every existing reference-data folder, highest priority first, without repeats: <c>$NM_REFERENCE_DATA</c> when
    /// set, then the first <c>shared/reference-data</c> and the first <c>data/reference</c> found in or above the
    /// <see cref="StartFolders"/>. Empty when none exists.
    /// </summary>
    public static IReadOnlyList<string> Roots() =>
        Roots(Environment.GetEnvironmentVariable(EnvironmentVariable), StartFolders());

    /// <summary>
    /// The folders the search for reference data starts from: the working directory, the application folder
    /// (<see cref="AppContext.BaseDirectory"/>) and, for a file-based app (<c>dotnet run file.cs</c>), the folder of
    /// its source file.
    /// </summary>
    public static IReadOnlyList<string> StartFolders()
    {
        var starts = new List<string> { System.IO.Directory.GetCurrentDirectory(), AppContext.BaseDirectory };
        if (AppContext.GetData("EntryPointFileDirectoryPath") is string script && script.Length > 0) starts.Add(script);
        return starts;
    }

    /// <summary>
    /// <see cref="Roots()"/> for a given environment value (null or empty: unset) and given start folders, in the
    /// order: the environment folder, each start's nearest <see cref="SharedFolder"/>, each start's nearest
    /// <see cref="RepositoryFolder"/>. Folders that do not exist are left out; a folder found twice is listed once.
    /// </summary>
    public static IReadOnlyList<string> Roots(string? environmentValue, IEnumerable<string> startFolders)
    {
        ArgumentNullException.ThrowIfNull(startFolders);
        var starts = startFolders.Where(s => !string.IsNullOrEmpty(s)).ToArray();
        var found = new List<string>();
        void Add(string? dir)
        {
            if (dir == null || !System.IO.Directory.Exists(dir)) return;
            var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
            if (!found.Contains(full, StringComparer.Ordinal)) found.Add(full);
        }
        if (!string.IsNullOrEmpty(environmentValue)) Add(environmentValue);
        foreach (var s in starts) Add(FindAbove(s, SharedFolder));
        foreach (var s in starts) Add(FindAbove(s, RepositoryFolder));
        return found;
    }

    /// <summary>The repository's <c>data/reference</c> in or above one of the <see cref="StartFolders"/>, or null.</summary>
    public static string? RepositoryRoot() =>
        StartFolders().Select(s => FindAbove(s, RepositoryFolder)).FirstOrDefault(d => d != null);

    /// <summary>The highest-priority reference-data folder (the first of <see cref="Roots()"/>), or null when none exists.</summary>
    public static string? DefaultRoot() => Roots().FirstOrDefault();

    /// <summary>
    /// The case folders of every root in <see cref="Roots()"/>, one per case: a case (named by its path relative to
    /// its root, e.g. <c>A_3d_all_terms</c>) that several roots hold is taken from the highest-priority root, so the
    /// shared folder wins over the repository's copy and cases only the shared folder has are included.
    /// </summary>
    public static IReadOnlyList<(string Name, string Directory)> AllCaseFolders() => AllCaseFolders(Roots());

    /// <summary>The case folders of the given roots, one per relative case name, the earliest root winning; ordered by name.</summary>
    public static IReadOnlyList<(string Name, string Directory)> AllCaseFolders(IEnumerable<string> roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var root in roots)
        {
            foreach (var dir in FindCaseFolders(root))
            {
                var rel = Path.GetRelativePath(Path.GetFullPath(root), dir).Replace(Path.DirectorySeparatorChar, '/');
                var name = rel == "." ? Path.GetFileName(dir) : rel;
                byName.TryAdd(name, dir);
            }
        }
        return byName.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, p.Value)).ToList();
    }

    /// <summary>
    /// The first root in <see cref="Roots()"/> holding <paramref name="relativePath"/> (e.g.
    /// <c>oommf/s_state_init.vti</c>), as a full path; null when no root has it.
    /// </summary>
    public static string? FindFile(string relativePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(relativePath);
        if (Path.IsPathRooted(relativePath))
            throw new ArgumentException($"FindFile needs a path relative to a reference-data folder, got the absolute path '{relativePath}'.", nameof(relativePath));
        return Roots().Select(r => Path.Combine(r, relativePath)).FirstOrDefault(File.Exists);
    }

    private static string? FindAbove(string start, string relative)
    {
        for (var d = new DirectoryInfo(Path.GetFullPath(start)); d != null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, relative);
            if (System.IO.Directory.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Reads <c>inputs.json</c> of a case folder.</summary>
    /// <exception cref="ReferenceDataException">The file is missing or unparsable, or a key is unknown, missing or of the wrong shape (the message names file and key).</exception>
    public static ReferenceCase Load(string directory)
    {
        var file = Path.Combine(directory, "inputs.json");
        using var doc = Parse(file);
        var root = doc.RootElement;
        foreach (var p in root.EnumerateObject())
            if (!InputKeys.Contains(p.Name))
                throw new ReferenceDataException($"{file}: unknown key '{p.Name}' (known: {string.Join(", ", InputKeys)}).");
        var n = Ints(Flatten(Get(root, "n", file), file, "n", out var nShape), file, "n");
        if (nShape.Length != 1 || n.Length is < 1 or > 3) throw new ReferenceDataException($"{file}: key 'n' must list 1 to 3 cell counts.");
        var dx = Flatten(Get(root, "dx", file), file, "dx", out _);
        if (dx.Length != 3) throw new ReferenceDataException($"{file}: key 'dx' must have 3 entries, found {dx.Length}.");
        var pbc = new[] { NeuralMag.Pbc.Open, NeuralMag.Pbc.Open, NeuralMag.Pbc.Open };
        if (root.TryGetProperty("pbc", out var pe))
        {
            var items = pe.ValueKind == JsonValueKind.Array ? pe.EnumerateArray().ToArray() : new[] { pe, pe, pe };
            if (items.Length != 3 && items.Length != n.Length) throw new ReferenceDataException($"{file}: key 'pbc' needs 1, {n.Length} or 3 entries, found {items.Length}.");
            for (int i = 0; i < items.Length; i++) pbc[i] = ParsePbc(items[i], file);
        }
        bool fic = root.TryGetProperty("fic", out var fe) && fe.ValueKind == JsonValueKind.True;
        var prm = new Dictionary<string, double[]>();
        var prmElement = Get(root, "params", file);
        if (prmElement.ValueKind != JsonValueKind.Object) throw new ReferenceDataException($"{file}: key 'params' is not an object of name: value pairs.");
        foreach (var p in prmElement.EnumerateObject())
            prm[p.Name] = p.Value.ValueKind == JsonValueKind.Number ? new[] { p.Value.GetDouble() } : Flatten(p.Value, file, "params." + p.Name, out _);
        int[]? domains = null;
        if (root.TryGetProperty("domains", out var de))
        {
            domains = Ints(Flatten(de, file, "domains", out var dShape), file, "domains");
            if (!dShape.SequenceEqual(n)) throw new ReferenceDataException($"{file}: key 'domains' has shape ({string.Join(", ", dShape)}), expected ({string.Join(", ", n)}).");
        }
        var m = Flatten(Get(root, "m", file), file, "m", out var mShape);
        var mesh = new Mesh(n, dx, null, pbc);
        var expectedM = (fic ? n : mesh.NodeCounts).Append(3).ToArray();
        if (!mShape.SequenceEqual(expectedM))
            throw new ReferenceDataException($"{file}: key 'm' has shape ({string.Join(", ", mShape)}), expected ({string.Join(", ", expectedM)}).");
        var terms = Strings(Get(root, "terms", file), file, "terms");
        return new ReferenceCase
        {
            Name = Path.GetFileName(Path.TrimEndingDirectorySeparator(directory)),
            Directory = directory, N = n, Dx = dx, Pbc = pbc, Fic = fic, Params = prm, Domains = domains, M = m, MShape = mShape, Terms = terms,
        };
    }

    /// <summary>A term file: field h (flattened, with shape) and energy E; <c>total.json</c> also lists its terms.</summary>
    public sealed record TermReference(string File, double[] H, int[] HShape, double E, string[]? Terms);

    /// <summary>Reads <c>&lt;term&gt;.json</c> of this case (h in A/m, E in J).</summary>
    /// <exception cref="ReferenceDataException">The file is missing or unparsable, or h or E is missing or malformed.</exception>
    public TermReference LoadTerm(string term)
    {
        var file = Path.Combine(Directory, term + ".json");
        using var doc = Parse(file);
        var r = doc.RootElement;
        var h = Flatten(Get(r, "h", file), file, "h", out var hShape);
        var e = Get(r, "E", file);
        if (e.ValueKind != JsonValueKind.Number) throw new ReferenceDataException($"{file}: key 'E' is not a number.");
        string[]? terms = r.TryGetProperty("terms", out var t) ? Strings(t, file, "terms") : null;
        return new TermReference(file, h, hShape, e.GetDouble(), terms);
    }

    /// <summary>A gradient file: d(value)/d(param) per cell, with the state attribute name of the parameter.</summary>
    public sealed record GradientReference(string File, string Param, double Value, double[] Grad, int[] GradShape);

    /// <summary>Gradient files of this case (grad_*.json).</summary>
    public IEnumerable<string> GradientFiles() =>
        System.IO.Directory.GetFiles(Directory, "grad_*.json").OrderBy(f => f, StringComparer.Ordinal);

    /// <summary>Reads a gradient file <c>grad_&lt;param&gt;_of_&lt;attribute&gt;.json</c>.</summary>
    /// <exception cref="ReferenceDataException">The file is missing or unparsable, or a key is missing or malformed.</exception>
    public static GradientReference LoadGradient(string file)
    {
        using var doc = Parse(file);
        var r = doc.RootElement;
        var paramElement = Get(r, "param", file);
        var param = (paramElement.ValueKind == JsonValueKind.String ? paramElement.GetString() : null) ?? throw new ReferenceDataException($"{file}: key 'param' is not a string.");
        var grad = Flatten(Get(r, "grad", file), file, "grad", out var shape);
        var value = Get(r, "value", file);
        if (value.ValueKind != JsonValueKind.Number) throw new ReferenceDataException($"{file}: key 'value' is not a number.");
        return new GradientReference(file, param, value.GetDouble(), grad, shape);
    }

    // ---------------------------------------------------------------- JSON helpers

    private static JsonDocument Parse(string file)
    {
        if (!File.Exists(file)) throw new ReferenceDataException($"{file}: file not found.");
        try { return JsonDocument.Parse(File.ReadAllBytes(file)); }
        catch (JsonException e) { throw new ReferenceDataException($"{file}: not valid JSON ({e.Message})."); }
    }

    private static JsonElement Get(JsonElement obj, string key, string file) =>
        obj.TryGetProperty(key, out var v) ? v : throw new ReferenceDataException($"{file}: key '{key}' is missing.");

    private static Pbc ParsePbc(JsonElement e, string file) => e.ValueKind switch
    {
        JsonValueKind.True => NeuralMag.Pbc.True,
        JsonValueKind.False => NeuralMag.Pbc.Open,
        JsonValueKind.Number when e.GetDouble() == 0 => NeuralMag.Pbc.Open,
        JsonValueKind.Number when e.GetDouble() > 0 && e.GetDouble() == Math.Floor(e.GetDouble()) => NeuralMag.Pbc.Images((int)e.GetDouble()),
        _ => throw new ReferenceDataException($"{file}: key 'pbc' entry {e} is not false, 0, a positive integer or true."),
    };

    /// <summary>Flattens a nested rectangular list of numbers row-major, returning its shape.</summary>
    public static double[] Flatten(JsonElement e, string file, string key, out int[] shape)
    {
        var dims = new List<int>();
        var cur = e;
        while (cur.ValueKind == JsonValueKind.Array)
        {
            dims.Add(cur.GetArrayLength());
            if (cur.GetArrayLength() == 0) break;
            cur = cur[0];
        }
        shape = dims.ToArray();
        var result = new List<double>();
        var s = shape;
        void Walk(JsonElement x, int depth)
        {
            if (depth == s.Length)
            {
                if (x.ValueKind != JsonValueKind.Number) throw new ReferenceDataException($"{file}: key '{key}' holds a non-number ({x.ValueKind}).");
                result.Add(x.GetDouble());
                return;
            }
            if (x.ValueKind != JsonValueKind.Array || x.GetArrayLength() != s[depth])
                throw new ReferenceDataException($"{file}: key '{key}' is not a rectangular array of shape ({string.Join(", ", s)}).");
            foreach (var c in x.EnumerateArray()) Walk(c, depth + 1);
        }
        Walk(e, 0);
        return result.ToArray();
    }

    private static int[] Ints(double[] v, string file, string key) => v.Select(x => x == Math.Floor(x) && Math.Abs(x) <= int.MaxValue ? (int)x
        : throw new ReferenceDataException($"{file}: key '{key}' holds {x.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}, not an integer.")).ToArray();

    /// <summary>A JSON array of strings.</summary>
    private static string[] Strings(JsonElement e, string file, string key) =>
        e.ValueKind == JsonValueKind.Array && e.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String)
            ? e.EnumerateArray().Select(x => x.GetString()!).ToArray()
            : throw new ReferenceDataException($"{file}: key '{key}' must be a list of term names (strings), e.g. [\"exchange\", \"demag\"].");
}
