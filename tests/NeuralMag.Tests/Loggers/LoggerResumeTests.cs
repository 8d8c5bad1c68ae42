using System.Globalization;
using System.Xml.Linq;
using NeuralMag.AD;
using NeuralMag.IO;
using NeuralMag.Loggers;

namespace NeuralMag.Tests.Loggers;

using State = NeuralMag.State;

/// <summary>
/// Resuming the loggers: a run stopped after some steps and continued by fresh loggers writes the same files as the
/// same run without a stop, keeps what was recorded, and refuses tables and collections it cannot continue.
/// </summary>
[TestClass]
public sealed class LoggerResumeTests
{
    private const double Dt = 1e-12;
    private string _dir = "";

    [TestInitialize]
    public void Init() => System.IO.Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), $"nm_resume_{Guid.NewGuid():N}"));

    [TestCleanup]
    public void Cleanup() => System.IO.Directory.Delete(_dir, true);

    private static State NewState()
    {
        var state = new State(new Mesh(new[] { 3, 2, 1 }, new[] { 1e-9, 1e-9, 1e-9 }), Device.Cpu, DType.Float64);
        SetStep(state, 0);
        return state;
    }

    /// <summary>Step k of a made-up run: t = k dt and m rotated by 0.3 k about z, different on each node.</summary>
    private static void SetStep(State state, int k)
    {
        state.T = k * Dt;
        var m = new VectorFunction(state);
        int nodes = m.Tensor.ToArray().Length / 3;
        var v = new double[nodes * 3];
        for (int i = 0; i < nodes; i++)
        {
            double a = 0.3 * k + 0.1 * i;
            v[3 * i] = 0.6 * Math.Cos(a);
            v[3 * i + 1] = 0.6 * Math.Sin(a);
            v[3 * i + 2] = 0.8;
        }
        state["m"] = new VectorFunction(state, NTensor.FromArray(v, m.Tensor.GetShape()));
    }

    private static string[] Folder(string dir) =>
        System.IO.Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    private static void AssertSameFiles(string expectedDir, string actualDir)
    {
        CollectionAssert.AreEqual(Folder(expectedDir), Folder(actualDir));
        foreach (var f in Folder(expectedDir))
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(expectedDir, f)), File.ReadAllBytes(Path.Combine(actualDir, f)), f);
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    [DataRow(3)]
    public void FieldLoggerResumedEqualsUninterruptedRun(int every)
    {
        var state = NewState();
        var whole = Path.Combine(_dir, "whole");
        var log = new FieldLogger(Path.Combine(whole, "m.pvd"), new[] { "m" }, every);
        for (int k = 0; k < 10; k++) { SetStep(state, k); log.Log(state); }

        var part = Path.Combine(_dir, "part");
        var first = new FieldLogger(Path.Combine(part, "m.pvd"), new[] { "m" }, every);
        for (int k = 0; k < 6; k++) { SetStep(state, k); first.Log(state); }
        var recorded = Folder(part).ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(part, f)));

        var second = new FieldLogger(Path.Combine(part, "m.pvd"), new[] { "m" }, every);
        // A snapshot written after the collection was last saved is no record and gets replaced.
        File.WriteAllText(second.SnapshotPath(5 / every + 1), "unlisted");
        int last = 5 / every * every;
        Assert.AreEqual(last, second.Resume());
        Assert.AreEqual(last, second.LastRecordedStep);
        Assert.AreEqual(last + every, second.ResumableStep);
        Assert.AreEqual(5 / every + 1, second.Count);
        // The driver restores the last recorded step and continues with the step after it.
        for (int k = last + 1; k < 10; k++) { SetStep(state, k); second.Log(state); }

        AssertSameFiles(whole, part);
        foreach (var (f, bytes) in recorded.Where(r => r.Key.EndsWith(".vti")))
            CollectionAssert.AreEqual(bytes, File.ReadAllBytes(Path.Combine(part, f)), $"{f} was rewritten");
    }

    [TestMethod]
    public void StepDataReadsTheRecordedFieldAndTime()
    {
        var state = NewState();
        var log = new FieldLogger(Path.Combine(_dir, "m.pvd"), new[] { "m" }, every: 2);
        for (int k = 0; k < 5; k++) { SetStep(state, k); log.Log(state); }
        var resumed = new FieldLogger(Path.Combine(_dir, "m.pvd"), new[] { "m" }, every: 2);
        resumed.Resume();
        var (m, t) = resumed.StepData(2, "m", state);
        SetStep(state, 2);
        Assert.AreEqual(2 * Dt, t);
        var expected = state.Tensor("m").ToArray();
        var got = m.Tensor.ToArray();
        Assert.AreEqual(expected.Length, got.Length);
        for (int i = 0; i < got.Length; i++) Assert.AreEqual(expected[i], got[i], 1e-6, $"entry {i}");

        foreach (var bad in new[] { -2, 1, 6 })
        {
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => resumed.StepData(bad, "m", state));
            Assert.AreEqual("step", e.ParamName);
            StringAssert.Contains(e.Message, "multiples of 2 from 0 to 4");
        }
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => resumed.StepData(4, "h", state)).Message, "no data array named 'h'");
    }

    [TestMethod]
    public void FieldLoggerResumeWithoutCollectionStartsANewSeries()
    {
        var state = NewState();
        var log = new FieldLogger(Path.Combine(_dir, "m.pvd"), new[] { "m" });
        Assert.IsNull(log.Resume());
        Assert.IsNull(log.LastRecordedStep);
        Assert.AreEqual(0, log.ResumableStep);
        log.Log(state);
        CollectionAssert.AreEqual(new[] { "m.pvd", "m_0000.vti" }, Folder(_dir));
        var twice = Assert.ThrowsExactly<InvalidOperationException>(() => log.Resume());
        StringAssert.Contains(twice.Message, "before its first Log");
    }

    [TestMethod]
    public void FieldLoggerRefusesCollectionsItCannotContinue()
    {
        var pvd = Path.Combine(_dir, "m.pvd");
        File.WriteAllText(pvd, "<VTKFile type=\"ImageData\"/>");
        var e = Assert.ThrowsExactly<FileFormatException>(() => new FieldLogger(pvd, new[] { "m" }).Resume());
        Assert.AreEqual(pvd, e.FilePath);
        StringAssert.Contains(e.Message, "type=\"Collection\"");
        File.WriteAllText(pvd, "<VTKFile type=\"Collection\"><Collection><DataSet timestep=\"0\" file=\"m_0000.vti\"/></Collection></VTKFile>");
        StringAssert.Contains(Assert.ThrowsExactly<FileFormatException>(() => new FieldLogger(pvd, new[] { "m" }).Resume()).Message, "'m_0000.vti', which does not exist");
        File.WriteAllText(pvd, "<VTKFile type=\"Collection\"><Collection><DataSet timestep=\"soon\" file=\"m_0000.vti\"/></Collection></VTKFile>");
        StringAssert.Contains(Assert.ThrowsExactly<FileFormatException>(() => new FieldLogger(pvd, new[] { "m" }).Resume()).Message, "numeric timestep");
        File.WriteAllText(pvd, "<VTKFile");
        StringAssert.Contains(Assert.ThrowsExactly<FileFormatException>(() => new FieldLogger(pvd, new[] { "m" }).Resume()).Message, "not an XML file");
    }

    private static object[] Columns => new object[] { "t", "m", ("k", (Func<State, double>)(s => Math.Round(s.T / Dt))) };

    [TestMethod]
    [DataRow(1, 4)]
    [DataRow(2, 3)]
    [DataRow(2, 4)]
    [DataRow(3, 6)]
    public void ScalarLoggerResumedEqualsUninterruptedTable(int every, int resumeAt)
    {
        var state = NewState();
        var whole = Path.Combine(_dir, "whole.dat");
        using (var log = new ScalarLogger(whole, Columns, every))
            for (int k = 0; k < 10; k++) { SetStep(state, k); log.Log(state); }

        var part = Path.Combine(_dir, "part.dat");
        using (var log = new ScalarLogger(part, Columns, every))
            for (int k = 0; k < 7; k++) { SetStep(state, k); log.Log(state); }
        // A row cut off while it was written does not count and is dropped.
        File.AppendAllText(part, "+1.0000");
        using (var log = new ScalarLogger(part, Columns, every))
        {
            Assert.AreEqual((6 / every + 1) * every, log.ResumableStep());
            log.Resume(resumeAt);
            for (int k = resumeAt; k < 10; k++) { SetStep(state, k); log.Log(state); }
        }
        Assert.AreEqual(File.ReadAllText(whole), File.ReadAllText(part));
    }

    [TestMethod]
    public void ScalarLoggerRefusesADifferentHeadingAndLeavesTheTable()
    {
        var state = NewState();
        var path = Path.Combine(_dir, "log.dat");
        using (var log = new ScalarLogger(path, new object[] { "t", "m" }))
            for (int k = 0; k < 3; k++) { SetStep(state, k); log.Log(state); }
        var before = File.ReadAllText(path);
        using var other = new ScalarLogger(path, new object[] { "t", ("e", (Func<State, double>)(_ => 1.0)) });
        other.Resume(2);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => other.Log(state));
        StringAssert.Contains(e.Message, "the table's columns (t, m_x, m_y, m_z) differ from this logger's (t, e)");
        Assert.AreEqual(before, File.ReadAllText(path));
    }

    [TestMethod]
    public void ScalarLoggerResumeRejectsBadSteps()
    {
        var state = NewState();
        var path = Path.Combine(_dir, "log.dat");
        using (var log = new ScalarLogger(path, new object[] { "t" }, every: 2))
            for (int k = 0; k < 5; k++) { SetStep(state, k); log.Log(state); }
        using var again = new ScalarLogger(path, new object[] { "t" }, every: 2);
        var beyond = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => again.Resume(7));
        Assert.AreEqual("step", beyond.ParamName);
        StringAssert.Contains(beyond.Message, "has 3 rows");
        Assert.AreEqual("step", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => again.Resume(-1)).ParamName);
        var missing = Assert.ThrowsExactly<FileNotFoundException>(() => new ScalarLogger(Path.Combine(_dir, "none.dat"), new object[] { "t" }).Resume(3));
        StringAssert.Contains(missing.Message, "none.dat");
        File.WriteAllText(path, "+1.0\n");
        StringAssert.Contains(Assert.ThrowsExactly<FileFormatException>(() => new ScalarLogger(path, new object[] { "t" }).Resume(1)).Message, "not a '#' heading");
        using var used = new ScalarLogger(Path.Combine(_dir, "used.dat"), new object[] { "t" });
        used.Log(state);
        Assert.ThrowsExactly<InvalidOperationException>(() => used.Resume(1));
    }

    [TestMethod]
    public void LoggerResumesFromTheLastSnapshot()
    {
        var state = NewState();
        var whole = Path.Combine(_dir, "whole");
        using (var log = new Logger(whole, Columns, new[] { "m" }, scalarsEvery: 1, fieldsEvery: 3))
            for (int k = 0; k < 12; k++) { SetStep(state, k); log.Log(state); }

        var part = Path.Combine(_dir, "part");
        using (var log = new Logger(part, Columns, new[] { "m" }, scalarsEvery: 1, fieldsEvery: 3))
        {
            Assert.IsFalse(log.IsResumable);
            for (int k = 0; k < 8; k++) { SetStep(state, k); log.Log(state); }
        }
        var fresh = NewState();
        using (var log = new Logger(part, Columns, new[] { "m" }, scalarsEvery: 1, fieldsEvery: 3))
        {
            Assert.IsTrue(log.IsResumable);
            Assert.IsTrue(log.Resume(fresh));
            // Snapshots of steps 0, 3, 6: the state is that of step 6.
            Assert.AreEqual(6 * Dt, fresh.T);
            var restored = fresh.Tensor("m").ToArray();
            SetStep(state, 6);
            var expected = state.Tensor("m").ToArray();
            for (int i = 0; i < expected.Length; i++) Assert.AreEqual(expected[i], restored[i], 1e-6);
            // The driver logs the restored state (skipped: already recorded), then steps on.
            log.Log(fresh);
            for (int k = 7; k < 12; k++) { SetStep(fresh, k); log.Log(fresh); }
        }
        AssertSameFiles(whole, part);
    }

    [TestMethod]
    public void LoggerWithoutRecordsStartsOverAndRefusesWhatItCannotAlign()
    {
        var state = NewState();
        using (var log = new Logger(_dir, new object[] { "t" }, new[] { "m" }))
        {
            SetStep(state, 5);
            Assert.IsFalse(log.Resume(state));
            Assert.AreEqual(5 * Dt, state.T, "the state is left as it is");
        }
        var noM = Assert.ThrowsExactly<InvalidOperationException>(() => new Logger(_dir, new object[] { "t" }, new[] { "h" }).Resume(state));
        StringAssert.Contains(noM.Message, "log \"m\" among the fields");
        Assert.ThrowsExactly<InvalidOperationException>(() => new Logger(_dir, new object[] { "t" }).Resume(state));

        // Snapshots every step up to 4, but the table stops at step 2.
        var dir = Path.Combine(_dir, "short");
        using (var log = new Logger(dir, new object[] { "t" }, new[] { "m" }))
            for (int k = 0; k < 5; k++) { SetStep(state, k); log.Log(state); }
        var lines = File.ReadAllLines(Path.Combine(dir, "log.dat"));
        File.WriteAllLines(Path.Combine(dir, "log.dat"), lines.Take(3));
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => new Logger(dir, new object[] { "t" }, new[] { "m" }).Resume(state));
        StringAssert.Contains(e.Message, "last snapshot is of step 4, but log.dat has rows for steps before 2 only");

        Assert.AreEqual("scalars", Assert.ThrowsExactly<ArgumentException>(() => new Logger(_dir)).ParamName);
        Assert.AreEqual("fieldsEvery", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new Logger(_dir, fields: new[] { "m" }, fieldsEvery: 0)).ParamName);
    }
}
