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
    /// <param name="path">File to write (overwritten).</param>
    /// <param name="cells">Cells per axis (3 entries).</param>
    /// <param name="stepSize">Cell size per axis in m.</param>
    /// <param name="origin">Lower corner of the mesh in m (base = origin + step/2).</param>
    /// <param name="values">Row-major values, nx·ny·nz·valueDim entries.</param>
    /// <param name="valueDim">Components per cell (1 for scalars, 3 for vectors).</param>
    /// <param name="format">Data encoding.</param>
    /// <param name="title">Segment title; also the stem of the default labels.</param>
    /// <param name="labels">Component labels (default title_x, title_y, title_z or title_0, ...).</param>
    /// <param name="units">Component units (default "1").</param>
    public static void Write(string path, int[] cells, double[] stepSize, double[] origin, double[] values, int valueDim,
        OvfFormat format = OvfFormat.Binary8, string title = "field", string[]? labels = null, string[]? units = null)
    {
        if (cells.Length != 3 || stepSize.Length != 3 || origin.Length != 3) throw new ArgumentException("cells, stepSize and origin need 3 entries each.");
        long count = (long)cells[0] * cells[1] * cells[2] * valueDim;
        if (values.Length != count) throw new ArgumentException($"values has {values.Length} entries, expected {count} for cells ({string.Join(", ", cells)}) and valuedim {valueDim}.");
        labels ??= Enumerable.Range(0, valueDim).Select(c => valueDim == 3 ? $"{title}_{"xyz"[c]}" : $"{title}_{c}").ToArray();
        units ??= Enumerable.Repeat("1", valueDim).ToArray();
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
    }

    /// <summary>Reads the first segment of an OVF 2.0 (or 1.0 rectangular) file.</summary>
    public static Field Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var header = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int pos = 0;
        string NextLine()
        {
            int end = Array.IndexOf(bytes, (byte)'\n', pos);
            if (end < 0) end = bytes.Length;
            var line = Encoding.ASCII.GetString(bytes, pos, end - pos).TrimEnd('\r');
            pos = Math.Min(end + 1, bytes.Length);
            return line;
        }
        string? dataSpec = null;
        while (pos < bytes.Length)
        {
            var line = NextLine().TrimStart('#').Trim();
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            var key = line[..colon].Trim().ToLowerInvariant();
            var value = line[(colon + 1)..].Trim();
            if (key == "begin" && value.StartsWith("Data", StringComparison.OrdinalIgnoreCase)) { dataSpec = value[4..].Trim(); break; }
            if (key is "begin" or "end") continue;
            header[key] = value;
        }
        if (dataSpec == null) throw new InvalidDataException($"{path}: no '# Begin: Data' line; not an OVF file.");
        string Need(string k) => header.TryGetValue(k, out var v) ? v : throw new InvalidDataException($"{path}: header lacks '{k}'.");
        double D(string k) => double.Parse(Need(k), CultureInfo.InvariantCulture);
        if (header.TryGetValue("meshtype", out var mt) && !mt.Equals("rectangular", StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"{path}: meshtype '{mt}' is not supported (only rectangular).");
        var cells = new[] { (int)D("xnodes"), (int)D("ynodes"), (int)D("znodes") };
        var step = new[] { D("xstepsize"), D("ystepsize"), D("zstepsize") };
        var bas = new[] { D("xbase"), D("ybase"), D("zbase") };
        int dim = header.TryGetValue("valuedim", out var vd) ? int.Parse(vd, CultureInfo.InvariantCulture) : 3;
        long count = (long)cells[0] * cells[1] * cells[2] * dim;
        var values = new double[count];
        OvfFormat format;
        if (dataSpec.StartsWith("Binary", StringComparison.OrdinalIgnoreCase))
        {
            int size = int.Parse(dataSpec[6..].Trim(), CultureInfo.InvariantCulture);
            if (pos + size * (count + 1) > bytes.Length) throw new InvalidDataException($"{path}: binary data is shorter than {count} values of {size} bytes.");
            if (size == 4)
            {
                format = OvfFormat.Binary4;
                float check = BitConverter.ToSingle(bytes, pos);
                if (check != Check4) throw new InvalidDataException($"{path}: Binary 4 check value is {check}, expected 1234567.0 (wrong byte order?).");
                for (long i = 0; i < count; i++) values[i] = BitConverter.ToSingle(bytes, (int)(pos + 4 + 4 * i));
            }
            else if (size == 8)
            {
                format = OvfFormat.Binary8;
                double check = BitConverter.ToDouble(bytes, pos);
                if (check != Check8) throw new InvalidDataException($"{path}: Binary 8 check value is {check}, expected 123456789012345.0 (wrong byte order?).");
                for (long i = 0; i < count; i++) values[i] = BitConverter.ToDouble(bytes, (int)(pos + 8 + 8 * i));
            }
            else throw new InvalidDataException($"{path}: 'Binary {size}' data; only 4 and 8 bytes are defined.");
        }
        else if (dataSpec.StartsWith("Text", StringComparison.OrdinalIgnoreCase))
        {
            format = OvfFormat.Text;
            long i = 0;
            while (pos < bytes.Length && i < count)
            {
                var line = NextLine();
                if (line.StartsWith('#')) break;
                foreach (var tok in line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
                    if (i < count) values[i++] = double.Parse(tok, CultureInfo.InvariantCulture);
            }
            if (i != count) throw new InvalidDataException($"{path}: text data has {i} values, expected {count}.");
        }
        else throw new InvalidDataException($"{path}: unknown data encoding '{dataSpec}'.");
        return new Field(header, cells, step, bas, dim, GridOrder.FromXFastest(values, cells, dim), format);
    }
}
