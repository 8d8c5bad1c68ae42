using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NeuralMag.AD;
using NeuralMag.Cluster;
using NeuralMag.Sweeps;
using Orleans.Runtime;

namespace NeuralMag.Demos;

/// <summary>The sweep models the programs know (every silo process must know the model a sweep names).</summary>
public static class DemoSweepModels
{
    /// <summary>trivial (engine cost, fault tests) and skyrmion-disk (stability maps).</summary>
    public static SweepModelCatalog Catalog() => new(new ISweepModel[] { new TrivialModel(), new SkyrmionDiskModel() });
}

/// <summary>
/// <c>sweep FILE.json</c>: runs the sweep the file describes and writes its table. By default on one Orleans silo in
/// this process with a CSV results store under --out; <c>--cluster</c> runs it on a silo cluster (database from
/// NM_SWEEP_DB) with the PostgreSQL results table; <c>--sequential</c> runs the points one by one without Orleans. A file
/// with "batch": N hands groups of N points to one call of the model's batched function (the members of one batched
/// State) on every runner. Points with a row are skipped, so running the command again resumes the sweep.
/// </summary>
public sealed class SweepCommand : IDemo
{
    public string Name => "sweep";
    public string Description => "run a parameter sweep described in a JSON file (one local Orleans silo by default; --cluster for silos on PostgreSQL)";
    public string? Positional => "<sweep.json>";

    public IReadOnlyList<DemoFlag> Flags { get; } = new DemoFlag[]
    {
        new("--cluster", null, "run on the silo cluster whose database NM_SWEEP_DB names (results in its nm_sweep_results table)"),
        new("--cluster-id", "ID", "cluster id of the silos (default neuralmag-sweep)"),
        new("--sequential", null, "run the points one after another in this process, without Orleans"),
        new("--parallel", "N", "point calls in flight (default: 1 locally, the number of active silos on a cluster)"),
        new("--store", "FILE", "local results store (default <out>/sweep/<name>/store.csv)"),
    };

    public int Run(DemoOptions options)
    {
        if (options.Positional.Count != 1) throw new CommandLineException("sweep needs exactly one sweep file (a .json path).");
        SweepFile file;
        try { file = SweepFile.Load(options.Positional[0], options.Quick); }
        catch (FormatException e) { throw new CommandLineException(e.Message); }
        if (options.Has("--cluster") && options.Has("--sequential")) throw new CommandLineException("--cluster and --sequential exclude each other.");
        int? parallel = options.Value("--parallel") is { } ps
            ? int.TryParse(ps, NumberStyles.None, CultureInfo.InvariantCulture, out var pv) && pv >= 1 ? pv : throw new CommandLineException($"--parallel must be an integer >= 1; got '{ps}'.")
            : null;
        var catalog = DemoSweepModels.Catalog();
        try { catalog.Create(file.Model, file.SettingsJson); }
        catch (ArgumentException e) { throw new CommandLineException($"{options.Positional[0]}: {e.Message}"); }
        var outDir = options.OutputFor(Path.Combine(Name, file.Name));
        var result = options.Has("--cluster")
            ? RunOnCluster(file, ClusterFromConfig(options.Value("--cluster-id")), parallel)
            : RunLocally(file, catalog, options.Value("--store") ?? Path.Combine(outDir, "store.csv"), options.Has("--sequential"), parallel ?? 1);
        var table = Path.Combine(outDir, "table.csv");
        Sweep.WriteTable(table, result.Rows);
        Console.WriteLine($"sweep {file.Name}: {result.Total} points, {result.Skipped} already done, {result.Ran} run now ({result.Failed} failed); rows: {result.Rows.Count}");
        foreach (var r in result.Rows.Where(r => r.Status == SweepStatus.Failed).Take(10)) Console.WriteLine($"  failed {r.PointKey}: {r.Error}");
        Console.WriteLine($"  wrote {table}");
        return result.Rows.Count == result.Total ? 0 : 1;
    }

