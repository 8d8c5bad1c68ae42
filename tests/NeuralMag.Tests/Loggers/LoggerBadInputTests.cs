using NeuralMag.AD;
using NeuralMag.IO;
using NeuralMag.Loggers;

namespace NeuralMag.Tests.Loggers;

using State = NeuralMag.State;

/// <summary>Logger arguments (paths, every, columns, fields) and the FieldLogger's snapshot numbering.</summary>
[TestClass]
public sealed class LoggerBadInputTests
{
    private string _dir = "";

    [TestInitialize]
    public void Init() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), $"nm_logbad_{Guid.NewGuid():N}"));

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_dir, true);

    private static State NewState()
    {
        var state = new State(new Mesh(new[] { 2, 1, 1 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        state["m"] = new VectorFunction(state).Fill(new[] { 0.6, 0.8, 0 });
        return state;
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    [DataRow(3)]
    public void FieldLoggerNumbersSnapshotsFromZeroForEveryN(int every)
    {
        var state = NewState();
        var log = new FieldLogger(Path.Combine(_dir, "m.pvd"), new[] { "m" }, every);
        for (int call = 0; call < 3 * every; call++) { state.T = call * 1e-12; log.Log(state); }
        // Calls 0, n, 2n wrote snapshots 0, 1, 2 whatever n is.
        var files = Directory.GetFiles(_dir, "*.vti").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(new[] { "m_0000.vti", "m_0001.vti", "m_0002.vti" }, files);
        var sets = System.Xml.Linq.XDocument.Load(log.PvdPath).Descendants("DataSet").ToList();
        CollectionAssert.AreEqual(files, sets.Select(s => s.Attribute("file")!.Value).ToArray());
        CollectionAssert.AreEqual(new[] { 0.0, every * 1e-12, 2 * every * 1e-12 }, sets.Select(s => double.Parse(s.Attribute("timestep")!.Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        Assert.AreEqual(Path.Combine(_dir, "m_0002.vti"), log.SnapshotPath(2));
    }

    [TestMethod]
    public void FieldLoggerRejectsBadArguments()
    {
        var pvd = Path.Combine(_dir, "m.pvd");
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new FieldLogger(pvd, new[] { "m" }, every: 0));
        Assert.AreEqual("every", e.ParamName);
        StringAssert.Contains(e.Message, "at least 1");
        var p = Assert.ThrowsExactly<ArgumentException>(() => new FieldLogger(Path.Combine(_dir, "m.vti"), new[] { "m" }));
        Assert.AreEqual("pvdPath", p.ParamName);
        StringAssert.Contains(p.Message, ".pvd");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new FieldLogger(pvd, Array.Empty<string>())).Message, "No fields");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new FieldLogger(pvd, new[] { "m", "m" })).Message, "'m' is listed twice");
        // A file where the folder should be.
        var blocker = Path.Combine(_dir, "blocker");
        File.WriteAllText(blocker, "");
        var io = Assert.ThrowsExactly<IOException>(() => new FieldLogger(Path.Combine(blocker, "sub", "m.pvd"), new[] { "m" }));
        StringAssert.Contains(io.Message, "cannot create the folder");
        StringAssert.Contains(io.Message, blocker);
    }

    [TestMethod]
    public void FieldLoggerNamesAnUnknownField()
    {
        var log = new FieldLogger(Path.Combine(_dir, "m.pvd"), new[] { "mm" });
        var e = Assert.ThrowsExactly<KeyNotFoundException>(() => log.Log(NewState()));
        StringAssert.Contains(e.Message, "'mm'");
        Assert.AreEqual(0, log.Count);
    }

    [TestMethod]
    public void ScalarLoggerRejectsBadArguments()
    {
        var file = Path.Combine(_dir, "log.dat");
        Assert.AreEqual("every", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ScalarLogger(file, new object[] { "t" }, every: -2)).ParamName);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new ScalarLogger(_dir, new object[] { "t" })).Message, "is a folder");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new ScalarLogger(" ", new object[] { "t" })).Message, "path is empty");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new ScalarLogger(file, new object[] { "t", "t" })).Message, "'t' is listed twice");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new ScalarLogger(file, new object[] { 42 })).Message, "neither an attribute name");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new ScalarLogger(file, new object[] { "E total" })).Message, "whitespace");
        var none = new ScalarLogger(file, Array.Empty<object>());
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => none.Log(NewState())).Message, "no columns");
        Assert.IsFalse(File.Exists(file));
    }

    [TestMethod]
    public void ScalarLoggerAfterDisposeThrowsInsteadOfTruncatingTheFile()
    {
        var file = Path.Combine(_dir, "log.dat");
        var state = NewState();
        var log = new ScalarLogger(file, new object[] { "t", "m" });
        log.Log(state);
        log.Log(state);
        log.Dispose();
        Assert.ThrowsExactly<ObjectDisposedException>(() => log.Log(state));
        Assert.AreEqual(3, File.ReadAllLines(file).Length, "heading and two rows are kept");
    }

    [TestMethod]
    public void ScalarLoggerRejectsAColumnThatChangesWidth()
    {
        int n = 1;
        var log = new ScalarLogger(Path.Combine(_dir, "log.dat"), new object[] { ("v", (Func<State, object?>)(_ => new double[n])) });
        var state = NewState();
        log.Log(state);
        n = 2;
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => log.Log(state)).Message, "this row has 2 numbers, the heading has 1");
        log.Dispose();
    }

    [TestMethod]
    public void ScalarLoggerNamesAnUnknownAttribute()
    {
        using var log = new ScalarLogger(Path.Combine(_dir, "log.dat"), new object[] { "E_demag" });
        StringAssert.Contains(Assert.ThrowsExactly<KeyNotFoundException>(() => log.Log(NewState())).Message, "'E_demag'");
    }
}
