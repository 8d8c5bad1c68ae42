using System.Globalization;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Security;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace NeuralMag.IO;

/// <summary>
/// VTK XML ImageData (.vti) files, readable by ParaView: nodal functions as point data, cell functions as cell data,
/// values in VTK's order (x fastest). Reads ASCII and base64 binary arrays, zlib-compressed or not, with UInt32 or
/// UInt64 headers, little-endian, one piece; writes zlib-compressed binary Float64 in blocks of 1 MiB.
/// </summary>
public static class Vti
{
    private const int BlockBytes = 1 << 20;

    /// <summary>
    /// zlib (deflate) expands at most about 1032:1; a header that claims more uncompressed bytes than this allows for
    /// its compressed bytes is corrupt, and is rejected before anything is allocated.
    /// </summary>
    private const double MaxInflation = 1100;

    /// <summary>A data array read from a VTI file, in our row-major order (x slowest), with its grid shape.</summary>
    public sealed record Field(string Name, bool OnPoints, int[] GridShape, int Components, double[] Values);

    /// <summary>
    /// Reads every point and cell array of a VTI file. Attributes and array sizes are checked against the extent and
    /// against the encoded data's length before the arrays are allocated.
    /// </summary>
    /// <exception cref="FileFormatException">The file is not a readable VTI file; the message names it, the array and the problem.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InsufficientMemoryException">The arrays the file describes do not fit in memory.</exception>
    public static IReadOnlyList<Field> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: VTI file not found.", path);
        try
        {
            XDocument doc;
            using (var stream = File.OpenRead(path))
            using (var reader = XmlReader.Create(stream, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null }))
            {
                try { doc = XDocument.Load(reader); }
                catch (XmlException e) { throw new FileFormatException(path, $"not well-formed XML ({e.Message}).", e); }
            }
            return Parse(path, doc);
        }
        catch (Exception e) when (e is not (FileFormatException or InsufficientMemoryException or OutOfMemoryException or IOException or UnauthorizedAccessException))
        {
            // Safety net: any other failure on odd input is still reported as this file's format error.
            throw new FileFormatException(path, $"malformed VTI file ({e.GetType().Name}: {e.Message}).", e);
        }
    }

    private static IReadOnlyList<Field> Parse(string path, XDocument doc)
    {
        FileFormatException Bad(string problem, Exception? inner = null) => new(path, problem, inner);
        var root = doc.Root ?? throw Bad("empty document.");
        if (root.Name.LocalName != "VTKFile") throw Bad($"root element is <{Ovf.Shorten(root.Name.LocalName)}>, expected <VTKFile>.");
        var (header64, compressed) = ReadHeader(root, "ImageData", Bad);
        var image = root.Element("ImageData") ?? throw Bad("no <ImageData> element.");
        var extentText = (string?)image.Attribute("WholeExtent") ?? throw Bad("<ImageData> has no WholeExtent attribute.");
        var extent = ParseExtent(extentText, "WholeExtent", Bad);
        var points = new[] { extent[1] - extent[0] + 1, extent[3] - extent[2] + 1, extent[5] - extent[4] + 1 };
        var cells = points.Select(p => Math.Max(p - 1, 1)).ToArray();
        var result = new List<Field>();
        foreach (var piece in image.Elements("Piece"))
        {
            if ((string?)piece.Attribute("Extent") is { } pieceText && !ParseExtent(pieceText, "Piece Extent", Bad).SequenceEqual(extent))
                throw Bad($"Piece Extent '{Ovf.Shorten(pieceText)}' differs from WholeExtent '{Ovf.Shorten(extentText)}'; only one piece covering the whole extent is supported.");
            foreach (var (section, onPoints) in new[] { ("PointData", true), ("CellData", false) })
            {
                var data = piece.Element(section);
                if (data == null) continue;
                foreach (var array in data.Elements("DataArray"))
                {
                    var name = (string?)array.Attribute("Name") ?? "";
                    var label = $"{section} array '{Ovf.Shorten(name)}'";
                    var compsText = (string?)array.Attribute("NumberOfComponents") ?? "1";
                    if (!int.TryParse(compsText, NumberStyles.Integer, CultureInfo.InvariantCulture, out int comps) || comps < 1)
                        throw Bad($"{label}: NumberOfComponents is '{Ovf.Shorten(compsText)}'; it must be an integer of at least 1.");
                    var grid = onPoints ? points : cells;
                    double count = (double)grid[0] * grid[1] * grid[2] * comps;
                    var values = DecodeArray(array, count, compressed, header64, label, Bad, path);
                    result.Add(new Field(name, onPoints, grid, comps, GridOrder.FromXFastest(values, grid, comps)));
                }
            }
        }
        return result;
    }

    /// <summary>
    /// Checks the &lt;VTKFile&gt; root of a VTK XML file of the given type (little-endian, UInt32/UInt64 headers, zlib or
    /// no compression) and returns how its binary arrays are encoded.
    /// </summary>
    internal static (bool Header64, bool Compressed) ReadHeader(XElement root, string expectedType, Func<string, Exception?, FileFormatException> bad)
    {
        if (root.Name.LocalName != "VTKFile") throw bad($"root element is <{Ovf.Shorten(root.Name.LocalName)}>, expected <VTKFile>.", null);
        var type = (string?)root.Attribute("type");
        if (type != expectedType) throw bad($"VTKFile type is '{Ovf.Shorten(type ?? "(none)")}', expected {expectedType}.", null);
        var byteOrder = (string?)root.Attribute("byte_order") ?? "LittleEndian";
        if (byteOrder != "LittleEndian") throw bad($"byte_order '{Ovf.Shorten(byteOrder)}' is not supported (only LittleEndian).", null);
        var headerType = (string?)root.Attribute("header_type") ?? "UInt32";
        if (headerType is not ("UInt32" or "UInt64")) throw bad($"header_type '{Ovf.Shorten(headerType)}' is not supported (UInt32 or UInt64).", null);
        var compressor = (string?)root.Attribute("compressor") ?? "";
        if (compressor is not ("" or "vtkZLibDataCompressor"))
            throw bad($"compressor '{Ovf.Shorten(compressor)}' is not supported (none or vtkZLibDataCompressor).", null);
        return (headerType == "UInt64", compressor.Length > 0);
    }

    /// <summary>Bytes per value of a VTK DataArray type (Float64, Float32 and the signed/unsigned integers of 8 to 64 bits).</summary>
    internal static int ValueBytes(string valueType) => valueType switch
    {
        "Float64" or "Int64" or "UInt64" => 8,
        "Float32" or "Int32" or "UInt32" => 4,
        "Int16" or "UInt16" => 2,
        "Int8" or "UInt8" => 1,
        _ => 0,
    };

    /// <summary>
    /// The values of one &lt;DataArray&gt; (ascii or base64 binary, compressed or not) as doubles; <paramref name="count"/>
    /// values are expected and checked before anything is allocated.
    /// </summary>
    internal static double[] DecodeArray(XElement array, double count, bool compressed, bool header64, string label,
        Func<string, Exception?, FileFormatException> bad, string path)
    {
        var valueType = (string?)array.Attribute("type") ?? "Float64";
        int valueBytes = ValueBytes(valueType);
        if (valueBytes == 0) throw bad($"{label} has type '{Ovf.Shorten(valueType)}'; Float64, Float32 and (U)Int8 to (U)Int64 are supported.", null);
        var format = (string?)array.Attribute("format") ?? "ascii";
        // Only the element's own text: VTK may add child elements (InformationKey) after the data.
        var text = string.Concat(array.Nodes().OfType<XText>().Select(t => t.Value));
        return format switch
        {
            "ascii" => DecodeAscii(text, count, label, bad, path),
            "binary" => DecodeBinary(text, valueType, valueBytes, count, compressed, header64, label, bad, path),
            _ => throw bad($"{label} has format '{Ovf.Shorten(format)}'; ascii and binary are supported.", null),
        };
    }

    private static int[] ParseExtent(string text, string attribute, Func<string, Exception?, FileFormatException> bad)
    {
        var parts = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var e = new int[6];
        if (parts.Length != 6 || !parts.Select((p, i) => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out e[i])).All(ok => ok))
            throw bad($"{attribute} is '{Ovf.Shorten(text)}'; expected 6 integers x0 x1 y0 y1 z0 z1.", null);
        for (int a = 0; a < 3; a++)
            if (e[2 * a + 1] < e[2 * a] || (long)e[2 * a + 1] - e[2 * a] >= int.MaxValue)
                throw bad($"{attribute} is '{Ovf.Shorten(text)}'; along {"xyz"[a]} the upper index {e[2 * a + 1]} is below the lower {e[2 * a]} or too far from it.", null);
        return e;
    }

    private static double[] DecodeAscii(string text, double count, string label, Func<string, Exception?, FileFormatException> bad, string path)
    {
        // Every value takes at least one character and one separator (the last one none).
        if (2 * count - 1 > text.Length) throw bad($"{label}: {text.Length} characters of ascii data are too few for {count:0} values.", null);
        ReadMemory.Check(path, count, 2);
        var tokens = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length != count) throw bad($"{label} has {tokens.Length} values, expected {count:0} (points or cells of the extent x components).", null);
        var values = new double[tokens.Length];
        for (int i = 0; i < tokens.Length; i++)
            if (!double.TryParse(tokens[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]))
                throw bad($"{label}: value {i} '{Ovf.Shorten(tokens[i])}' is not a number.", null);
        return values;
    }

    private static double[] DecodeBinary(string rawText, string valueType, int valueBytes, double count, bool compressed, bool header64, string label,
        Func<string, Exception?, FileFormatException> bad, string path)
    {
        var text = string.Concat(rawText.Where(c => !char.IsWhiteSpace(c)));
        int hs = header64 ? 8 : 4;
        double expectedBytes = count * valueBytes;
        byte[] Base64(string s, string part)
        {
            try { return Convert.FromBase64String(s); }
            catch (FormatException e) { throw bad($"{label}: the {part} is not valid base64 ({e.Message}).", e); }
        }
        long Entry(byte[] h, int i) => header64 ? (long)Math.Min(BitConverter.ToUInt64(h, 8 * i), long.MaxValue) : BitConverter.ToUInt32(h, 4 * i);
        // Binary data is at most 4/3 of its base64 text; checked before decoding or allocating anything.
        if (!compressed && expectedBytes > text.Length * 0.75)
            throw bad($"{label}: {text.Length} base64 characters cannot hold {count:0} values of {valueBytes} bytes.", null);
        byte[] raw;
        if (compressed)
        {
            // Header: [blocks, block size, last block size (0: full), compressed size of each block], base64-encoded
            // on its own, followed by the base64 of the concatenated zlib streams.
            int firstChars = header64 ? 12 : 8;
            if (text.Length < firstChars) throw bad($"{label}: the compressed data is shorter than its header.", null);
            long blocks = Entry(Base64(text[..firstChars], "compression header"), 0);
            double headerBytes = hs * (3.0 + blocks);
            double headerChars = Math.Ceiling(headerBytes / 3) * 4;
            if (blocks < 1 || headerChars > text.Length)
                throw bad($"{label}: the compression header claims {blocks} blocks; the data has room for {Math.Max(0, text.Length * 3 / 4 / hs - 3)}.", null);
            var header = Base64(text[..(int)headerChars], "compression header");
            long blockSize = Entry(header, 1), lastSize = Entry(header, 2);
            if (blockSize < 1 || lastSize > blockSize)
                throw bad($"{label}: the compression header gives block size {blockSize} and last block size {lastSize}; need 0 <= last <= block size, block size >= 1.", null);
            var compressedSizes = new long[blocks];
            double compressedTotal = 0;
            for (int b = 0; b < blocks; b++) compressedTotal += compressedSizes[b] = Entry(header, 3 + b);
            long last = lastSize == 0 ? blockSize : lastSize;
            double total = (double)(blocks - 1) * blockSize + last;
            if (total != expectedBytes)
                throw bad($"{label}: the compression header describes {total:0} bytes, expected {count:0} values of {valueBytes} bytes = {expectedBytes:0}.", null);
            double bodyBytes = (text.Length - headerChars) * 0.75;
            if (compressedTotal > bodyBytes || total > MaxInflation * compressedTotal + 64 * blocks)
                throw bad($"{label}: the compression header lists {compressedTotal:0} compressed bytes for {total:0} bytes; the data holds about {bodyBytes:0}.", null);
            ReadMemory.Check(path, count, 3, valueBytes);
            var body = Base64(text[(int)headerChars..], "compressed data");
            if (body.Length != compressedTotal)
                throw bad($"{label}: {body.Length} bytes of compressed data, the compression header lists {compressedTotal:0}.", null);
            raw = new byte[(long)total];
            long offset = 0, outOffset = 0;
            for (int b = 0; b < blocks; b++)
            {
                int size = (int)compressedSizes[b];
                int want = (int)(b == blocks - 1 ? last : blockSize);
                try
                {
                    using var z = new ZLibStream(new MemoryStream(body, (int)offset, size), CompressionMode.Decompress);
                    var dest = raw.AsSpan((int)outOffset, want);
                    int got = 0, n;
                    while (got < want && (n = z.Read(dest[got..])) > 0) got += n;
                    if (got != want || z.ReadByte() >= 0)
                        throw bad($"{label}: compressed block {b} holds {(got != want ? got.ToString(CultureInfo.InvariantCulture) : "more than " + want)} bytes, the header says {want}.", null);
                }
                catch (InvalidDataException e) { throw bad($"{label}: compressed block {b} is not valid zlib data ({e.Message}).", e); }
                offset += size;
                outOffset += want;
            }
        }
        else
        {
            ReadMemory.Check(path, count, 3, valueBytes);
            // The byte count and the data are one base64 stream, or two (VTK encodes the count on its own).
            byte[] all;
            int headerChars = header64 ? 12 : 8;
            try { all = Convert.FromBase64String(text); }
            catch (FormatException) when (text.Length > headerChars)
            {
                var head = Base64(text[..headerChars], "byte count");
                var data = Base64(text[headerChars..], "data");
                all = new byte[hs + data.Length];
                head.AsSpan(0, hs).CopyTo(all);
                data.CopyTo(all, hs);
            }
            catch (FormatException e) { throw bad($"{label}: the data is not valid base64 ({e.Message}).", e); }
            if (all.Length < hs) throw bad($"{label}: the binary data is shorter than its byte count.", null);
            long declared = Entry(all, 0);
            if (declared != expectedBytes || all.Length - hs != expectedBytes)
                throw bad($"{label}: the binary data holds {all.Length - hs} bytes and declares {declared}; {count:0} values of {valueBytes} bytes need {expectedBytes:0}.", null);
            raw = all[hs..];
        }
        var values = new double[raw.Length / valueBytes];
        switch (valueType)
        {
            case "Float64": MemoryMarshal.Cast<byte, double>(raw).CopyTo(values); break;
            case "Float32": Widen(MemoryMarshal.Cast<byte, float>(raw), values, v => v); break;
            case "Int64": Widen(MemoryMarshal.Cast<byte, long>(raw), values, v => v); break;
            case "UInt64": Widen(MemoryMarshal.Cast<byte, ulong>(raw), values, v => v); break;
            case "Int32": Widen(MemoryMarshal.Cast<byte, int>(raw), values, v => v); break;
            case "UInt32": Widen(MemoryMarshal.Cast<byte, uint>(raw), values, v => v); break;
            case "Int16": Widen(MemoryMarshal.Cast<byte, short>(raw), values, v => v); break;
            case "UInt16": Widen(MemoryMarshal.Cast<byte, ushort>(raw), values, v => v); break;
            case "Int8": Widen(MemoryMarshal.Cast<byte, sbyte>(raw), values, v => v); break;
            default: Widen<byte>(raw, values, v => v); break;
        }
        return values;
    }

    private static void Widen<T>(ReadOnlySpan<T> from, double[] to, Func<T, double> convert)
    {
        for (int i = 0; i < to.Length; i++) to[i] = convert(from[i]);
    }

    /// <summary>Reads one named array as a tensor of shape grid (+ components when more than one).</summary>
    /// <exception cref="KeyNotFoundException">The file has no array of that name; the message lists the ones it has.</exception>
    public static NeuralMag.AD.NTensor ReadTensor(string path, string name, NeuralMag.AD.DType? dtype = null, NeuralMag.AD.Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        var all = Read(path);
        var f = all.FirstOrDefault(x => x.Name == name)
            ?? throw new KeyNotFoundException($"{path}: no data array named '{name}' (arrays: {(all.Count == 0 ? "none" : string.Join(", ", all.Select(x => $"'{x.Name}'")))}).");
        var shape = f.Components == 1 ? f.GridShape : f.GridShape.Append(f.Components).ToArray();
        return NeuralMag.AD.NTensor.FromArray(f.Values, shape, dtype, device);
    }

    /// <summary>
    /// Writes nodal (point) and cell fields of a 3D grid. Each field is (name, values in our row-major order with
    /// components last, components, on points?). Points are cells + 1 per axis.
    /// </summary>
    /// <param name="path">The file to write; its folder must exist.</param>
    /// <param name="cells">Cells per axis (3 entries, each at least 1).</param>
    /// <param name="spacing">Cell size per axis in m (finite, positive).</param>
    /// <param name="origin">Lower corner in m (finite).</param>
    /// <param name="fields">Arrays with distinct non-empty names per section, at least 1 component, and (cells or cells + 1) x components values.</param>
    /// <exception cref="ArgumentException">A grid entry or a field is invalid; the message names it.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder of <paramref name="path"/> does not exist.</exception>
    /// <exception cref="IOException">The file cannot be written; the message names it.</exception>
    public static void Write(string path, int[] cells, double[] spacing, double[] origin, IEnumerable<(string Name, double[] Values, int Components, bool OnPoints)> fields)
    {
        FileArguments.CheckGrid(cells, spacing, origin, nameof(cells), nameof(spacing), nameof(origin));
        ArgumentNullException.ThrowIfNull(fields);
        var points = cells.Select(c => c + 1).ToArray();
        var list = fields.ToList();
        var seen = new HashSet<(string, bool)>();
        foreach (var f in list)
        {
            if (string.IsNullOrWhiteSpace(f.Name)) throw new ArgumentException("A field has an empty name.", nameof(fields));
            if (!seen.Add((f.Name, f.OnPoints))) throw new ArgumentException($"Field '{f.Name}' is given twice as {(f.OnPoints ? "point" : "cell")} data.", nameof(fields));
            if (f.Components < 1) throw new ArgumentException($"Field '{f.Name}' has {f.Components} components; at least 1.", nameof(fields));
            if (f.Values == null) throw new ArgumentException($"Field '{f.Name}' has no values (null).", nameof(fields));
            var grid = f.OnPoints ? points : cells;
            long expected = (long)grid[0] * grid[1] * grid[2] * f.Components;
            if (f.Values.Length != expected)
                throw new ArgumentException($"Field '{f.Name}' has {f.Values.Length} values, expected {expected} = {(f.OnPoints ? "points" : "cells")} {string.Join(" x ", grid)} x {f.Components} components.", nameof(fields));
            if (expected * sizeof(double) > Array.MaxLength)
                throw new ArgumentException($"Field '{f.Name}' has {expected} values; one VTI array holds at most {Array.MaxLength / sizeof(double)} (2 GiB of Float64).", nameof(fields));
        }
        FileArguments.CheckWritable(path, "Vti.Write");
        string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        FileArguments.Write(path, "Vti.Write", () =>
        {
            using var w = new StreamWriter(path, false, new UTF8Encoding(false));
            w.NewLine = "\n";
            w.WriteLine("<?xml version=\"1.0\"?>");
            w.WriteLine("<VTKFile type=\"ImageData\" version=\"0.1\" byte_order=\"LittleEndian\" header_type=\"UInt32\" compressor=\"vtkZLibDataCompressor\">");
            w.WriteLine($"  <ImageData WholeExtent=\"0 {cells[0]} 0 {cells[1]} 0 {cells[2]}\" Origin=\"{F(origin[0])} {F(origin[1])} {F(origin[2])}\" Spacing=\"{F(spacing[0])} {F(spacing[1])} {F(spacing[2])}\">");
            w.WriteLine($"  <Piece Extent=\"0 {cells[0]} 0 {cells[1]} 0 {cells[2]}\">");
            foreach (var (section, onPoints) in new[] { ("PointData", true), ("CellData", false) })
            {
                w.WriteLine($"    <{section}>");
                foreach (var f in list.Where(f => f.OnPoints == onPoints))
                {
                    var grid = onPoints ? points : cells;
                    var vtk = GridOrder.ToXFastest(f.Values, grid, f.Components);
                    w.WriteLine($"      <DataArray type=\"Float64\" Name=\"{SecurityElement.Escape(f.Name)}\" NumberOfComponents=\"{f.Components}\" format=\"binary\">");
                    w.Write("        ");
                    WriteCompressed(w, vtk);
                    w.WriteLine();
                    w.WriteLine("      </DataArray>");
                }
                w.WriteLine($"    </{section}>");
            }
            w.WriteLine("  </Piece>");
            w.WriteLine("  </ImageData>");
            w.WriteLine("</VTKFile>");
        });
    }

    /// <summary>The values as VTK's zlib-compressed binary: base64 header, then base64 of the concatenated compressed blocks.</summary>
    private static void WriteCompressed(TextWriter w, double[] values)
    {
        var raw = MemoryMarshal.AsBytes(values.AsSpan());
        int blocks = Math.Max(1, (int)((raw.Length + (long)BlockBytes - 1) / BlockBytes));
        using var body = new MemoryStream();
        var sizes = new uint[blocks];
        for (int b = 0; b < blocks; b++)
        {
            long start = (long)b * BlockBytes;
            int length = (int)Math.Min(BlockBytes, raw.Length - start);
            long before = body.Length;
            using (var z = new ZLibStream(body, CompressionLevel.Optimal, leaveOpen: true)) z.Write(raw.Slice((int)start, length));
            sizes[b] = (uint)(body.Length - before);
        }
        var header = new byte[4 * (3 + blocks)];
        BitConverter.GetBytes((uint)blocks).CopyTo(header, 0);
        BitConverter.GetBytes((uint)Math.Min(BlockBytes, raw.Length)).CopyTo(header, 4);
        BitConverter.GetBytes((uint)(raw.Length % Math.Min(BlockBytes, Math.Max(raw.Length, 1)))).CopyTo(header, 8);
        for (int b = 0; b < blocks; b++) BitConverter.GetBytes(sizes[b]).CopyTo(header, 12 + 4 * b);
        w.Write(Convert.ToBase64String(header));
        // Chunks of a multiple of 3 bytes encode to base64 that concatenates to the base64 of the whole.
        var buffer = body.GetBuffer();
        const int chunk = 3 * (1 << 18);
        for (long o = 0; o < body.Length; o += chunk)
            w.Write(Convert.ToBase64String(buffer, (int)o, (int)Math.Min(chunk, body.Length - o)));
    }
}
