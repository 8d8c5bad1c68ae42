using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using NeuralMag.Cluster;
using NeuralMag.Sweeps;
using Orleans.Runtime;

namespace NeuralMag.Sweep.Tests;

/// <summary>
/// The fault test: a PostgreSQL server and three silo processes (NeuralMag.Demos sweep-silo) on loopback, a sweep of
/// 60 points from a client in this process, one silo killed (SIGKILL, by its process id) mid-sweep. Every point must
/// end with exactly one row, outputs right, the failing points recorded as failed with their message; a second run
/// of the sweep must do no work.
/// </summary>
[TestClass]
public sealed class ClusterFaultTests
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(60);

    [TestMethod]
    [Timeout(240_000, CooperativeCancellation = true)]
    public async Task KilledSiloLosesNoPointAndDuplicatesNone()
    {
        var bin = LocalPostgres.FindBinaries();
        if (bin == null)
        {
            const string why = "PostgreSQL not found (no /usr/lib/postgresql/*/bin/initdb): install Debian's postgresql package to run the cluster fault test.";
            if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail(why + " CI=true: .ci/run installs it, so this is an error.");
            Assert.Inconclusive(why);
        }
        var clock = Stopwatch.StartNew();
        await using var pg = await LocalPostgres.StartAsync(bin!, Bounded);
        await SweepDatabase.InitializeAsync(pg.ConnectionString);
        // Silos and client connect as a role limited to the sweep tables (the README's advice), not as the owner.
        var sweeperPassword = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        await using (var owner = new Npgsql.NpgsqlConnection(pg.ConnectionString))
        {
            await owner.OpenAsync();
            await using var create = new Npgsql.NpgsqlCommand($"CREATE ROLE sweeper LOGIN PASSWORD '{sweeperPassword}'", owner);
            await create.ExecuteNonQueryAsync();
        }
        await SweepDatabase.GrantAsync(pg.ConnectionString, "sweeper");
        var limited = new Npgsql.NpgsqlConnectionStringBuilder(pg.ConnectionString) { Username = "sweeper", Password = sweeperPassword }.ConnectionString;
        await using (var check = new Npgsql.NpgsqlConnection(limited))
        {
            await check.OpenAsync();
            await using var ddl = new Npgsql.NpgsqlCommand("CREATE TABLE intruder (x int)", check);
            await Assert.ThrowsExactlyAsync<Npgsql.PostgresException>(() => ddl.ExecuteNonQueryAsync());
        }
        var clusterId = $"fault-{Guid.NewGuid():N}";
        var silos = new List<SiloProcess>();
        try
        {
            for (int i = 0; i < 3; i++) silos.Add(SiloProcess.Start(limited, clusterId, $"silo-{i}"));
            await Task.WhenAll(silos.Select(s => s.WaitReadyAsync(Bounded)));
            Console.WriteLine($"postgres and 3 silos up after {clock.Elapsed.TotalSeconds:F1} s");

            var settings = new ClusterSettings
            {
                ConnectionString = limited, ClusterId = clusterId, FastFailureDetection = true, ResponseTimeout = TimeSpan.FromSeconds(20),
            };
            using var client = SweepHosts.BuildClusterClient(settings);
            await client.StartAsync();
            var grains = client.Services.GetRequiredService<IClusterClient>();
            var deadline = DateTime.UtcNow + Bounded;
            while ((await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).Count < 3)
            {
                if (DateTime.UtcNow > deadline) Assert.Fail("the three silos did not all become active within 60 s.");
                await Task.Delay(250);
            }

            // 60 points of 250 ms each; the points with a = 7 throw.
            var file = SweepFile.Parse("""
                { "name": "fault", "model": "trivial", "settings": { "sleepMs": 250, "failWhen": { "a": 7 } },
                  "grid": { "a": { "from": 1, "to": 12, "count": 12 }, "b": [1, 2, 3, 4, 5] } }
                """, quick: false);
            await using var store = new PostgresSweepStore(limited);
            var victim = silos[1];
            DateTime? killedAt = null;
            var progress = new InlineProgress(p =>
            {
                if (killedAt == null && p.Done >= 15)
                {
                    killedAt = DateTime.UtcNow;
                    victim.Kill();
                    Console.WriteLine($"killed {victim.Name} (pid {victim.Pid}) after {p.Done} points, at {clock.Elapsed.TotalSeconds:F1} s");
                }
            });
            var sweepClock = Stopwatch.StartNew();
            var summary = await ClusterSweep.RunAsync(grains, file, store, parallel: 6, progress);
            Console.WriteLine($"sweep of 60 points with one silo killed: {sweepClock.Elapsed.TotalSeconds:F1} s; ran {summary.Ran}, failed {summary.Failed}");
            Assert.IsNotNull(killedAt, "the silo was not killed mid-sweep");

            // Exactly one row per point, none for anything else.
            var counts = await store.CountPerPointAsync("fault");
            CollectionAssert.AreEquivalent(file.Points.Select(p => p.Key).ToArray(), counts.Keys.ToArray());
            Assert.IsTrue(counts.Values.All(c => c == 1), "a point has more than one row");
            var rows = await store.ReadAllAsync("fault");
            Assert.AreEqual(60, rows.Count);
            foreach (var row in rows)
            {
                var p = row.Point;
                if (p["a"] == 7)
                {
                    Assert.AreEqual(SweepStatus.Failed, row.Status);
                    Assert.AreEqual($"InvalidOperationException: point {p.Key} fails on purpose (failWhen a = 7).", row.Error);
                }
                else
                {
                    Assert.AreEqual(SweepStatus.Ok, row.Status, row.Error);
                    Assert.AreEqual(p["a"] + p["b"], row.Output("sum"));
                }
            }
            Assert.AreEqual(5, rows.Count(r => r.Status == SweepStatus.Failed));
            // The killed silo did work before it died, and none after; the others finished the sweep.
            var byVictim = rows.Where(r => r.Worker.Contains($"pid {victim.Pid})")).ToList();
            Assert.IsTrue(byVictim.Count > 0, "the killed silo had run no point before it was killed");
            Assert.IsTrue(byVictim.All(r => r.FinishedUtc <= killedAt!.Value.AddSeconds(1)), "a row is attributed to the silo after it was killed");
            Assert.IsTrue(rows.Any(r => r.FinishedUtc > killedAt!.Value), "no point finished after the kill");
            Console.WriteLine($"rows per silo: {string.Join(", ", rows.GroupBy(r => r.Worker).Select(g => $"{g.Key}: {g.Count()}"))}");

            // A late duplicate write (a retried grain) leaves the first row as it was.
            var first = rows[0];
            Assert.IsFalse(await store.TryWriteAsync(first with { Status = SweepStatus.Failed, Error = "late duplicate", Worker = "nobody" }));
            var kept = await store.ReadAsync("fault", first.PointKey);
            Assert.AreEqual(first.Worker, kept!.Worker);
            Assert.AreEqual(first.Status, kept.Status);

            // The same sweep again: everything is done, nothing runs, the table is unchanged.
            var again = await ClusterSweep.RunAsync(grains, file, store, parallel: 6);
            Assert.AreEqual(60, again.Skipped);
            Assert.AreEqual(0, again.Ran);
            Assert.AreEqual(60, (await store.ReadAllAsync("fault")).Count);
            // The command line's cluster mode on the same cluster: every point is done, the table lists them all.
            var json = TempPaths.New("fault.json");
            File.WriteAllText(json, """
                { "name": "fault", "model": "trivial", "settings": { "sleepMs": 250, "failWhen": { "a": 7 } },
                  "grid": { "a": { "from": 1, "to": 12, "count": 12 }, "b": [1, 2, 3, 4, 5] } }
                """);
            var outDir = TempPaths.New("out");
            NeuralMag.AD.Config.SweepDatabase = limited;
            try
            {
                var stdout = new StringWriter();
                var stderr = new StringWriter();
                int code = NeuralMag.Demos.DemoRunner.Run(["sweep", json, "--cluster", "--cluster-id", clusterId, "--out", outDir], stdout, stderr, _ => null);
                Assert.AreEqual(0, code, stderr.ToString());
            }
            finally { NeuralMag.AD.Config.SweepDatabase = null; }
            Assert.AreEqual(61, File.ReadAllLines(Path.Combine(outDir, "sweep", "fault", "table.csv")).Length);
            Assert.AreEqual(60, (await store.ReadAllAsync("fault")).Count);
            await client.StopAsync();
            Console.WriteLine($"fault test total {clock.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            foreach (var s in silos) s.Stop();
        }
    }

    private sealed class InlineProgress(Action<SweepProgress> report) : IProgress<SweepProgress>
    {
        public void Report(SweepProgress value) => report(value);
    }
}

