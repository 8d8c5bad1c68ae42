using System.Globalization;
using System.Text;

namespace NeuralMag.IO;

/// <summary>Data encodings of an OVF 2.0 segment.</summary>
public enum OvfFormat
{
    /// <summary>Text data (decimal numbers).</summary>
    Text,
    /// <summary>Binary 4-byte floats (little-endian, check value 1234567.0).</summary>
    Binary4,
    /// <summary>Binary 8-byte doubles (little-endian, check value 123456789012345.0).</summary>
    Binary8,
}

/// <summary>
/// OOMMF OVF 2.0 vector/scalar field files (rectangular mesh, cell-centred values, x fastest, components
/// interleaved). Binary data is little-endian and starts with the check value 1234567.0 (4 bytes) or
/// 123456789012345.0 (8 bytes) as the OVF 2.0 specification requires.
/// </summary>
public static class Ovf
{
    private const float Check4 = 1234567.0f;
    private const double Check8 = 123456789012345.0;

    /// <summary>A field read from an OVF file: header (lower-case keys), cells per axis, values in our row-major order (x slowest, components last).</summary>
    public sealed record Field(IReadOnlyDictionary<string, string> Header, int[] Cells, double[] StepSize, double[] Base, int ValueDim, double[] Values, OvfFormat Format);

    /// <summary>
    /// Writes one segment. <paramref name="values"/> is row-major over (nx, ny, nz, valueDim) as our cell functions are.
    /// </summary>
    /// <param name="path">The file to write; its folder must exist.</param>
    /// <param name="cells">Cells per axis (3 entries, each at least 1).</param>
    /// <param name="stepSize">Cell size per axis in m (finite, positive).</param>
    /// <param name="origin">Lower corner of the mesh in m (base = origin + step/2).</param>
    /// <param name="values">nx * ny * nz * valueDim numbers.</param>
    /// <param name="valueDim">Components per cell (at least 1).</param>
    /// <param name="format">Text, Binary4 (single precision) or Binary8.</param>
    /// <param name="title">One-line title.</param>
    /// <param name="labels">One label per component, without whitespace (default title_x, title_y, title_z or title_0, ...).</param>
    /// <param name="units">One unit per component, without whitespace (default "1").</param>
    /// <exception cref="ArgumentException">A grid entry, the value count, a label or the title is invalid; the message names it.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder of <paramref name="path"/> does not exist.</exception>
    /// <exception cref="IOException">The file cannot be written; the message names it.</exception>
    public static void Write(string path, int[] cells, double[] stepSize, double[] origin, double[] values, int valueDim,
        OvfFormat format = OvfFormat.Binary8, string title = "field", string[]? labels = null, string[]? units = null)
    {
        FileArguments.CheckGrid(cells, stepSize, origin, nameof(cells), nameof(stepSize), nameof(origin));
        ArgumentNullException.ThrowIfNull(values);
        if (valueDim < 1) throw new ArgumentOutOfRangeException(nameof(valueDim), valueDim, $"valueDim is {valueDim}; a field has at least 1 component per cell.");
        if (!Enum.IsDefined(format)) throw new ArgumentOutOfRangeException(nameof(format), format, "format must be Text, Binary4 or Binary8.");
        long count = (long)cells[0] * cells[1] * cells[2] * valueDim;
        if (values.Length != count)
            throw new ArgumentException($"values has {values.Length} entries, expected {count} = cells ({string.Join(" x ", cells)}) x valueDim {valueDim}.", nameof(values));
        title ??= "field";
        if (title.IndexOfAny(new[] { '\n', '\r' }) >= 0) throw new ArgumentException("title must be one line (it is a header line of the file).", nameof(title));
        labels ??= Enumerable.Range(0, valueDim).Select(c => valueDim == 3 ? $"{title}_{"xyz"[c]}" : $"{title}_{c}").Select(l => string.Concat(l.Where(ch => !char.IsWhiteSpace(ch)))).ToArray();
        units ??= Enumerable.Repeat("1", valueDim).ToArray();
        CheckWords(labels, valueDim, nameof(labels));
        CheckWords(units, valueDim, nameof(units));
        FileArguments.CheckWritable(path, "Ovf.Write");
        string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var h = new StringBuilder();
        void L(string s) => h.Append("# ").Append(s).Append('\n');
        h.Append("# OOMMF OVF 2.0\n#\n");
        L("Segment count: 1"); h.Append("#\n");
        L("Begin: Segment");
        L("Begin: Header"); h.Append("#\n");
        L($"Title: {title}");
        L("meshtype: rectangular");
        L("meshunit: m"); h.Append("#\n");
        for (int a = 0; a < 3; a++) L($"{"xyz"[a]}min: {F(origin[a])}");
        for (int a = 0; a < 3; a++) L($"{"xyz"[a]}max: {F(origin[a] + cells[a] * stepSize[a])}");
        h.Append("#\n");
        L($"valuedim: {valueDim}");
        L($"valuelabels: {string.Join(' ', labels)}");
        L($"valueunits: {string.Join(' ', units)}"); h.Append("#\n");
        L("Desc: written by NeuralMag for .NET");
        for (int a = 0; a < 3; a++) L($"{"xyz"[a]}base: {F(origin[a] + stepSize[a] / 2)}");
        for (int a = 0; a < 3; a++) L($"{"xyz"[a]}nodes: {cells[a]}");
        for (int a = 0; a < 3; a++) L($"{"xyz"[a]}stepsize: {F(stepSize[a])}");
        L("End: Header"); h.Append("#\n");
        string fmt = format switch { OvfFormat.Text => "Text", OvfFormat.Binary4 => "Binary 4", _ => "Binary 8" };
        L($"Begin: Data {fmt}");
        var ovfOrder = GridOrder.ToXFastest(values, cells, valueDim);
        FileArguments.Write(path, "Ovf.Write", () =>
        {
            using var fs = File.Create(path);
            fs.Write(Encoding.ASCII.GetBytes(h.ToString()));
            if (format == OvfFormat.Text)
            {
                var sb = new StringBuilder();
                for (long i = 0; i < ovfOrder.Length; i += valueDim)
                {
                    for (int c = 0; c < valueDim; c++) sb.Append(c == 0 ? "" : " ").Append(F(ovfOrder[i + c]));
                    sb.Append('\n');
                }
                fs.Write(Encoding.ASCII.GetBytes(sb.ToString()));
            }
            else
            {
                using var bw = new BinaryWriter(fs, Encoding.ASCII, leaveOpen: true);
                if (format == OvfFormat.Binary4) { bw.Write(Check4); foreach (var v in ovfOrder) bw.Write((float)v); }
                else { bw.Write(Check8); foreach (var v in ovfOrder) bw.Write(v); }
                bw.Write((byte)'\n');
            }
            fs.Write(Encoding.ASCII.GetBytes($"# End: Data {fmt}\n# End: Segment\n"));
        });
    }

