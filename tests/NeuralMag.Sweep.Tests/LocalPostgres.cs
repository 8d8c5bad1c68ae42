using System.Diagnostics;
using System.Security.Cryptography;
using Npgsql;

namespace NeuralMag.Sweep.Tests;

/// <summary>
/// A throw-away PostgreSQL server for tests: Debian's binaries (/usr/lib/postgresql/N/bin), its own data folder under
/// the temp folder, listening on 127.0.0.1 only on a free port, a generated password (SCRAM). initdb refuses to run as
/// root, so as root the server runs as the unprivileged 'postgres' user (runuser). Stopped by its own postmaster pid.
/// </summary>
internal sealed class LocalPostgres : IAsyncDisposable
{
    private readonly string _folder;
    private readonly Process _server;

    private LocalPostgres(string folder, Process server, string connectionString)
    {
        _folder = folder;
        _server = server;
        ConnectionString = connectionString;
    }

    /// <summary>Connection string of the "sweeps" database (user nm, the generated password).</summary>
    public string ConnectionString { get; }

    /// <summary>The newest installed PostgreSQL bin folder with initdb and postgres, or null.</summary>
    public static string? FindBinaries()
    {
        if (!Directory.Exists("/usr/lib/postgresql")) return null;
        return Directory.GetDirectories("/usr/lib/postgresql")
            .Select(d => (dir: Path.Combine(d, "bin"), v: int.TryParse(Path.GetFileName(d), out var n) ? n : 0))
            .Where(x => File.Exists(Path.Combine(x.dir, "initdb")) && File.Exists(Path.Combine(x.dir, "postgres")))
            .OrderByDescending(x => x.v).Select(x => x.dir).FirstOrDefault();
    }

    public static async Task<LocalPostgres> StartAsync(string bin, TimeSpan timeout)
    {
        bool root = Environment.UserName == "root";
        // As root the server runs as 'postgres', which must reach the folder: /tmp rather than a TMPDIR under /root.
        var folder = Path.Combine(root ? "/tmp" : Path.GetTempPath(), $"nm-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var data = Path.Combine(folder, "data");
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var pwfile = Path.Combine(folder, "pw");
        await File.WriteAllTextAsync(pwfile, password + "\n");
        if (root) Run("chown", ["-R", "postgres:", folder], TimeSpan.FromSeconds(20));
        Run(Command(root, Path.Combine(bin, "initdb")), Args(root, Path.Combine(bin, "initdb"),
            ["-D", data, "-U", "nm", "--pwfile", pwfile, "-A", "scram-sha-256", "-E", "UTF8", "--no-sync", "--no-instructions"]), timeout, folder);
        File.Delete(pwfile);
        int port = NeuralMag.Cluster.SweepHosts.FreeLoopbackPort();
        var psi = new ProcessStartInfo(Command(root, Path.Combine(bin, "postgres")))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = folder,
        };
        foreach (var a in Args(root, Path.Combine(bin, "postgres"), ["-D", data, "-p", port.ToString(), "-c", "listen_addresses=127.0.0.1",
                     "-c", $"unix_socket_directories={folder}", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                     "-c", "timezone=UTC", "-c", "max_connections=200", "-c", "shared_buffers=32MB"]))
            psi.ArgumentList.Add(a);
        var server = Process.Start(psi) ?? throw new InvalidOperationException("postgres did not start.");
        var log = new System.Text.StringBuilder();
        server.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        server.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        var admin = $"Host=127.0.0.1;Port={port};Username=nm;Password={password};Database=postgres;Timeout=5;Pooling=false";
        var pg = new LocalPostgres(folder, server, admin.Replace("Database=postgres", "Database=sweeps").Replace(";Pooling=false", ""));
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                await using var c = new NpgsqlConnection(admin);
                await c.OpenAsync();
                await using var cmd = new NpgsqlCommand("CREATE DATABASE sweeps", c);
                await cmd.ExecuteNonQueryAsync();
                return pg;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException)
            {
                if (server.HasExited || DateTime.UtcNow > deadline)
                {
                    await pg.DisposeAsync();
                    string text;
                    lock (log) text = log.ToString();
                    throw new InvalidOperationException($"PostgreSQL did not accept connections within {timeout.TotalSeconds} s ({e.Message}); server log:\n{text}");
                }
                await Task.Delay(200);
            }
        }
    }

    private static string Command(bool root, string exe) => root ? "runuser" : exe;

    private static string[] Args(bool root, string exe, string[] args) => root ? ["-u", "postgres", "--", exe, .. args] : args;

    private static void Run(string exe, string[] args, TimeSpan timeout, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory != null) psi.WorkingDirectory = workingDirectory;
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(); throw new TimeoutException($"{exe} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s."); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"{exe} {string.Join(' ', args)} failed ({p.ExitCode}): {stdout.Result}{stderr.Result}");
    }

    /// <summary>Fast shutdown (SIGINT) of this server's postmaster, by the pid in its own postmaster.pid; then the folder goes.</summary>
    public async ValueTask DisposeAsync()
    {
        var pidFile = Path.Combine(_folder, "data", "postmaster.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).First().Trim(), out var pid))
        {
            Run("kill", ["-INT", pid.ToString()], TimeSpan.FromSeconds(10));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (!_server.HasExited && DateTime.UtcNow < deadline) await Task.Delay(100);
            if (!_server.HasExited) Run("kill", ["-KILL", pid.ToString()], TimeSpan.FromSeconds(10));
        }
        if (!_server.HasExited && !_server.WaitForExit(TimeSpan.FromSeconds(10))) _server.Kill();
        _server.Dispose();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
