using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace NeuralMag.IO;

/// <summary>
/// VTK XML UnstructuredGrid (.vtu) files as mesh generators and ParaView write them: points, cells (connectivity,
/// offsets, types) and cell data, one or more pieces. Arrays may be ascii, base64 binary or appended raw binary (VTK's default),
/// zlib-compressed or not, with UInt32 or UInt64 headers, little-endian. Read only: used to sample domain ids of a
/// geometry meshed elsewhere (<see cref="State.DomainsFromFile"/>).
/// </summary>
public static class Vtu
{
    /// <summary>A cell array of the grid: <see cref="Values"/> holds <see cref="Components"/> values per cell.</summary>
    public sealed record CellArray(string Name, int Components, double[] Values);

    /// <summary>An unstructured grid: point coordinates (x, y, z per point), cells as point lists with VTK cell types.</summary>
    public sealed record Grid(double[] Points, int[][] Cells, int[] CellTypes, IReadOnlyList<CellArray> CellData);

    /// <summary>Reads the points, cells and cell arrays of a .vtu file (all pieces, concatenated).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FileFormatException">The file is not a readable UnstructuredGrid; the message names the problem.</exception>
    public static Grid Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: VTU file not found.", path);
        FileFormatException Bad(string problem, Exception? inner = null) => new(path, problem, inner);
        try
        {
            var (xml, appended) = SplitAppendedData(File.ReadAllBytes(path), Bad);
            XDocument doc;
            using (var reader = XmlReader.Create(new MemoryStream(xml), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null }))
            {
                try { doc = XDocument.Load(reader); }
                catch (XmlException e) { throw Bad($"not well-formed XML ({e.Message}).", e); }
            }
            var root = doc.Root ?? throw Bad("empty document.");
            var (header64, compressed) = Vti.ReadHeader(root, "UnstructuredGrid", Bad);
            var grid = root.Element("UnstructuredGrid") ?? throw Bad("no <UnstructuredGrid> element.");
            var appendedElement = root.Element("AppendedData");
            var encoding = (string?)appendedElement?.Attribute("encoding") ?? "raw";
            if (encoding != "raw") throw Bad($"<AppendedData> encoding '{Ovf.Shorten(encoding)}' is not supported (raw; or write the arrays inline as ascii or binary).");
            double[] Decode(XElement array, double count, string label)
            {
                if (((string?)array.Attribute("format") ?? "ascii") != "appended")
                    return Vti.DecodeArray(array, count, compressed, header64, label, Bad, path);
                if (appended == null) throw Bad($"{label} is appended, but the file has no <AppendedData> section.");
                var offsetText = (string?)array.Attribute("offset") ?? throw Bad($"{label} is appended but has no offset attribute.");
                if (!long.TryParse(offsetText, NumberStyles.Integer, CultureInfo.InvariantCulture, out long offset) || offset < 0)
                    throw Bad($"{label}: offset '{Ovf.Shorten(offsetText)}' is not a non-negative integer.");
                var inline = new XElement(array);
                inline.SetAttributeValue("format", "binary");
                inline.Value = AppendedRawBlock(appended, offset, header64, compressed, label, Bad);
                return Vti.DecodeArray(inline, count, compressed, header64, label, Bad, path);
            }

