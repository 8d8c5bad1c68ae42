using System.Globalization;
using System.IO.Compression;
using System.Text;
using NeuralMag.AD;
using NeuralMag.IO;

namespace NeuralMag.Tests.IO;

using State = NeuralMag.State;

/// <summary>
/// State.DomainsFromFile with a VTK UnstructuredGrid (.vtu), upstream's domains_from_file: every cell centre of the
/// mesh is located in the unstructured grid and takes the cell array's value there, −1 outside. The files are written
/// here, ascii inline and appended raw zlib-compressed binary as VTK writes by default, and the expected ids come from
/// geometry alone (which half of a box, which tetrahedron of a cube's Kuhn triangulation).
/// </summary>
[TestClass]
public sealed class UnstructuredDomainsTests
{
    private string _dir = "";

    [TestInitialize]
    public void Init() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), $"nm_vtu_{Guid.NewGuid():N}"));

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_dir, true);

    private static string Join(IEnumerable<double> v) => string.Join(" ", v.Select(x => x.ToString("R", CultureInfo.InvariantCulture)));

    /// <summary>An ascii .vtu with the given points (x, y, z each), cells and types, and one cell array "material".</summary>
    private string WriteAscii(string name, double[] points, int[][] cells, int[] types, double[] ids)
    {
        var offsets = new List<int>();
        int o = 0;
        foreach (var c in cells) offsets.Add(o += c.Length);
        var xml = $"""
            <?xml version="1.0"?>
            <VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian">
              <UnstructuredGrid>
                <Piece NumberOfPoints="{points.Length / 3}" NumberOfCells="{cells.Length}">
                  <Points><DataArray type="Float64" NumberOfComponents="3" format="ascii">{Join(points)}</DataArray></Points>
                  <Cells>
                    <DataArray type="Int32" Name="connectivity" format="ascii">{string.Join(" ", cells.SelectMany(c => c))}</DataArray>
                    <DataArray type="Int32" Name="offsets" format="ascii">{string.Join(" ", offsets)}</DataArray>
                    <DataArray type="UInt8" Name="types" format="ascii">{string.Join(" ", types)}</DataArray>
                  </Cells>
                  <CellData><DataArray type="Int32" Name="material" format="ascii">{Join(ids)}</DataArray></CellData>
                </Piece>
              </UnstructuredGrid>
            </VTKFile>
            """;
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, xml);
        return path;
    }

    /// <summary>Two hexahedra [0,3]x[0,6]x[0,2] (id 1) and [3,6]x[0,6]x[0,2] (id 2), coordinates in nm.</summary>
    private static (double[] Points, int[][] Cells) TwoBoxes()
    {
        var pts = new List<double>();
        foreach (var x in new[] { 0.0, 3, 6 }) foreach (var y in new[] { 0.0, 6 }) foreach (var z in new[] { 0.0, 2 }) pts.AddRange(new[] { x, y, z });
        int P(int ix, int iy, int iz) => (ix * 2 + iy) * 2 + iz;
        int[] Hex(int ix) => new[] { P(ix, 0, 0), P(ix + 1, 0, 0), P(ix + 1, 1, 0), P(ix, 1, 0), P(ix, 0, 1), P(ix + 1, 0, 1), P(ix + 1, 1, 1), P(ix, 1, 1) };
        return (pts.ToArray(), new[] { Hex(0), Hex(1) });
    }

    [TestMethod]
    public void HexahedraGiveTheIdOfTheCellAroundEachCentreAndMinusOneOutside()
    {
        var (points, cells) = TwoBoxes();
        var path = WriteAscii("boxes.vtu", points, cells, new[] { 12, 12 }, new[] { 1.0, 2.0 });
        // 8 x 3 x 2 cells of 1 nm: x centres 0.5..7.5, so cells 6 and 7 lie outside the grid.
        var state = new State(new Mesh(new[] { 8, 3, 2 }, new[] { 1e-9, 2e-9, 1e-9 }), Device.Cpu, DType.Float64);
        var f = state.DomainsFromFile(path, scale: 1e-9);
        var ids = f.Tensor.ToArray();
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 2; k++)
                    Assert.AreEqual(i < 3 ? 1 : i < 6 ? 2 : -1, ids[(i * 3 + j) * 2 + k], $"cell ({i}, {j}, {k})");
        // The same grid in metres with scale 1 gives the same ids.
        var metres = WriteAscii("boxes_m.vtu", points.Select(p => p * 1e-9).ToArray(), cells, new[] { 12, 12 }, new[] { 1.0, 2.0 });
        CollectionAssert.AreEqual(ids, state.DomainsFromFile(metres).Tensor.ToArray());
    }

    /// <summary>
    /// The Kuhn triangulation of the cube [0,2]³: one tetrahedron per ordering x_a ≥ x_b ≥ x_c of the coordinates,
    /// with the vertices 0, e_a, e_a + e_b, e_a + e_b + e_c (times 2). Tetrahedron t gets id 10 + t.
    /// </summary>
    private static (double[] Points, int[][] Cells, int[][] Orders) KuhnCube()
    {
        var pts = new List<double>();
        for (int b = 0; b < 8; b++) pts.AddRange(new double[] { 2 * (b >> 2 & 1), 2 * (b >> 1 & 1), 2 * (b & 1) });
        int[][] orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
        var cells = orders.Select(o =>
        {
            int v1 = 4 >> o[0], v2 = v1 | 4 >> o[1], v3 = v2 | 4 >> o[2];
            return new[] { 0, v1, v2, v3 };
        }).ToArray();
        return (pts.ToArray(), cells, orders);
    }

    [TestMethod]
    public void TetrahedraOfAKuhnCubeAreFoundByTheOrderOfTheCoordinates()
    {
        var (points, cells, orders) = KuhnCube();
        var ids = Enumerable.Range(0, 6).Select(t => 10.0 + t).ToArray();
        var ascii = WriteAscii("kuhn.vtu", points, cells, Enumerable.Repeat(10, 6).ToArray(), ids);
        var binary = WriteAppendedCompressed("kuhn_appended.vtu", points, cells, Enumerable.Repeat(10, 6).ToArray(), ids);
        // Cell sizes and an origin chosen so that no centre has two equal coordinates (no centre on a shared face).
        var mesh = new Mesh(new[] { 5, 4, 3 }, new[] { 0.37e-9, 0.45e-9, 0.61e-9 }, origin: new[] { 0.013e-9, 0.0071e-9, 0.0029e-9 });
        var state = new State(mesh, Device.Cpu, DType.Float64);
        var fromAscii = state.DomainsFromFile(ascii, scale: 1e-9).Tensor.ToArray();
        var fromBinary = state.DomainsFromFile(binary, "material", scale: 1e-9).Tensor.ToArray();
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 3; k++)
                {
                    var c = new[] { 0.013 + (i + 0.5) * 0.37, 0.0071 + (j + 0.5) * 0.45, 0.0029 + (k + 0.5) * 0.61 };
                    int t = Array.FindIndex(orders, o => c[o[0]] >= c[o[1]] && c[o[1]] >= c[o[2]]);
                    double expected = c.Any(v => v > 2) ? -1 : 10 + t;
                    int at = (i * 4 + j) * 3 + k;
                    Assert.AreEqual(expected, fromAscii[at], $"ascii, cell ({i}, {j}, {k}) at ({string.Join(", ", c)}) nm");
                    Assert.AreEqual(expected, fromBinary[at], $"appended, cell ({i}, {j}, {k})");
                }
        Assert.IsTrue(fromAscii.Distinct().Count() >= 5, "the mesh should sample most of the six tetrahedra and the outside");
    }

    /// <summary>
    /// The layout vtkXMLUnstructuredGridWriter writes by default: every array appended raw after '_', zlib-compressed
    /// in blocks with a UInt64 header [blocks, block size, last block size, compressed sizes]; Float32 points, Int64
    /// connectivity and offsets, UInt8 types, Float64 cell data.
    /// </summary>
    private string WriteAppendedCompressed(string name, double[] points, int[][] cells, int[] types, double[] ids)
    {
        var blob = new MemoryStream();
        var arrays = new StringBuilder();
        void Append(string tag, string type, byte[] raw)
        {
            arrays.Append($"<DataArray type=\"{type}\" {tag} format=\"appended\" offset=\"{blob.Length}\"/>\n");
            byte[] z;
            using (var ms = new MemoryStream())
            {
                using (var zs = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true)) zs.Write(raw);
                z = ms.ToArray();
            }
            foreach (var v in new ulong[] { 1, (ulong)raw.Length, (ulong)raw.Length, (ulong)z.Length }) blob.Write(BitConverter.GetBytes(v));
            blob.Write(z);
        }
        byte[] Bytes<T>(IEnumerable<T> v, Func<T, byte[]> f) => v.SelectMany(f).ToArray();
        var offsets = new List<long>();
        long o = 0;
        foreach (var c in cells) offsets.Add(o += c.Length);
        var parts = new List<string>();
        Append("NumberOfComponents=\"3\"", "Float32", Bytes(points, p => BitConverter.GetBytes((float)p)));
        parts.Add("<Points>" + arrays + "</Points>"); arrays.Clear();
        Append("Name=\"connectivity\"", "Int64", Bytes(cells.SelectMany(c => c), p => BitConverter.GetBytes((long)p)));
        Append("Name=\"offsets\"", "Int64", Bytes(offsets, p => BitConverter.GetBytes(p)));
        Append("Name=\"types\"", "UInt8", types.Select(t => (byte)t).ToArray());
        parts.Add("<Cells>" + arrays + "</Cells>"); arrays.Clear();
        Append("Name=\"material\"", "Float64", Bytes(ids, p => BitConverter.GetBytes(p)));
        parts.Add("<CellData>" + arrays + "</CellData>");
        var head = $"""
            <?xml version="1.0"?>
            <VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64" compressor="vtkZLibDataCompressor">
              <UnstructuredGrid>
                <Piece NumberOfPoints="{points.Length / 3}" NumberOfCells="{cells.Length}">
                {string.Join("\n", parts)}
                </Piece>
              </UnstructuredGrid>
              <AppendedData encoding="raw">
               _
            """.TrimEnd();
        var path = Path.Combine(_dir, name);
        using var file = File.Create(path);
        file.Write(Encoding.ASCII.GetBytes(head));
        file.Write(blob.ToArray());
        file.Write(Encoding.ASCII.GetBytes("\n  </AppendedData>\n</VTKFile>\n"));
        return path;
    }

    [TestMethod]
    public void GridsAndMeshesThatDoNotFitAreRefused()
    {
        var (points, cells) = TwoBoxes();
        var state = new State(new Mesh(new[] { 2, 2, 2 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        var triangles = WriteAscii("tri.vtu", new double[] { 0, 0, 0, 1, 0, 0, 0, 1, 0 }, new[] { new[] { 0, 1, 2 } }, new[] { 5 }, new[] { 1.0 });
        var e = Assert.ThrowsExactly<ArgumentException>(() => state.DomainsFromFile(triangles, scale: 1e-9));
        StringAssert.Contains(e.Message, "VTK type 5 with 3 points");
        var flat = new State(new Mesh(new[] { 2, 2 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        var good = WriteAscii("boxes.vtu", points, cells, new[] { 12, 12 }, new[] { 1.0, 2.0 });
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => flat.DomainsFromFile(good, scale: 1e-9)).Message, "3D mesh; this mesh is 2D");
        var fraction = WriteAscii("frac.vtu", points, cells, new[] { 12, 12 }, new[] { 1.5, 2.0 });
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => state.DomainsFromFile(fraction, scale: 1e-9)).Message, "holds 1.5; domain ids must be integers");
        var bad = WriteAscii("bad.vtu", points, new[] { cells[0], cells[1].Select(p => p + 100).ToArray() }, new[] { 12, 12 }, new[] { 1.0, 2.0 });
        StringAssert.Contains(Assert.ThrowsExactly<FileFormatException>(() => state.DomainsFromFile(bad, scale: 1e-9)).Message, "cell 1 refers to point 104; the piece has 12 points");
        Assert.AreEqual("scale", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => state.DomainsFromFile(good, scale: 0)).ParamName);
        var named = Assert.ThrowsExactly<ArgumentException>(() => state.DomainsFromFile(good, "grains", scale: 1e-9));
        StringAssert.Contains(named.Message, "no cell array named 'grains' (cell arrays: 'material')");
    }
}
