using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Xml.Linq;

namespace NeuralMag.IO;

/// <summary>
/// VTK XML ImageData (.vti) files, readable by ParaView: nodal functions as point data, cell functions as cell data,
/// values in VTK's order (x fastest). Reads ASCII and base64 binary arrays, zlib-compressed or not, with UInt32 or
/// UInt64 headers; writes zlib-compressed binary Float64.
/// </summary>
public static class Vti
{
    /// <summary>A data array read from a VTI file, in our row-major order (x slowest), with its grid shape.</summary>
    public sealed record Field(string Name, bool OnPoints, int[] GridShape, int Components, double[] Values);

    /// <summary>Reads every point and cell array of a VTI file.</summary>
    public static IReadOnlyList<Field> Read(string path)
    {
        XDocument doc;
        try { doc = XDocument.Load(path); }
        catch (Exception e) when (e is IOException or System.Xml.XmlException) { throw new InvalidDataException($"{path}: not a readable VTK XML file ({e.Message})."); }
        var root = doc.Root ?? throw new InvalidDataException($"{path}: empty document.");
        if ((string?)root.Attribute("type") != "ImageData") throw new InvalidDataException($"{path}: VTKFile type is '{root.Attribute("type")}', expected ImageData.");
        bool compressed = ((string?)root.Attribute("compressor"))?.Contains("ZLib", StringComparison.OrdinalIgnoreCase) == true;
        bool header64 = (string?)root.Attribute("header_type") == "UInt64";
        var image = root.Element("ImageData") ?? throw new InvalidDataException($"{path}: no ImageData element.");
        var extent = ((string?)image.Attribute("WholeExtent") ?? throw new InvalidDataException($"{path}: no WholeExtent."))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        var points = new[] { extent[1] - extent[0] + 1, extent[3] - extent[2] + 1, extent[5] - extent[4] + 1 };
        var cells = points.Select(p => Math.Max(p - 1, 1)).ToArray();
        var result = new List<Field>();
        foreach (var piece in image.Elements("Piece"))
        {
            foreach (var (section, onPoints) in new[] { ("PointData", true), ("CellData", false) })
            {
                var data = piece.Element(section);
                if (data == null) continue;
                foreach (var array in data.Elements("DataArray"))
                {
                    var name = (string?)array.Attribute("Name") ?? "";
                    int comps = int.Parse((string?)array.Attribute("NumberOfComponents") ?? "1", CultureInfo.InvariantCulture);
                    var type = (string?)array.Attribute("type") ?? "Float64";
                    var format = (string?)array.Attribute("format") ?? "ascii";
                    var grid = onPoints ? points : cells;
                    int count = grid[0] * grid[1] * grid[2] * comps;
                    // Only the element's own text: VTK may add child elements (InformationKey) after the data.
                    var text = string.Concat(array.Nodes().OfType<XText>().Select(t => t.Value)).Trim();
                    var values = format switch
                    {
                        "ascii" => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
                        "binary" => DecodeBinary(text, type, compressed, header64, path, name),
                        _ => throw new InvalidDataException($"{path}: array '{name}' has format '{format}'; ascii and binary are supported."),
                    };
                    if (values.Length != count) throw new InvalidDataException($"{path}: array '{name}' has {values.Length} values, expected {count}.");
                    result.Add(new Field(name, onPoints, grid, comps, GridOrder.FromXFastest(values, grid, comps)));
                }
            }
        }
        return result;
    }

    /// <summary>Reads one named array as a tensor of shape grid (+ components when more than one).</summary>
    public static NeuralMag.AD.NTensor ReadTensor(string path, string name, NeuralMag.AD.DType? dtype = null, NeuralMag.AD.Device? device = null)
    {
        var f = Read(path).FirstOrDefault(x => x.Name == name) ?? throw new KeyNotFoundException($"{path}: no data array named '{name}'.");
        var shape = f.Components == 1 ? f.GridShape : f.GridShape.Append(f.Components).ToArray();
        return NeuralMag.AD.NTensor.FromArray(f.Values, shape, dtype, device);
    }