/// <summary>A silo process (NeuralMag.Demos sweep-silo) started by a test; stopped or killed by its own pid.</summary>
internal sealed class SiloProcess
{
    private readonly Process _process;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Text.StringBuilder _log = new();

    private SiloProcess(Process process, string name) { _process = process; Name = name; }

    public string Name { get; }

    public int Pid => _process.Id;

    /// <summary>NeuralMag.Demos.dll of the same build as this test (copied next to it by the project reference).</summary>
    public static string DemosAssembly()
    {
        var next = Path.Combine(AppContext.BaseDirectory, "NeuralMag.Demos.dll");
        if (File.Exists(next) && File.Exists(Path.Combine(AppContext.BaseDirectory, "NeuralMag.Demos.runtimeconfig.json"))) return next;
        throw new FileNotFoundException($"NeuralMag.Demos.dll with its runtimeconfig not found in {AppContext.BaseDirectory}.");
    }

    public static SiloProcess Start(string connectionString, string clusterId, string name)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { DemosAssembly(), "sweep-silo", "--cluster-id", clusterId, "--name", name, "--fast-failure-detection",
                     "--silo-port", SweepHosts.FreeLoopbackPort().ToString(), "--gateway-port", SweepHosts.FreeLoopbackPort().ToString() })
            psi.ArgumentList.Add(a);
        // The connection string (with its password) goes by environment, not on the command line.
        psi.Environment["NM_SWEEP_DB"] = connectionString;
        psi.Environment.Remove("NM_SWEEP_ADDRESS");
        var process = Process.Start(psi) ?? throw new InvalidOperationException("the silo process did not start.");
        var silo = new SiloProcess(process, name);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data == null) return;
            lock (silo._log) silo._log.AppendLine(e.Data);
            if (e.Data.StartsWith($"silo {name} ready", StringComparison.Ordinal)) silo._ready.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (silo._log) silo._log.AppendLine(e.Data); };
        process.Exited += (_, _) => silo._ready.TrySetException(new InvalidOperationException($"{name} exited before it was ready:\n{silo.Log}"));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    public string Log { get { lock (_log) return _log.ToString(); } }

    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        try { await _ready.Task.WaitAsync(timeout); }
        catch (TimeoutException) { throw new TimeoutException($"{Name} was not ready within {timeout.TotalSeconds} s:\n{Log}"); }
    }

    /// <summary>SIGKILL, as a crash.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit(10_000);
    }

    /// <summary>SIGTERM (the host shuts the silo down), then SIGKILL if it is still there after 15 s.</summary>
    public void Stop()
    {
        if (_process.HasExited) { _process.Dispose(); return; }
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()])) kill.WaitForExit(5000);
        if (!_process.WaitForExit(15_000)) _process.Kill();
        _process.Dispose();
    }
}
