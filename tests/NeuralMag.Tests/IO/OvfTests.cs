using NeuralMag.AD;
using NeuralMag.IO;
using NeuralMag.Loggers;

namespace NeuralMag.Tests.IO;

using State = NeuralMag.State;

[TestClass]
public sealed class OvfTests
{
    private static string Temp(string ext) => Path.Combine(Path.GetTempPath(), $"nm_io_{Guid.NewGuid():N}{ext}");

    private static double[] Values(int n)
    {
        var rng = new Random(7);
        return Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
    }

    [TestMethod]
    [DataRow(OvfFormat.Binary8)]
    [DataRow(OvfFormat.Text)]
    public void RoundTripIsBitIdentical(OvfFormat format)
    {
        var cells = new[] { 4, 3, 2 };
        var v = Values(4 * 3 * 2 * 3);
        var file = Temp(".ovf");
        try
        {
            Ovf.Write(file, cells, new[] { 5e-9, 4e-9, 3e-9 }, new[] { 1e-9, 0, 0 }, v, 3, format, "m");
            var f = Ovf.Read(file);
            CollectionAssert.AreEqual(v, f.Values);
            CollectionAssert.AreEqual(cells, f.Cells);
            Assert.AreEqual(format, f.Format);
            Assert.AreEqual(3.5e-9, f.Base[0], 1e-24);
            Assert.AreEqual(4e-9, f.StepSize[1]);
            Assert.AreEqual("m_x m_y m_z", f.Header["valuelabels"]);
            Assert.AreEqual("m", f.Header["meshunit"]);
            // Writing what was read gives the same bytes.
            var file2 = Temp(".ovf");
            Ovf.Write(file2, f.Cells, f.StepSize, new[] { 1e-9, 0, 0 }, f.Values, 3, format, "m");
            CollectionAssert.AreEqual(File.ReadAllBytes(file), File.ReadAllBytes(file2));
            File.Delete(file2);
        }
        finally { File.Delete(file); }
    }

    [TestMethod]
    public void Binary4HasTheCheckValueAndFloatPrecision()
    {
        var v = Values(2 * 2 * 1);
        var file = Temp(".ovf");
        try
        {
            Ovf.Write(file, new[] { 2, 2, 1 }, new[] { 1e-9, 1e-9, 1e-9 }, new double[3], v, 1, OvfFormat.Binary4, "u");
            var bytes = File.ReadAllBytes(file);
            var text = System.Text.Encoding.ASCII.GetString(bytes);
            Assert.IsTrue(text.StartsWith("# OOMMF OVF 2.0\n"));
            int data = text.IndexOf("# Begin: Data Binary 4\n", StringComparison.Ordinal) + "# Begin: Data Binary 4\n".Length;
            Assert.AreEqual(1234567.0f, BitConverter.ToSingle(bytes, data));
            var f = Ovf.Read(file);
            CollectionAssert.AreEqual(v.Select(x => (double)(float)x).ToArray(), f.Values);
            // Ordering: x fastest in the file; (i=1, j=0) is the second record.
            Assert.AreEqual((float)v[1 * 2 + 0], BitConverter.ToSingle(bytes, data + 8));
        }
        finally { File.Delete(file); }
    }

    [TestMethod]
    public void CorruptCheckValueIsRejected()
    {
        var file = Temp(".ovf");
        try
        {
            Ovf.Write(file, new[] { 1, 1, 1 }, new[] { 1.0, 1, 1 }, new double[3], new[] { 1.0, 2, 3 }, 3);
            var bytes = File.ReadAllBytes(file);
            int data = System.Text.Encoding.ASCII.GetString(bytes).IndexOf("Binary 8\n", StringComparison.Ordinal) + 9;
            bytes[data] ^= 1;
            File.WriteAllBytes(file, bytes);
            var e = Assert.ThrowsExactly<FileFormatException>(() => Ovf.Read(file));
            StringAssert.Contains(e.Message, "check value");
        }
        finally { File.Delete(file); }
    }
}

[TestClass]
public sealed class LoggerTests
{
    [TestMethod]
    public void ScalarLoggerWritesUpstreamsColumnLayout()
    {
        var state = new State(new Mesh(new[] { 2, 1, 1 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        state["m"] = new VectorFunction(state).Fill(new[] { 0.6, 0.8, 0 });
        state["E"] = 1.25e-19;
        var file = Path.Combine(Path.GetTempPath(), $"nm_log_{Guid.NewGuid():N}", "log.dat");
        try
        {
            using (var log = new ScalarLogger(file, new object[] { "t", "m", "E", ("t_ns", (Func<State, double>)(s => s.T * 1e9)) }, every: 2))
            {
                for (int i = 0; i < 3; i++) { state.T = i * 1e-12; log.Log(state); }
            }
            var lines = File.ReadAllLines(file);
            Assert.AreEqual(3, lines.Length, "heading + rows of calls 0 and 2");
            var head = lines[0].TrimStart('#').Split(' ', StringSplitOptions.RemoveEmptyEntries);
            CollectionAssert.AreEqual(new[] { "t", "m_x", "m_y", "m_z", "E", "t_ns" }, head);
            var row = lines[2].Split("    ");
            Assert.AreEqual("+2.000000000000000e-12", row[0]);
            Assert.AreEqual(0.6, double.Parse(row[1]), 1e-15);
            Assert.AreEqual("+1.250000000000000e-19", row[4]);
            Assert.AreEqual("+2.000000000000000e-03", row[5]);
        }
        finally { Directory.Delete(Path.GetDirectoryName(file)!, true); }
    }

    [TestMethod]
    public void FieldLoggerWritesVtiSeriesAndPvd()
    {
        var state = new State(new Mesh(new[] { 3, 2 }, new[] { 1e-9, 2e-9, 3e-9 }), Device.Cpu, DType.Float64);
        state["m"] = new VectorFunction(state).Fill(new[] { 0, 0, 1.0 });
        var dir = Path.Combine(Path.GetTempPath(), $"nm_flog_{Guid.NewGuid():N}");
        try
        {
            var log = new FieldLogger(Path.Combine(dir, "m.pvd"), new[] { "m" }, every: 2);
            for (int i = 0; i < 5; i++) { state.T = i * 1e-12; log.Log(state); }
            Assert.AreEqual(3, log.Count);
            var pvd = System.Xml.Linq.XDocument.Load(log.PvdPath);
            var sets = pvd.Descendants("DataSet").ToList();
            Assert.AreEqual("4E-12", sets[2].Attribute("timestep")!.Value);
            var f = Vti.Read(Path.Combine(dir, sets[1].Attribute("file")!.Value)).Single();
            // 2D mesh padded to one cell in z: 4 x 3 x 2 points.
            CollectionAssert.AreEqual(new[] { 4, 3, 2 }, f.GridShape);
            Assert.IsTrue(f.OnPoints);
            Assert.AreEqual(24, f.Values.Count(v => v == 1.0));
        }
        finally { Directory.Delete(dir, true); }
    }
}
