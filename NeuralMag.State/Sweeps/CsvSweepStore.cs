using System.Globalization;
using System.Text;

namespace NeuralMag.Sweeps;

/// <summary>
/// A results store in one CSV file (columns sweep_id, point_key, status, wall_s, worker, finished_utc, outputs, error)
/// for sweeps on one machine. Rows are appended and flushed one by one, so a sweep stopped at any moment keeps every
/// row it finished; a partly written last line (a crash mid-write) is cut off when the store is opened. One process writes a file at
/// a time (it is opened for appending with read sharing only).
/// </summary>
public sealed class CsvSweepStore : ISweepResultStore, IDisposable
{
    private const string Header = "sweep_id,point_key,status,wall_s,worker,finished_utc,outputs,error";
    private readonly object _gate = new();
    private readonly Dictionary<(string, string), SweepRow> _rows = new();
    private readonly List<SweepRow> _order = new();
    private readonly StreamWriter _writer;

    /// <summary>Opens (or creates) the store file and reads the rows it holds.</summary>
    /// <param name="path">The CSV file; its folder is created when missing.</param>
    /// <exception cref="FormatException">The file exists but is not a sweep store (another header).</exception>
    public CsvSweepStore(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        if (System.IO.Path.GetDirectoryName(Path) is { Length: > 0 } dir) Directory.CreateDirectory(dir);
        bool fresh = !File.Exists(Path) || new FileInfo(Path).Length == 0;
        if (!fresh) { DropTornTail(); Load(); }
        var stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read);
        _writer = new StreamWriter(stream, new UTF8Encoding(false));
        if (fresh) { _writer.WriteLine(Header); _writer.Flush(); }
    }

    /// <summary>Full path of the store file.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public Task<bool> TryWriteAsync(SweepRow row, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(row);
        lock (_gate)
        {
            if (_rows.ContainsKey((row.SweepId, row.PointKey))) return Task.FromResult(false);
            var finished = row.FinishedUtc.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);
            _writer.WriteLine(string.Join(",", Quote(row.SweepId), Quote(row.PointKey), row.Status == SweepStatus.Ok ? "ok" : "failed",
                row.WallSeconds.ToString("R", CultureInfo.InvariantCulture), Quote(row.Worker), finished, Quote(row.OutputsText), Quote(OneLine(row.Error ?? ""))));
            _writer.Flush();
            _rows[(row.SweepId, row.PointKey)] = row;
            _order.Add(row);
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc/>
    public Task<SweepRow?> ReadAsync(string sweepId, string pointKey, CancellationToken cancellationToken = default)
    {
        lock (_gate) return Task.FromResult(_rows.TryGetValue((sweepId, pointKey), out var r) ? r : null);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<SweepRow>> ReadAllAsync(string sweepId, CancellationToken cancellationToken = default)
    {
        lock (_gate) return Task.FromResult<IReadOnlyList<SweepRow>>(_order.Where(r => r.SweepId == sweepId).ToList());
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() { lock (_gate) _writer.Dispose(); }

    internal static string OneLine(string s) => s.Replace("\r\n", " ").Replace('\n', ' ').Replace('\r', ' ');

    private static string Quote(string s) => s.IndexOfAny(new[] { ',', '"', '\n', '\r' }) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    /// <summary>Cuts a partly written last line (no newline at the end of the file: a crash mid-write) off the file.</summary>
    private void DropTornTail()
    {
        using var f = new FileStream(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        long end = f.Length;
        while (end > 0)
        {
            f.Seek(end - 1, SeekOrigin.Begin);
            if (f.ReadByte() == '\n') break;
            end--;
        }
        if (end < f.Length) f.SetLength(end);
    }

    private void Load()
    {
        string text;
        using (var f = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        using (var r = new StreamReader(f)) text = r.ReadToEnd();
        var lines = text.Split('\n');
        if (lines[0].TrimEnd('\r') != Header)
            throw new FormatException($"'{Path}' is not a sweep results file: its first line is '{lines[0].TrimEnd('\r')}', expected '{Header}'.");
        for (int i = 1; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.Length == 0) continue;
            var f = SplitCsv(line);
            if (f == null || f.Count != 8) throw new FormatException($"'{Path}' line {i + 1}: expected 8 fields, got '{line}'.");
            var row = new SweepRow(f[0], f[1], f[2] == "ok" ? SweepStatus.Ok : SweepStatus.Failed, SweepRow.ParseOutputs(f[6]),
                double.Parse(f[3], CultureInfo.InvariantCulture), f[7].Length > 0 ? f[7] : null, f[4],
                DateTime.Parse(f[5], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind));
            if (_rows.TryAdd((row.SweepId, row.PointKey), row)) _order.Add(row);
        }
    }

    private static List<string>? SplitCsv(string line)
    {
        var fields = new List<string>();
        var sb = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else sb.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(sb.ToString()); sb.Clear(); }
            else sb.Append(c);
        }
        if (quoted) return null;
        fields.Add(sb.ToString());
        return fields;
    }
}
