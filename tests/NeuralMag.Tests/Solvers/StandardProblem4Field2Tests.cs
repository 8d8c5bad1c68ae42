using System.Globalization;
using NeuralMag.AD;
using NeuralMag.IO;
using NeuralMag.Loggers;

namespace NeuralMag.Tests.Solvers;

using State = NeuralMag.State;

[TestClass]
public sealed class StandardProblem4Field2Tests
{
    [TestMethod]
    public void Field2FollowsOommfThroughTheScalarLog()
    {
        // Upstream's test_sp4_field_switch_2: log t and <m> with the ScalarLogger every 10 ps, read the log back and
        // compare m_y with OOMMF (linear interpolation), |diff| < 0.04. CI runs one 10 ps step; NM_FULL=1 runs 30.
        var (state, Oommf) = StandardProblem4Setup.Create(2);
        var dir = Path.Combine(Path.GetTempPath(), $"nm_sp4f2_{Guid.NewGuid():N}");
        var logPath = Path.Combine(dir, "log.dat");
        try
        {
            int steps = Config.Full ? 30 : 1;
            double my0 = state.M.Avg().ToArray()[1];
            var progress = new StringWriter();
            var llg = new LLGSolver(state) { Progress = new TextProgress(progress, TimeSpan.FromMilliseconds(20)) };
            using (var log = new ScalarLogger(logPath, new object[] { "t", "m" }))
                for (int i = 0; i < steps; i++) { llg.Step(1e-11); log.Log(state); }
            var rows = File.ReadAllLines(logPath).Where(l => !l.StartsWith('#'))
                .Select(l => l.Split("    ").Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray()).ToArray();
            Assert.AreEqual(steps, rows.Length);
            foreach (var r in rows)
                Assert.IsTrue(Math.Abs(r[2] - Oommf(r[0])) < 0.04, $"t = {r[0]:g} s: m_y = {r[2]}, OOMMF {Oommf(r[0])}");
            // Field 2 pushes m_y down: at least half of OOMMF's drop over the same time.
            double drop = Oommf(0) - Oommf(rows[^1][0]);
            Assert.IsTrue(rows[^1][2] < my0 - 0.5 * drop, $"m_y = {rows[^1][2]} should have dropped from {my0} by about OOMMF's {drop}");
            StringAssert.Contains(progress.ToString(), "[NeuralMag] step 100% t = ", "the run reports progress");
            Console.WriteLine($"sp4 field 2: t = {rows[^1][0]:g} s, m_y = {rows[^1][2]:F5}, OOMMF {Oommf(rows[^1][0]):F5}, RHS evaluations {llg.Evaluations}");
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }
}