            var points = new List<double>();
            var cells = new List<int[]>();
            var types = new List<int>();
            var cellData = new Dictionary<string, (int Components, List<double> Values)>();
            int pieceIndex = 0;
            foreach (var piece in grid.Elements("Piece"))
            {
                string where = $"piece {pieceIndex++}";
                int np = PositiveCount(piece, "NumberOfPoints", where, Bad), nc = PositiveCount(piece, "NumberOfCells", where, Bad);
                var pointArray = piece.Element("Points")?.Element("DataArray") ?? throw Bad($"{where} has no <Points><DataArray>.");
                int basePoint = points.Count / 3;
                points.AddRange(Decode(pointArray, 3.0 * np, $"{where} points"));
                var cellsElement = piece.Element("Cells") ?? throw Bad($"{where} has no <Cells> element.");
                XElement Named(string name) => cellsElement.Elements("DataArray").FirstOrDefault(a => (string?)a.Attribute("Name") == name)
                    ?? throw Bad($"{where}: <Cells> has no DataArray named '{name}'.");
                var offsets = Decode(Named("offsets"), nc, $"{where} offsets");
                var cellTypes = Decode(Named("types"), nc, $"{where} types");
                double total = nc == 0 ? 0 : offsets[^1];
                if (!(total >= 0) || total > int.MaxValue) throw Bad($"{where}: the last offset {total} is not a valid connectivity length.");
                var connectivity = Decode(Named("connectivity"), total, $"{where} connectivity");
                int start = 0;
                for (int c = 0; c < nc; c++)
                {
                    int end = (int)offsets[c];
                    if (end < start || end > connectivity.Length) throw Bad($"{where}: offsets are not increasing within the connectivity (cell {c}: {start}..{end}).");
                    var cell = new int[end - start];
                    for (int k = 0; k < cell.Length; k++)
                    {
                        double id = connectivity[start + k];
                        if (id < 0 || id >= np || id != Math.Floor(id)) throw Bad($"{where}: cell {c} refers to point {id}; the piece has {np} points.");
                        cell[k] = basePoint + (int)id;
                    }
                    cells.Add(cell);
                    types.Add((int)cellTypes[c]);
                    start = end;
                }
                foreach (var array in piece.Element("CellData")?.Elements("DataArray") ?? Enumerable.Empty<XElement>())
                {
                    var name = (string?)array.Attribute("Name") ?? "";
                    var compsText = (string?)array.Attribute("NumberOfComponents") ?? "1";
                    if (!int.TryParse(compsText, NumberStyles.Integer, CultureInfo.InvariantCulture, out int comps) || comps < 1)
                        throw Bad($"{where} cell array '{Ovf.Shorten(name)}': NumberOfComponents is '{Ovf.Shorten(compsText)}'; it must be an integer of at least 1.");
                    var values = Decode(array, (double)nc * comps, $"{where} cell array '{Ovf.Shorten(name)}'");
                    if (!cellData.TryGetValue(name, out var entry)) cellData[name] = entry = (comps, new List<double>());
                    if (entry.Components != comps) throw Bad($"cell array '{Ovf.Shorten(name)}' has {entry.Components} components in one piece and {comps} in another.");
                    entry.Values.AddRange(values);
                }
            }
            var arrays = cellData.Where(kv => kv.Value.Values.Count == (long)cells.Count * kv.Value.Components)
                .Select(kv => new CellArray(kv.Key, kv.Value.Components, kv.Value.Values.ToArray())).ToList();
            return new Grid(points.ToArray(), cells.ToArray(), types.ToArray(), arrays);
        }
        catch (Exception e) when (e is not (FileFormatException or InsufficientMemoryException or OutOfMemoryException or IOException or UnauthorizedAccessException))
        {
            throw new FileFormatException(path, $"malformed VTU file ({e.GetType().Name}: {e.Message}).", e);
        }
    }

    private static int PositiveCount(XElement piece, string attribute, string where, Func<string, Exception?, FileFormatException> bad)
    {
        var text = (string?)piece.Attribute(attribute) ?? throw bad($"{where} has no {attribute} attribute.", null);
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n < 0)
            throw bad($"{where}: {attribute} is '{Ovf.Shorten(text)}'; it must be a non-negative integer.", null);
        return n;
    }

    /// <summary>
    /// Cuts the bytes between the '_' that opens &lt;AppendedData&gt; and its closing tag out of the file (they may be raw
    /// binary, which is not XML) and returns the remaining document and those bytes (null when there are none).
    /// </summary>
    private static (byte[] Xml, byte[]? Appended) SplitAppendedData(byte[] file, Func<string, Exception?, FileFormatException> bad)
    {
        int open = IndexOf(file, "<AppendedData"u8, 0);
        if (open < 0) return (file, null);
        int underscore = Array.IndexOf(file, (byte)'_', open);
        int close = LastIndexOf(file, "</AppendedData>"u8);
        if (underscore < 0 || close < underscore) throw bad("<AppendedData> has no '_' marker or no closing tag.", null);
        var appended = file[(underscore + 1)..close];
        var xml = new byte[underscore + (file.Length - close)];
        Array.Copy(file, xml, underscore);
        Array.Copy(file, close, xml, underscore, file.Length - close);
        return (xml, appended);
    }

    private static int IndexOf(byte[] data, ReadOnlySpan<byte> what, int from)
    {
        int i = data.AsSpan(from).IndexOf(what);
        return i < 0 ? -1 : from + i;
    }

    private static int LastIndexOf(byte[] data, ReadOnlySpan<byte> what) => data.AsSpan().LastIndexOf(what);

    /// <summary>
    /// The raw appended block at <paramref name="offset"/> as the base64 text of an inline binary array: the byte count
    /// and data as one stream, or (compressed) the block header and the concatenated zlib streams, each encoded alone.
    /// </summary>
    private static string AppendedRawBlock(byte[] appended, long offset, bool header64, bool compressed, string label, Func<string, Exception?, FileFormatException> bad)
    {
        int hs = header64 ? 8 : 4;
        long Entry(long at)
        {
            if (at < 0 || at + hs > appended.Length) throw bad($"{label}: the appended block at offset {offset} runs past the end of <AppendedData>.", null);
            return header64 ? (long)Math.Min(BitConverter.ToUInt64(appended, (int)at), long.MaxValue) : BitConverter.ToUInt32(appended, (int)at);
        }
        long Checked(long length)
        {
            if (length < 0 || offset + length > appended.Length) throw bad($"{label}: the appended block at offset {offset} runs past the end of <AppendedData>.", null);
            return length;
        }
        if (!compressed)
        {
            long length = Checked(hs + Entry(offset));
            return Convert.ToBase64String(appended, (int)offset, (int)length);
        }
        long blocks = Entry(offset);
        long headerBytes = Checked(hs * (3 + blocks));
        long body = 0;
        for (long b = 0; b < blocks; b++) body += Entry(offset + hs * (3 + b));
        Checked(headerBytes + body);
        return Convert.ToBase64String(appended, (int)offset, (int)headerBytes) + Convert.ToBase64String(appended, (int)(offset + headerBytes), (int)body);
    }
}