    /// <summary>Runs the sweep in this process: one in-process silo (default) or, with <paramref name="sequential"/>, no engine.</summary>
    internal static SweepSummary RunLocally(SweepFile file, SweepModelCatalog catalog, string storePath, bool sequential, int parallel)
    {
        using var store = new CsvSweepStore(storePath);
        var progress = new SweepProgressPrinter();
        if (sequential)
            return (file.Batch > 1 && catalog.CreateBatch(file.Model, file.SettingsJson) is { } batch
                ? Sweep.RunAsync(file.Name, file.Points, batch, file.Batch, store, progress)
                : Sweep.RunAsync(file.Name, file.Points, catalog.Create(file.Model, file.SettingsJson), store, progress)).GetAwaiter().GetResult();
        return RunOnLocalSilo(file, catalog, store, parallel, progress).GetAwaiter().GetResult();
    }

    /// <summary>Runs the sweep on one silo started in this process (free loopback ports), rows to <paramref name="store"/>.</summary>
    public static async Task<SweepSummary> RunOnLocalSilo(SweepFile file, SweepModelCatalog catalog, ISweepResultStore store, int parallel, IProgress<SweepProgress>? progress)
    {
        using var silo = await SweepHosts.StartLocalSiloAsync(store, catalog);
        try { return await ClusterSweep.RunAsync(silo.Services.GetRequiredService<IGrainFactory>(), file, store, parallel, progress); }
        finally { await silo.StopAsync(); }
    }

    private static SweepSummary RunOnCluster(SweepFile file, ClusterSettings settings, int? parallel) => RunOnClusterAsync(file, settings, parallel).GetAwaiter().GetResult();

    private static async Task<SweepSummary> RunOnClusterAsync(SweepFile file, ClusterSettings settings, int? parallel)
    {
        using var client = SweepHosts.BuildClusterClient(settings);
        await client.StartAsync();
        try
        {
            var grains = client.Services.GetRequiredService<IClusterClient>();
            int silos = (await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).Count;
            Console.WriteLine($"cluster {settings.ClusterId}: {silos} active silo(s)");
            await using var store = new PostgresSweepStore(settings.ConnectionString);
            return await ClusterSweep.RunAsync(grains, file, store, parallel ?? Math.Max(1, silos), new SweepProgressPrinter());
        }
        finally { await client.StopAsync(); }
    }

    /// <summary>Cluster settings from NM_SWEEP_DB / NM_SWEEP_ADDRESS (Config) and the options.</summary>
    internal static ClusterSettings ClusterFromConfig(string? clusterId, int siloPort = 11111, int gatewayPort = 30000, string? address = null, bool fast = false)
    {
        var db = Config.SweepDatabase ?? throw new CommandLineException(
            "no cluster database: set NM_SWEEP_DB to an Npgsql connection string (e.g. Host=127.0.0.1;Port=5432;Database=sweeps;Username=sweeper; the password in PGPASSWORD or ~/.pgpass).");
        var addressText = address ?? Config.SweepAddress;
        IPAddress ip = IPAddress.Loopback;
        if (addressText != null && !IPAddress.TryParse(addressText, out ip!))
            throw new CommandLineException($"{(address != null ? "--address" : "NM_SWEEP_ADDRESS")} '{addressText}' is not an IP address.");
        return new ClusterSettings
        {
            ConnectionString = db, ClusterId = clusterId ?? "neuralmag-sweep", Address = ip, SiloPort = siloPort, GatewayPort = gatewayPort,
            FastFailureDetection = fast, ResponseTimeout = fast ? TimeSpan.FromSeconds(20) : TimeSpan.FromMinutes(30),
        };
    }
}