    /// <summary>
    /// Writes nodal (point) and cell fields of a 3D grid. Each field is (name, values in our row-major order with
    /// components last, components, on points?). Points are cells + 1 per axis.
    /// </summary>
    public static void Write(string path, int[] cells, double[] spacing, double[] origin, IEnumerable<(string Name, double[] Values, int Components, bool OnPoints)> fields)
    {
        var points = cells.Select(c => c + 1).ToArray();
        var sb = new StringBuilder();
        sb.AppendLine("<?xml version=\"1.0\"?>");
        sb.AppendLine("<VTKFile type=\"ImageData\" version=\"0.1\" byte_order=\"LittleEndian\" header_type=\"UInt32\" compressor=\"vtkZLibDataCompressor\">");
        string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        sb.AppendLine($"  <ImageData WholeExtent=\"0 {cells[0]} 0 {cells[1]} 0 {cells[2]}\" Origin=\"{F(origin[0])} {F(origin[1])} {F(origin[2])}\" Spacing=\"{F(spacing[0])} {F(spacing[1])} {F(spacing[2])}\">");
        sb.AppendLine($"  <Piece Extent=\"0 {cells[0]} 0 {cells[1]} 0 {cells[2]}\">");
        var list = fields.ToList();
        foreach (var (section, onPoints) in new[] { ("PointData", true), ("CellData", false) })
        {
            sb.AppendLine($"    <{section}>");
            foreach (var f in list.Where(f => f.OnPoints == onPoints))
            {
                var grid = onPoints ? points : cells;
                var vtk = GridOrder.ToXFastest(f.Values, grid, f.Components);
                sb.AppendLine($"      <DataArray type=\"Float64\" Name=\"{f.Name}\" NumberOfComponents=\"{f.Components}\" format=\"binary\">");
                sb.AppendLine("        " + EncodeBinary(vtk));
                sb.AppendLine("      </DataArray>");
            }
            sb.AppendLine($"    </{section}>");
        }
        sb.AppendLine("  </Piece>");
        sb.AppendLine("  </ImageData>");
        sb.AppendLine("</VTKFile>");
        File.WriteAllText(path, sb.ToString());
    }

    private static double[] DecodeBinary(string text, string type, bool compressed, bool header64, string path, string name)
    {
        int hs = header64 ? 8 : 4;
        byte[] raw;
        if (compressed)
        {
            // Header: [blocks, block size, last block size, compressed sizes...], base64-encoded on its own.
            var first = Convert.FromBase64String(text[..(hs == 4 ? 8 : 12)]);
            long blocks = hs == 4 ? BitConverter.ToUInt32(first, 0) : (long)BitConverter.ToUInt64(first, 0);
            int headerBytes = (int)(hs * (3 + blocks));
            int headerChars = (headerBytes + 2) / 3 * 4;
            var header = Convert.FromBase64String(text[..headerChars]);
            var body = Convert.FromBase64String(text[headerChars..]);
            using var output = new MemoryStream();
            int offset = 0;
            for (int b = 0; b < blocks; b++)
            {
                int size = (int)(hs == 4 ? BitConverter.ToUInt32(header, hs * (3 + b)) : (long)BitConverter.ToUInt64(header, hs * (3 + b)));
                using var z = new ZLibStream(new MemoryStream(body, offset, size), CompressionMode.Decompress);
                z.CopyTo(output);
                offset += size;
            }
            raw = output.ToArray();
        }
        else
        {
            var all = Convert.FromBase64String(text);
            raw = all[hs..];
        }
        return type switch
        {
            "Float64" => Enumerable.Range(0, raw.Length / 8).Select(i => BitConverter.ToDouble(raw, 8 * i)).ToArray(),
            "Float32" => Enumerable.Range(0, raw.Length / 4).Select(i => (double)BitConverter.ToSingle(raw, 4 * i)).ToArray(),
            _ => throw new InvalidDataException($"{path}: array '{name}' has type {type}; Float64 and Float32 are supported."),
        };
    }

    private static string EncodeBinary(double[] values)
    {
        var raw = new byte[values.Length * 8];
        Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
        using var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true)) z.Write(raw);
        var comp = ms.ToArray();
        var header = new byte[16];
        BitConverter.GetBytes(1u).CopyTo(header, 0);
        BitConverter.GetBytes((uint)raw.Length).CopyTo(header, 4);
        BitConverter.GetBytes((uint)raw.Length).CopyTo(header, 8);
        BitConverter.GetBytes((uint)comp.Length).CopyTo(header, 12);
        return Convert.ToBase64String(header) + Convert.ToBase64String(comp);
    }
}
