using Npgsql;

namespace NeuralMag.Cluster;

/// <summary>
/// The PostgreSQL schema of a sweep cluster: the results table <c>nm_sweep_results</c> (one row per point, primary
/// key (sweep_id, point_key), written with INSERT ... ON CONFLICT DO NOTHING) and the tables of Orleans' ADO.NET
/// clustering. The clustering provider (Microsoft.Orleans.Clustering.AdoNet) runs the SQL it finds in the table
/// <c>OrleansQuery</c> under fixed query keys, with fixed parameter names (@DeploymentId, @Address, @Port,
/// @Generation, @Version, ...) and result column names; the statements below are this project's implementation of
/// that contract on two tables of its own (<c>nm_orleans_membership_version</c>, one row per cluster id with the
/// membership table's version for optimistic concurrency, and <c>nm_orleans_membership</c>, one row per silo). The
/// Orleans packages ship no SQL scripts, so none is copied here.
/// </summary>
public static class SweepDatabase
{
    /// <summary>The results table.</summary>
    public const string ResultsTable = "nm_sweep_results";

    /// <summary>Tables a sweep cluster's database role needs (read/write; no DDL after <see cref="InitializeAsync"/>).</summary>
    public static readonly IReadOnlyList<string> Tables = new[] { ResultsTable, "nm_orleans_membership_version", "nm_orleans_membership", "orleansquery" };

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS nm_sweep_results (
            seq bigserial NOT NULL,
            sweep_id text NOT NULL,
            point_key text NOT NULL,
            status text NOT NULL CHECK (status IN ('ok', 'failed')),
            outputs text NOT NULL,
            wall_s double precision NOT NULL,
            error text,
            worker text NOT NULL,
            finished_utc timestamptz NOT NULL,
            PRIMARY KEY (sweep_id, point_key));
        CREATE TABLE IF NOT EXISTS OrleansQuery (
            QueryKey varchar(64) PRIMARY KEY,
            QueryText text NOT NULL);
        CREATE TABLE IF NOT EXISTS nm_orleans_membership_version (
            deployment_id text PRIMARY KEY,
            version integer NOT NULL DEFAULT 0,
            updated_utc timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS nm_orleans_membership (
            deployment_id text NOT NULL,
            address text NOT NULL,
            port integer NOT NULL,
            generation integer NOT NULL,
            silo_name text NOT NULL,
            host_name text NOT NULL,
            status integer NOT NULL,
            proxy_port integer,
            suspect_times text,
            start_time timestamptz NOT NULL,
            i_am_alive_time timestamptz NOT NULL,
            PRIMARY KEY (deployment_id, address, port, generation));
        """;

    private const string MemberColumns = """
        v.version AS "Version", m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
        m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
        m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime"
        """;

    private const string ThisSilo = "deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation";

    /// <summary>The clustering contract: query key to SQL.</summary>
    internal static readonly IReadOnlyDictionary<string, string> ClusteringQueries = new Dictionary<string, string>
    {
        // The table version row is created once per cluster id; true when this call created it.
        ["InsertMembershipVersionKey"] = """
            WITH ins AS (INSERT INTO nm_orleans_membership_version (deployment_id) VALUES (@DeploymentId) ON CONFLICT DO NOTHING RETURNING 1)
            SELECT (SELECT count(*) FROM ins) > 0
            """,
        // Every silo of the cluster with the table version; one row with the version and NULL member columns when
        // there is no silo yet (the provider detects members by a non-NULL StartTime).
        ["MembershipReadAllKey"] = $"""
            SELECT {MemberColumns} FROM nm_orleans_membership_version v
            LEFT JOIN nm_orleans_membership m ON m.deployment_id = v.deployment_id
            WHERE v.deployment_id = @DeploymentId
            """,
        ["MembershipReadRowKey"] = $"""
            SELECT {MemberColumns} FROM nm_orleans_membership_version v
            LEFT JOIN nm_orleans_membership m ON m.deployment_id = v.deployment_id
                AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
            WHERE v.deployment_id = @DeploymentId
            """,
        // Insert and update succeed only when the caller saw the current table version (@Version), which they bump
        // by one in the same statement; a concurrent writer's UPDATE of the version row re-checks the version after
        // the lock and so finds no row. The result is the one boolean column the provider expects.
        ["InsertMembershipKey"] = $"""
            WITH v AS (
                UPDATE nm_orleans_membership_version SET version = version + 1, updated_utc = now()
                WHERE deployment_id = @DeploymentId AND version = @Version
                  AND NOT EXISTS (SELECT 1 FROM nm_orleans_membership WHERE {ThisSilo})
                RETURNING deployment_id),
            ins AS (
                INSERT INTO nm_orleans_membership (deployment_id, address, port, generation, silo_name, host_name, status, proxy_port, start_time, i_am_alive_time)
                SELECT v.deployment_id, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime FROM v
                RETURNING 1)
            SELECT (SELECT count(*) FROM ins) = 1
            """,
        ["UpdateMembershipKey"] = $"""
            WITH v AS (
                UPDATE nm_orleans_membership_version SET version = version + 1, updated_utc = now()
                WHERE deployment_id = @DeploymentId AND version = @Version
                  AND EXISTS (SELECT 1 FROM nm_orleans_membership WHERE {ThisSilo})
                RETURNING deployment_id),
            upd AS (
                UPDATE nm_orleans_membership m SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_time = @IAmAliveTime
                FROM v WHERE m.deployment_id = v.deployment_id AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
                RETURNING 1)
            SELECT (SELECT count(*) FROM upd) = 1
            """,
        // Heartbeats do not change the table version.
        ["UpdateIAmAlivetimeKey"] = $"UPDATE nm_orleans_membership SET i_am_alive_time = @IAmAliveTime WHERE {ThisSilo}",
        ["GatewaysQueryKey"] = """
            SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation" FROM nm_orleans_membership
            WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0
            """,
        ["DeleteMembershipTableEntriesKey"] = """
            DELETE FROM nm_orleans_membership WHERE deployment_id = @DeploymentId;
            DELETE FROM nm_orleans_membership_version WHERE deployment_id = @DeploymentId
            """,
        // Dead silos' rows (status 6 = Dead; 3 = Active) are removed once they are old.
        ["CleanupDefunctSiloEntriesKey"] = "DELETE FROM nm_orleans_membership WHERE deployment_id = @DeploymentId AND i_am_alive_time < @IAmAliveTime AND status <> 3",
        ["CleanupDefunctSiloEntryKey"] = $"DELETE FROM nm_orleans_membership WHERE {ThisSilo} AND status = 6",
    };

    /// <summary>
    /// The rights a silo's or client's role needs, and no more: rows of the results table (read, insert), membership
    /// rows (read, insert, update, delete), the clustering queries (read). No DDL, no other table.
    /// </summary>
    public static IReadOnlyList<string> GrantStatements(string role)
    {
        if (string.IsNullOrWhiteSpace(role) || !role.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            throw new ArgumentException($"role '{role}' must be a plain identifier (letters, digits, _).", nameof(role));
        return new[]
        {
            $"GRANT SELECT, INSERT ON nm_sweep_results TO {role}",
            $"GRANT USAGE ON SEQUENCE nm_sweep_results_seq_seq TO {role}",
            $"GRANT SELECT, INSERT, UPDATE, DELETE ON nm_orleans_membership, nm_orleans_membership_version TO {role}",
            $"GRANT SELECT ON orleansquery TO {role}",
        };
    }

    /// <summary>Grants <see cref="GrantStatements"/> to an existing role (run as the tables' owner).</summary>
    public static async Task GrantAsync(string connectionString, string role, CancellationToken cancellationToken = default)
    {
        var statements = GrantStatements(role);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        foreach (var sql in statements)
        {
            await using var cmd = new NpgsqlCommand(sql, connection);
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Creates the tables when missing and (re)writes the clustering queries; safe to run again. Needs a role that may
    /// create tables (the database owner); silos and clients then need only the rights on <see cref="Tables"/>.
    /// </summary>
    public static async Task InitializeAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCmd = new NpgsqlCommand("SELECT pg_advisory_xact_lock(7316001)", connection, tx))
            await lockCmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await using (var cmd = new NpgsqlCommand(Schema, connection, tx))
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (key, text) in ClusteringQueries)
        {
            await using var cmd = new NpgsqlCommand(
                "INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES (@k, @t) ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText", connection, tx);
            cmd.Parameters.AddWithValue("k", key);
            cmd.Parameters.AddWithValue("t", text);
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