/// <summary>Prints one line per finished point (every point for small sweeps, every tenth otherwise).</summary>
internal sealed class SweepProgressPrinter : IProgress<SweepProgress>
{
    public void Report(SweepProgress p)
    {
        if (p.LastKey == null) { Console.WriteLine($"  {p.Skipped} of {p.Total} points already done"); return; }
        if (p.Total <= 30 || p.Done % 10 == 0 || p.Done == p.Total)
            Console.WriteLine($"  [{p.Done}/{p.Total}] {p.LastKey}{(p.Failed > 0 ? $" ({p.Failed} failed so far)" : "")}");
    }
}

/// <summary><c>sweep-silo</c>: one silo of a sweep cluster (ADO.NET clustering on the NM_SWEEP_DB database); runs until stopped.</summary>
public sealed class SweepSiloCommand : IDemo
{
    public string Name => "sweep-silo";
    public string Description => "run one Orleans silo of a sweep cluster (database from NM_SWEEP_DB) until stopped";

    public IReadOnlyList<DemoFlag> Flags { get; } = new DemoFlag[]
    {
        new("--cluster-id", "ID", "cluster id (default neuralmag-sweep)"),
        new("--silo-port", "PORT", "silo-to-silo port (default 11111)"),
        new("--gateway-port", "PORT", "client gateway port (default 30000)"),
        new("--address", "IP", "address to bind and advertise (default NM_SWEEP_ADDRESS, else 127.0.0.1)"),
        new("--name", "NAME", "silo name (default silo-<pid>)"),
        new("--fast-failure-detection", null, "declare a dead silo within seconds (tests on one machine)"),
    };

    public int Run(DemoOptions options)
    {
        int Port(string flag, int fallback) => options.Value(flag) is { } s
            ? int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536 ? p : throw new CommandLineException($"{flag} must be a port number (1-65535); got '{s}'.")
            : fallback;
        var settings = SweepCommand.ClusterFromConfig(options.Value("--cluster-id"), Port("--silo-port", 11111), Port("--gateway-port", 30000),
            options.Value("--address"), options.Has("--fast-failure-detection"));
        var name = options.Value("--name") ?? $"silo-{Environment.ProcessId}";
        using var host = SweepHosts.BuildClusterSilo(settings, DemoSweepModels.Catalog(), name);
        host.Start();
        Console.WriteLine($"silo {name} ready on {settings.Address}:{settings.SiloPort} (gateway {settings.GatewayPort}), cluster {settings.ClusterId}, pid {Environment.ProcessId}");
        host.WaitForShutdown();
        Console.WriteLine($"silo {name} stopped");
        return 0;
    }
}

/// <summary><c>sweep-db-init</c>: creates the sweep and clustering tables in the NM_SWEEP_DB database (run once, as the database owner).</summary>
public sealed class SweepDbInitCommand : IDemo
{
    public string Name => "sweep-db-init";
    public string Description => "create the sweep results and Orleans clustering tables in the NM_SWEEP_DB database";

    public IReadOnlyList<DemoFlag> Flags { get; } = new DemoFlag[]
    {
        new("--grant", "ROLE", "also grant an existing role the rights silos and clients need on these tables (and no others)"),
    };

    public int Run(DemoOptions options)
    {
        var db = Config.SweepDatabase ?? throw new CommandLineException("sweep-db-init: set NM_SWEEP_DB to the database's Npgsql connection string.");
        if (options.Value("--grant") is { } role)
        {
            try { SweepDatabase.GrantStatements(role); }
            catch (ArgumentException e) { throw new CommandLineException($"--grant: {e.Message}"); }
        }
        SweepDatabase.InitializeAsync(db).GetAwaiter().GetResult();
        Console.WriteLine($"sweep tables ready: {string.Join(", ", SweepDatabase.Tables)}");
        if (options.Value("--grant") is { } grantee)
        {
            SweepDatabase.GrantAsync(db, grantee).GetAwaiter().GetResult();
            Console.WriteLine($"granted {grantee}: {string.Join("; ", SweepDatabase.GrantStatements(grantee))}");
        }
        return 0;
    }
}
