using System.Text;
using NeuralMag.IO;

namespace NeuralMag.Tests.IO;

/// <summary>
/// Bad OVF and VTI files and bad writer arguments: each fails with <see cref="FileFormatException"/> (readers, naming
/// the file) or an argument/IO exception naming the argument or folder, before any large allocation.
/// </summary>
[TestClass]
public sealed class IoBadInputTests
{
    private static readonly int[] Cells = { 4, 3, 2 };
    private static readonly double[] Step = { 5e-9, 4e-9, 3e-9 };

    private string _dir = "";

    [TestInitialize]
    public void Init() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), $"nm_iobad_{Guid.NewGuid():N}"));

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_dir, true);

    private static double[] Values(int n) => Enumerable.Range(0, n).Select(i => Math.Sin(i + 1.0)).ToArray();

    private string WriteOvf(OvfFormat format, int valueDim = 3)
    {
        var file = Path.Combine(_dir, $"m_{format}.ovf");
        Ovf.Write(file, Cells, Step, new double[3], Values(24 * valueDim), valueDim, format, "m");
        return file;
    }

    private static void EditHeader(string file, string from, string to)
    {
        var bytes = File.ReadAllBytes(file);
        var text = Encoding.Latin1.GetString(bytes);
        int at = text.IndexOf(from, StringComparison.Ordinal);
        Assert.IsTrue(at >= 0, $"'{from}' is in the file");
        File.WriteAllBytes(file, Encoding.Latin1.GetBytes(text[..at] + to + text[(at + from.Length)..]));
    }

    private static FileFormatException ReadFails(string file, Func<object> read, params string[] words)
    {
        var e = Assert.ThrowsExactly<FileFormatException>(() => read());
        Assert.AreEqual(file, e.FilePath);
        StringAssert.StartsWith(e.Message, file + ":");
        foreach (var w in words) StringAssert.Contains(e.Message, w);
        return e;
    }

    [TestMethod]
    [DataRow(OvfFormat.Binary8)]
    [DataRow(OvfFormat.Binary4)]
    [DataRow(OvfFormat.Text)]
    public void OvfNodeCountBelowTheDataIsRejected(OvfFormat format)
    {
        var file = WriteOvf(format);
        EditHeader(file, "xnodes: 4", "xnodes: 3");
        // The data holds 4 x 3 x 2 x 3 values; a 3 x 3 x 2 x 3 read would be a silent sub-block.
        var e = ReadFails(file, () => Ovf.Read(file), "xnodes * ynodes * znodes * valuedim = 3 * 3 * 2 * 3");
        StringAssert.Contains(e.Message, format == OvfFormat.Text ? "more than" : "longer than the header says");
    }

    [TestMethod]
    public void OvfNegativeAndZeroNodeCountsAreRejected()
    {
        var file = WriteOvf(OvfFormat.Binary8);
        EditHeader(file, "ynodes: 3", "ynodes: -3");
        ReadFails(file, () => Ovf.Read(file), "'ynodes' is -3", "at least 1");
        EditHeader(file, "ynodes: -3", "ynodes: 0");
        ReadFails(file, () => Ovf.Read(file), "'ynodes' is 0");
    }

    [TestMethod]
    public void OvfNonNumericHeaderValueNamesTheKey()
    {
        var file = WriteOvf(OvfFormat.Text);
        EditHeader(file, "xstepsize: 5E-09", "xstepsize: five");
        var e = ReadFails(file, () => Ovf.Read(file), "'xstepsize'", "'five'", "not a number");
        EditHeader(file, "xstepsize: five", "xstepsize: -5E-09");
        ReadFails(file, () => Ovf.Read(file), "'xstepsize'", "finite and positive");
        EditHeader(file, "xstepsize: -5E-09", "xstepsize: 5E-09");
        EditHeader(file, "znodes: 2", "znodes: 2.5");
        ReadFails(file, () => Ovf.Read(file), "'znodes' is '2.5', not an integer");
    }

    [TestMethod]
    public void OvfNonNumericDataValueNamesTheLine()
    {
        var file = WriteOvf(OvfFormat.Text);
        var lines = File.ReadAllLines(file);
        int first = Array.FindIndex(lines, l => l.StartsWith("# Begin: Data", StringComparison.Ordinal)) + 1;
        lines[first + 2] = "0.1 x 0.3";
        File.WriteAllText(file, string.Join("\n", lines) + "\n");
        ReadFails(file, () => Ovf.Read(file), $"line {first + 3}", "'x' is not a number");
    }

    [TestMethod]
    public void OvfClaimingHugeGridIsRejectedWithoutAllocating()
    {
        foreach (var format in new[] { OvfFormat.Binary8, OvfFormat.Text })
        {
            var file = WriteOvf(format, valueDim: 1);
            EditHeader(file, "xnodes: 4", "xnodes: 20000");
            EditHeader(file, "ynodes: 3", "ynodes: 20000");
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = ReadFails(file, () => Ovf.Read(file), "20000 * 20000 * 2 * 1");
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.IsTrue(allocated < 10 << 20, $"{format}: {allocated} bytes allocated for a {new FileInfo(file).Length}-byte file; the 6.4 GB claim must be refused before allocating");
            StringAssert.Contains(e.Message, format == OvfFormat.Text ? "too few" : "need");
        }
    }

    [TestMethod]
    public void OvfTruncatedAndTrailerlessFilesAreRejected()
    {
        var file = WriteOvf(OvfFormat.Binary8);
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..^40]);
        ReadFails(file, () => Ovf.Read(file), "binary data holds");
        var text = Encoding.Latin1.GetString(bytes);
        File.WriteAllBytes(file, bytes[..text.IndexOf("# End: Data", StringComparison.Ordinal)]);
        ReadFails(file, () => Ovf.Read(file), "no '# End: Data' line", "truncated");
        File.WriteAllText(file, "hello\n");
        ReadFails(file, () => Ovf.Read(file), "not an OVF file");
        File.WriteAllBytes(file, Array.Empty<byte>());
        ReadFails(file, () => Ovf.Read(file), "not an OVF file");
    }

    [TestMethod]
    public void OvfMissingFileNamesIt()
    {
        var file = Path.Combine(_dir, "absent.ovf");
        var e = Assert.ThrowsExactly<FileNotFoundException>(() => Ovf.Read(file));
        Assert.AreEqual(file, e.FileName);
        StringAssert.Contains(e.Message, "OVF file not found");
    }

    [TestMethod]
    public void OvfWriteChecksItsArguments()
    {
        var file = Path.Combine(_dir, "w.ovf");
        var v = Values(72);
        var e = Assert.ThrowsExactly<ArgumentException>(() => Ovf.Write(file, Cells, Step, new double[3], v[..70], 3));
        Assert.AreEqual("values", e.ParamName);
        StringAssert.Contains(e.Message, "70 entries, expected 72");
        var n = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Ovf.Write(file, new[] { -4, -3, 2 }, Step, new double[3], v, 3));
        Assert.AreEqual("cells", n.ParamName);
        StringAssert.Contains(n.Message, "cells[0] is -4");
        var s = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Ovf.Write(file, Cells, new[] { 5e-9, double.NaN, 1e-9 }, new double[3], v, 3));
        Assert.AreEqual("stepSize", s.ParamName);
        Assert.AreEqual("valueDim", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Ovf.Write(file, Cells, Step, new double[3], v, 0)).ParamName);
        Assert.AreEqual("labels", Assert.ThrowsExactly<ArgumentException>(() => Ovf.Write(file, Cells, Step, new double[3], v, 3, labels: new[] { "a", "b" })).ParamName);
        Assert.AreEqual("title", Assert.ThrowsExactly<ArgumentException>(() => Ovf.Write(file, Cells, Step, new double[3], v, 3, title: "two\nlines")).ParamName);
        Assert.IsFalse(File.Exists(file), "nothing is written for bad arguments");
    }

    [TestMethod]
    public void WritersNameAMissingFolder()
    {
        var missing = Path.Combine(_dir, "no", "such");
        var o = Assert.ThrowsExactly<DirectoryNotFoundException>(() => Ovf.Write(Path.Combine(missing, "m.ovf"), Cells, Step, new double[3], Values(72), 3));
        StringAssert.Contains(o.Message, missing);
        StringAssert.Contains(o.Message, "does not exist");
        var t = Assert.ThrowsExactly<DirectoryNotFoundException>(() => Vti.Write(Path.Combine(missing, "m.vti"), Cells, Step, new double[3], new[] { ("m", Values(72), 3, false) }));
        StringAssert.Contains(t.Message, missing);
        var d = Assert.ThrowsExactly<ArgumentException>(() => Vti.Write(_dir, Cells, Step, new double[3], new[] { ("m", Values(72), 3, false) }));
        StringAssert.Contains(d.Message, "is a folder");
    }

    [TestMethod]
    public void VtiWriteChecksItsFields()
    {
        var file = Path.Combine(_dir, "w.vti");
        var e = Assert.ThrowsExactly<ArgumentException>(() => Vti.Write(file, Cells, Step, new double[3], new[] { ("m", Values(72), 3, true) }));
        Assert.AreEqual("fields", e.ParamName);
        StringAssert.Contains(e.Message, "Field 'm' has 72 values, expected 180 = points 5 x 4 x 3 x 3 components");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Vti.Write(file, Cells, Step, new double[3],
            new[] { ("m", Values(72), 3, false), ("m", Values(72), 3, false) })).Message, "twice");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Vti.Write(file, Cells, Step, new double[3], new[] { ("", Values(24), 1, false) })).Message, "empty name");
        Assert.AreEqual("cells", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Vti.Write(file, new[] { 4, 0, 2 }, Step, new double[3], new[] { ("m", Values(1), 1, false) })).ParamName);
        Assert.IsFalse(File.Exists(file));
    }

    [TestMethod]
    public void VtiFieldNamesAreEscaped()
    {
        var file = Path.Combine(_dir, "esc.vti");
        Vti.Write(file, Cells, Step, new double[3], new[] { ("m \"<&>\"", Values(24), 1, false) });
        Assert.AreEqual("m \"<&>\"", Vti.Read(file).Single().Name);
    }

    private string WriteVti()
    {
        var file = Path.Combine(_dir, "m.vti");
        Vti.Write(file, Cells, Step, new double[3], new[] { ("m", Values(60 * 3), 3, true), ("rho", Values(24), 1, false) });
        return file;
    }

    [TestMethod]
    public void VtiBadExtentsAreRejected()
    {
        var file = WriteVti();
        EditHeader(file, "WholeExtent=\"0 4 0 3 0 2\"", "WholeExtent=\"0 4 0 3\"");
        ReadFails(file, () => Vti.Read(file), "WholeExtent is '0 4 0 3'", "6 integers");
        EditHeader(file, "WholeExtent=\"0 4 0 3\"", "WholeExtent=\"0 4 0 three 0 2\"");
        ReadFails(file, () => Vti.Read(file), "6 integers");
        EditHeader(file, "WholeExtent=\"0 4 0 three 0 2\"", "WholeExtent=\"0 4 3 0 0 2\"");
        ReadFails(file, () => Vti.Read(file), "upper index 0 is below the lower 3");
        EditHeader(file, "WholeExtent=\"0 4 3 0 0 2\"", "WholeExtent=\"0 4 0 3 0 1\"");
        ReadFails(file, () => Vti.Read(file), "Piece Extent", "differs from WholeExtent");
    }

    [TestMethod]
    public void VtiClaimingHugeGridIsRejectedWithoutAllocating()
    {
        var file = WriteVti();
        EditHeader(file, "WholeExtent=\"0 4 0 3 0 2\"", "WholeExtent=\"0 20000 0 20000 0 2\"");
        EditHeader(file, "<Piece Extent=\"0 4 0 3 0 2\">", "<Piece>");
        long before = GC.GetAllocatedBytesForCurrentThread();
        ReadFails(file, () => Vti.Read(file), "PointData array 'm'", "compression header describes");
        Assert.IsTrue(GC.GetAllocatedBytesForCurrentThread() - before < 10 << 20, "the claim is refused before allocating");
    }

    [TestMethod]
    public void VtiBadAttributesAreRejected()
    {
        var file = WriteVti();
        EditHeader(file, "NumberOfComponents=\"3\"", "NumberOfComponents=\"zero\"");
        ReadFails(file, () => Vti.Read(file), "PointData array 'm'", "NumberOfComponents is 'zero'");
        EditHeader(file, "NumberOfComponents=\"zero\"", "NumberOfComponents=\"1\"");
        ReadFails(file, () => Vti.Read(file), "PointData array 'm'", "expected 60 values of 8 bytes");
        EditHeader(file, "NumberOfComponents=\"1\"", "NumberOfComponents=\"3\"");
        EditHeader(file, "compressor=\"vtkZLibDataCompressor\"", "compressor=\"vtkLZ4DataCompressor\"");
        ReadFails(file, () => Vti.Read(file), "compressor 'vtkLZ4DataCompressor' is not supported");
        EditHeader(file, "compressor=\"vtkLZ4DataCompressor\"", "compressor=\"vtkZLibDataCompressor\"");
        EditHeader(file, "type=\"Float64\" Name=\"m\"", "type=\"String\" Name=\"m\"");
        ReadFails(file, () => Vti.Read(file), "type 'String'");
        File.WriteAllText(file, "<VTKFile type=\"ImageData\"><ImageData>");
        ReadFails(file, () => Vti.Read(file), "not well-formed XML");
    }

    [TestMethod]
    public void VtiBadBase64AndCorruptZlibAreRejected()
    {
        var file = WriteVti();
        var text = File.ReadAllText(file);
        int start = text.IndexOf("format=\"binary\">", StringComparison.Ordinal) + "format=\"binary\">".Length;
        int end = text.IndexOf("</DataArray>", start, StringComparison.Ordinal);
        var encoded = text[start..end].Trim();
        // Header (1 block: 16 bytes = 24 base64 characters), then the zlib stream.
        var header = Convert.FromBase64String(encoded[..24]);
        var body = Convert.FromBase64String(encoded[24..]);

        File.WriteAllText(file, text[..start] + encoded[..30] + "!!!!" + encoded[34..] + text[end..]);
        ReadFails(file, () => Vti.Read(file), "PointData array 'm'", "not valid base64");

        var corrupt = (byte[])body.Clone();
        for (int i = 2; i < 10; i++) corrupt[i] = 0xFF;
        File.WriteAllText(file, text[..start] + Convert.ToBase64String(header) + Convert.ToBase64String(corrupt) + text[end..]);
        var e = ReadFails(file, () => Vti.Read(file), "PointData array 'm'", "compressed block 0");
        Assert.IsTrue(e.InnerException is InvalidDataException || e.Message.Contains("bytes, the header says"), e.Message);

        File.WriteAllText(file, text[..start] + Convert.ToBase64String(header) + Convert.ToBase64String(body[..^3]) + text[end..]);
        ReadFails(file, () => Vti.Read(file), "PointData array 'm'", "the compression header lists");
    }

    [TestMethod]
    public void VtiAsciiAndUncompressedArraysAreChecked()
    {
        var file = Path.Combine(_dir, "a.vti");
        string Doc(string compressor, string format, string data) =>
            $"<VTKFile type=\"ImageData\" byte_order=\"LittleEndian\"{compressor}><ImageData WholeExtent=\"0 1 0 1 0 0\"><Piece>" +
            $"<PointData><DataArray type=\"Float64\" Name=\"u\" format=\"{format}\">{data}</DataArray></PointData></Piece></ImageData></VTKFile>";
        File.WriteAllText(file, Doc("", "ascii", "1 2 3 4"));
        CollectionAssert.AreEqual(new[] { 1.0, 3, 2, 4 }, Vti.Read(file).Single().Values, "x fastest in the file, x slowest in ours");
        File.WriteAllText(file, Doc("", "ascii", "1 2 3"));
        ReadFails(file, () => Vti.Read(file), "array 'u'", "too few for 4 values");
        File.WriteAllText(file, Doc("", "ascii", "1 2 3 four"));
        ReadFails(file, () => Vti.Read(file), "value 3 'four' is not a number");
        File.WriteAllText(file, Doc("", "ascii", "1 2 3 4 5"));
        ReadFails(file, () => Vti.Read(file), "has 5 values, expected 4");
        // Uncompressed binary: UInt32 byte count, then the data, as one base64 stream or as two.
        var data = new[] { 1.0, 2, 3, 4 }.SelectMany(BitConverter.GetBytes).ToArray();
        var together = Convert.ToBase64String(BitConverter.GetBytes(32u).Concat(data).ToArray());
        File.WriteAllText(file, Doc("", "binary", together));
        CollectionAssert.AreEqual(new[] { 1.0, 3, 2, 4 }, Vti.Read(file).Single().Values);
        File.WriteAllText(file, Doc("", "binary", Convert.ToBase64String(BitConverter.GetBytes(32u)) + Convert.ToBase64String(data)));
        CollectionAssert.AreEqual(new[] { 1.0, 3, 2, 4 }, Vti.Read(file).Single().Values);
        File.WriteAllText(file, Doc("", "binary", Convert.ToBase64String(BitConverter.GetBytes(24u).Concat(data).ToArray())));
        ReadFails(file, () => Vti.Read(file), "holds 32 bytes and declares 24", "need 32");
        File.WriteAllText(file, Doc("", "binary", Convert.ToBase64String(BitConverter.GetBytes(24u).Concat(data[..24]).ToArray())));
        ReadFails(file, () => Vti.Read(file), "base64 characters cannot hold 4 values of 8 bytes");
        // zlib-compressed with a UInt64 header: [blocks, block size, last block size (0: full), compressed size].
        var z = new MemoryStream();
        using (var zs = new System.IO.Compression.ZLibStream(z, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true)) zs.Write(data);
        var head64 = new ulong[] { 1, 32, 0, (ulong)z.Length }.SelectMany(BitConverter.GetBytes).ToArray();
        File.WriteAllText(file, Doc(" header_type=\"UInt64\" compressor=\"vtkZLibDataCompressor\"", "binary", Convert.ToBase64String(head64) + Convert.ToBase64String(z.ToArray())));
        CollectionAssert.AreEqual(new[] { 1.0, 3, 2, 4 }, Vti.Read(file).Single().Values);
        head64 = new ulong[] { 1, 40, 0, (ulong)z.Length }.SelectMany(BitConverter.GetBytes).ToArray();
        File.WriteAllText(file, Doc(" header_type=\"UInt64\" compressor=\"vtkZLibDataCompressor\"", "binary", Convert.ToBase64String(head64) + Convert.ToBase64String(z.ToArray())));
        ReadFails(file, () => Vti.Read(file), "describes 40 bytes, expected 4 values of 8 bytes = 32");
        File.WriteAllText(file, Doc("", "appended", ""));
        ReadFails(file, () => Vti.Read(file), "format 'appended'");
    }

    [TestMethod]
    public void VtiMissingFileAndArrayAreNamed()
    {
        var missing = Path.Combine(_dir, "absent.vti");
        Assert.AreEqual(missing, Assert.ThrowsExactly<FileNotFoundException>(() => Vti.Read(missing)).FileName);
        var file = WriteVti();
        var e = Assert.ThrowsExactly<KeyNotFoundException>(() => Vti.ReadTensor(file, "h"));
        StringAssert.Contains(e.Message, "no data array named 'h'");
        StringAssert.Contains(e.Message, "'m', 'rho'");
    }

    [TestMethod]
    public void VtiWritesBlocksThatVtkReads()
    {
        // 1 MiB blocks: 200 x 100 x 10 cells x 1 component = 1.6 MB gives two blocks, the last one partial.
        var cells = new[] { 200, 100, 10 };
        var v = Enumerable.Range(0, 200_000).Select(i => Math.Cos(i * 1e-3)).ToArray();
        var file = Path.Combine(_dir, "big.vti");
        Vti.Write(file, cells, Step, new double[3], new[] { ("u", v, 1, false) });
        var text = File.ReadAllText(file);
        int start = text.IndexOf("format=\"binary\">", StringComparison.Ordinal) + "format=\"binary\">".Length;
        var header = Convert.FromBase64String(text[start..].TrimStart()[..28]);
        CollectionAssert.AreEqual(new uint[] { 2, 1 << 20, 1_600_000 - (1 << 20) }, Enumerable.Range(0, 3).Select(i => BitConverter.ToUInt32(header, 4 * i)).ToArray());
        CollectionAssert.AreEqual(v, Vti.Read(file).Single().Values);
    }
}
