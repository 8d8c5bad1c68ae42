using Npgsql;
using NeuralMag.Sweeps;

namespace NeuralMag.Cluster;

/// <summary>
/// The results store of a sweep cluster: the PostgreSQL table <c>nm_sweep_results</c>. A row is inserted with
/// <c>INSERT ... ON CONFLICT DO NOTHING</c> on the primary key (sweep_id, point_key), so a point run twice (a call
/// retried after a silo died, two activations racing) keeps its first row and never gets a second.
/// </summary>
public sealed class PostgresSweepStore : ISweepResultStore, IDisposable, IAsyncDisposable
{
    private readonly NpgsqlDataSource _source;

    /// <summary>Opens a pool of connections to the database (the schema must exist: <see cref="SweepDatabase.InitializeAsync"/>).</summary>
    public PostgresSweepStore(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _source = NpgsqlDataSource.Create(connectionString);
    }

    /// <inheritdoc/>
    public async Task<bool> TryWriteAsync(SweepRow row, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(row);
        await using var cmd = _source.CreateCommand("""
            INSERT INTO nm_sweep_results (sweep_id, point_key, status, outputs, wall_s, error, worker, finished_utc)
            VALUES (@sweep, @key, @status, @outputs, @wall, @error, @worker, @finished)
            ON CONFLICT (sweep_id, point_key) DO NOTHING
            """);
        cmd.Parameters.AddWithValue("sweep", row.SweepId);
        cmd.Parameters.AddWithValue("key", row.PointKey);
        cmd.Parameters.AddWithValue("status", row.Status == SweepStatus.Ok ? "ok" : "failed");
        cmd.Parameters.AddWithValue("outputs", row.OutputsText);
        cmd.Parameters.AddWithValue("wall", row.WallSeconds);
        cmd.Parameters.AddWithValue("error", (object?)row.Error ?? DBNull.Value).NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text;
        cmd.Parameters.AddWithValue("worker", row.Worker);
        cmd.Parameters.AddWithValue("finished", DateTime.SpecifyKind(row.FinishedUtc.ToUniversalTime(), DateTimeKind.Utc));
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public async Task<SweepRow?> ReadAsync(string sweepId, string pointKey, CancellationToken cancellationToken = default)
    {
        var rows = await QueryAsync("WHERE sweep_id = @sweep AND point_key = @key", sweepId, pointKey, cancellationToken).ConfigureAwait(false);
        return rows.Count > 0 ? rows[0] : null;
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<SweepRow>> ReadAllAsync(string sweepId, CancellationToken cancellationToken = default) =>
        QueryAsync("WHERE sweep_id = @sweep", sweepId, null, cancellationToken);

    /// <summary>Rows of the sweep per point key (at most one per key by the primary key; counted to check exactly that).</summary>
    public async Task<IReadOnlyDictionary<string, int>> CountPerPointAsync(string sweepId, CancellationToken cancellationToken = default)
    {
        await using var cmd = _source.CreateCommand("SELECT point_key, count(*) FROM nm_sweep_results WHERE sweep_id = @sweep GROUP BY point_key");
        cmd.Parameters.AddWithValue("sweep", sweepId);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) counts[r.GetString(0)] = (int)r.GetInt64(1);
        return counts;
    }

    private async Task<IReadOnlyList<SweepRow>> QueryAsync(string where, string sweepId, string? key, CancellationToken cancellationToken)
    {
        await using var cmd = _source.CreateCommand(
            $"SELECT sweep_id, point_key, status, outputs, wall_s, error, worker, finished_utc FROM nm_sweep_results {where} ORDER BY seq");
        cmd.Parameters.AddWithValue("sweep", sweepId);
        if (key != null) cmd.Parameters.AddWithValue("key", key);
        var rows = new List<SweepRow>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            rows.Add(new SweepRow(r.GetString(0), r.GetString(1), r.GetString(2) == "ok" ? SweepStatus.Ok : SweepStatus.Failed,
                SweepRow.ParseOutputs(r.GetString(3)), r.GetDouble(4), r.IsDBNull(5) ? null : r.GetString(5), r.GetString(6),
                r.GetFieldValue<DateTime>(7)));
        return rows;
    }

    /// <summary>Closes the connection pool.</summary>
    public void Dispose() => _source.Dispose();

    /// <summary>Closes the connection pool.</summary>
    public ValueTask DisposeAsync() => _source.DisposeAsync();
}