    private static void CheckWords(string[] words, int valueDim, string paramName)
    {
        if (words.Length != valueDim) throw new ArgumentException($"{paramName} has {words.Length} entries; give one per component (valueDim {valueDim}).", paramName);
        foreach (var w in words)
            if (string.IsNullOrEmpty(w) || w.Any(char.IsWhiteSpace))
                throw new ArgumentException($"{paramName} entry '{w}' is empty or holds whitespace; the header lists them separated by spaces.", paramName);
    }

    /// <summary>
    /// Reads the first segment of an OVF 2.0 (or 1.0) rectangular-mesh file. The header is checked before anything is
    /// allocated: node counts and valuedim must be positive integers, step sizes finite and positive, bases finite, and
    /// the data must hold exactly nx * ny * nz * valuedim values followed by the "# End: Data" line.
    /// </summary>
    /// <exception cref="FileFormatException">The file is not a readable OVF file; the message names it and the problem.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InsufficientMemoryException">The data the header describes (and the file holds) does not fit in memory.</exception>
    /// <exception cref="NotSupportedException">The file is larger than 2 GiB.</exception>
    public static Field Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        if (File.Exists(path) && new FileInfo(path).Length > Array.MaxLength)
            throw new NotSupportedException($"{path}: {new FileInfo(path).Length} bytes; OVF files are read whole, and files over {Array.MaxLength} bytes (2 GiB) are not supported.");
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException e) { throw new FileNotFoundException($"{path}: OVF file not found.", path, e); }
        try { return Parse(path, bytes); }
        catch (Exception e) when (e is not (FileFormatException or InsufficientMemoryException or OutOfMemoryException))
        {
            // Safety net: any other failure of the parser on odd input is still reported as this file's format error.
            throw new FileFormatException(path, $"malformed OVF file ({e.GetType().Name}: {e.Message}).", e);
        }
    }

    private static Field Parse(string path, byte[] bytes)
    {
        FileFormatException Bad(string problem) => new(path, problem);
        var header = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int pos = 0, lineNo = 0;
        string NextLine()
        {
            int end = Array.IndexOf(bytes, (byte)'\n', pos);
            if (end < 0) end = bytes.Length;
            var line = Encoding.ASCII.GetString(bytes, pos, end - pos).TrimEnd('\r');
            pos = Math.Min(end + 1, bytes.Length);
            lineNo++;
            return line;
        }
        // "Begin: Data X" / "End: Data X" lines, as (begin?, spec) or null.
        static (bool Begin, string Spec)? DataMarker(string line)
        {
            if (!line.StartsWith('#')) return null;
            var body = line.TrimStart('#').Trim();
            int colon = body.IndexOf(':');
            if (colon < 0) return null;
            var key = body[..colon].Trim();
            var value = body[(colon + 1)..].Trim();
            if (!value.StartsWith("Data", StringComparison.OrdinalIgnoreCase)) return null;
            if (key.Equals("begin", StringComparison.OrdinalIgnoreCase)) return (true, value[4..].Trim());
            if (key.Equals("end", StringComparison.OrdinalIgnoreCase)) return (false, value[4..].Trim());
            return null;
        }

        var first = bytes.Length == 0 ? "" : NextLine();
        if (!first.TrimStart('#').TrimStart().StartsWith("OOMMF", StringComparison.OrdinalIgnoreCase))
            throw Bad($"not an OVF file: the first line is '{Shorten(first)}', expected '# OOMMF OVF 2.0'.");
        bool ovf1 = first.Contains("1.0", StringComparison.Ordinal);
        string? dataSpec = null;
        while (pos < bytes.Length)
        {
            var raw = NextLine();
            if (DataMarker(raw) is { Begin: true } m) { dataSpec = m.Spec; break; }
            var line = raw.TrimStart('#').Trim();
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            var key = line[..colon].Trim().ToLowerInvariant();
            if (key is "begin" or "end") continue;
            header[key] = line[(colon + 1)..].Trim();
        }
        if (dataSpec == null) throw Bad("no '# Begin: Data' line; the file is truncated or not an OVF file.");

        string Need(string k) => header.TryGetValue(k, out var v) ? v : throw Bad($"header lacks '{k}'.");
        int Count(string k)
        {
            var text = Need(k);
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n))
                throw Bad($"header '{k}' is '{Shorten(text)}', not an integer.");
            if (n < 1) throw Bad($"header '{k}' is {n}; it must be at least 1.");
            return n;
        }
        double Real(string k, bool positive)
        {
            var text = Need(k);
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double x))
                throw Bad($"header '{k}' is '{Shorten(text)}', not a number.");
            if (!double.IsFinite(x) || (positive && !(x > 0)))
                throw Bad($"header '{k}' is {x.ToString("R", CultureInfo.InvariantCulture)}; it must be finite{(positive ? " and positive" : "")}.");
            return x;
        }
        if (header.TryGetValue("meshtype", out var mt) && !mt.Equals("rectangular", StringComparison.OrdinalIgnoreCase))
            throw Bad($"meshtype '{Shorten(mt)}' is not supported (only rectangular).");
        var cells = new[] { Count("xnodes"), Count("ynodes"), Count("znodes") };
        var step = new[] { Real("xstepsize", true), Real("ystepsize", true), Real("zstepsize", true) };
        var bas = new[] { Real("xbase", false), Real("ybase", false), Real("zbase", false) };
        int dim = header.ContainsKey("valuedim") ? Count("valuedim") : 3;
        // In double: the product of four ints can overflow a long; the comparisons below only need its size.
        double count = (double)cells[0] * cells[1] * cells[2] * dim;
        string shape = $"xnodes * ynodes * znodes * valuedim = {cells[0]} * {cells[1]} * {cells[2]} * {dim}";
        long available = bytes.Length - pos;

        double[] values;
        OvfFormat format;
        if (dataSpec.StartsWith("Binary", StringComparison.OrdinalIgnoreCase))
        {
            var sizeText = dataSpec[6..].Trim();
            if (!int.TryParse(sizeText, NumberStyles.Integer, CultureInfo.InvariantCulture, out int size) || size is not (4 or 8))
                throw Bad($"'Binary {Shorten(sizeText)}' data; only Binary 4 and Binary 8 are defined.");
            double need = size * (count + 1);
            if (need > available)
                throw Bad($"binary data holds {available} bytes; {shape} values of {size} bytes plus the check value need {need:0}.");
            ReadMemory.Check(path, count, 2);
            int n = (int)count;
            values = new double[n];
            bool bigEndian;
            if (size == 4)
            {
                format = OvfFormat.Binary4;
                float check = BitConverter.ToSingle(bytes, pos);
                bigEndian = ovf1 && check != Check4 && BitConverter.ToSingle(Reversed(bytes, pos, 4), 0) == Check4;
                if (check != Check4 && !bigEndian)
                    throw Bad($"Binary 4 check value is {check.ToString("R", CultureInfo.InvariantCulture)}, expected 1234567.0 (wrong byte order or corrupt data?).");
                for (int i = 0; i < n; i++)
                    values[i] = bigEndian ? BitConverter.ToSingle(Reversed(bytes, pos + 4 + 4 * i, 4), 0) : BitConverter.ToSingle(bytes, pos + 4 + 4 * i);
            }
            else
            {
                format = OvfFormat.Binary8;
                double check = BitConverter.ToDouble(bytes, pos);
                bigEndian = ovf1 && check != Check8 && BitConverter.ToDouble(Reversed(bytes, pos, 8), 0) == Check8;
                if (check != Check8 && !bigEndian)
                    throw Bad($"Binary 8 check value is {check.ToString("R", CultureInfo.InvariantCulture)}, expected 123456789012345.0 (wrong byte order or corrupt data?).");
                for (int i = 0; i < n; i++)
                    values[i] = bigEndian ? BitConverter.ToDouble(Reversed(bytes, pos + 8 + 8 * i, 8), 0) : BitConverter.ToDouble(bytes, pos + 8 + 8 * i);
            }
            pos += (int)need;
            // The data is followed (after an optional line break) by "# End: Data"; anything else means the header's
            // sizes describe less data than the file holds, or the end of the file is missing.
            while (pos < bytes.Length && bytes[pos] is (byte)'\n' or (byte)'\r' or (byte)' ' or (byte)'\t') pos++;
            if (pos >= bytes.Length || DataMarker(NextLine()) is not { Begin: false })
                throw Bad(pos >= bytes.Length
                    ? $"no '# End: Data' line after the {shape} binary values; the file is truncated."
                    : $"the {shape} binary values are not followed by '# End: Data'; the data is longer than the header says, or corrupt.");
        }
        else if (dataSpec.Equals("Text", StringComparison.OrdinalIgnoreCase))
        {
            format = OvfFormat.Text;
            // Every value takes at least one character and one separator.
            if (2 * count > available)
                throw Bad($"text data has {available} bytes, too few for {shape} values.");
            ReadMemory.Check(path, count, 2);
            int n = (int)count;
            values = new double[n];
            int i = 0;
            bool ended = false;
            while (pos < bytes.Length)
            {
                var line = NextLine();
                if (DataMarker(line) is { } marker)
                {
                    if (marker.Begin) throw Bad($"line {lineNo}: '{Shorten(line)}' inside the data.");
                    ended = true;
                    break;
                }
                int comment = line.IndexOf("##", StringComparison.Ordinal);
                if (comment >= 0) line = line[..comment];
                else if (line.TrimStart().StartsWith('#')) throw Bad($"line {lineNo}: '{Shorten(line)}' inside the data; expected numbers or '# End: Data Text'.");
                foreach (var tok in line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
                {
                    if (i == n) throw Bad($"text data holds more than {shape} values (line {lineNo}); the header's sizes are too small.");
                    if (!double.TryParse(tok, NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]))
                        throw Bad($"line {lineNo}: '{Shorten(tok)}' is not a number.");
                    i++;
                }
            }
            if (i != n) throw Bad($"text data has {i} values, expected {shape} = {n}.");
            if (!ended) throw Bad("no '# End: Data Text' line after the values; the file is truncated.");
        }
        else throw Bad($"unknown data encoding '{Shorten(dataSpec)}'; expected Text, Binary 4 or Binary 8.");
        return new Field(header, cells, step, bas, dim, GridOrder.FromXFastest(values, cells, dim), format);
    }

    private static byte[] Reversed(byte[] bytes, int offset, int length)
    {
        var r = new byte[length];
        for (int i = 0; i < length; i++) r[i] = bytes[offset + length - 1 - i];
        return r;
    }

    /// <summary>A header text for an error message: at most 60 characters, control characters shown as '?'.</summary>
    internal static string Shorten(string s)
    {
        var clean = new string(s.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return clean.Length <= 60 ? clean : clean[..57] + "...";
    }
}
