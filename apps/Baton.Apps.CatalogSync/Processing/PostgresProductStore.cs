using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;
using NpgsqlTypes;

namespace Baton.Apps.CatalogSync.Processing;

/// <summary>
/// The catalog in PostgreSQL (<c>Products:Provider = Postgres</c>). A chunk is one transaction:
/// <list type="number">
/// <item>one query reads the stored <c>metaUpdatedAt</c>, <c>sync_run</c>, <c>sync_line</c> of the chunk's ids;
/// the rules of <see cref="IProductStore"/> are applied in file order against it, so unchanged products
/// (the warm path: 99 %) and duplicates never leave the process;</item>
/// <item>the rows that may change are written with binary <c>COPY</c> into a temporary staging table;</item>
/// <item>one <c>INSERT ... SELECT ... ON CONFLICT (id) DO UPDATE ... WHERE</c> merges them. Its guard
/// (stored <c>metaUpdatedAt</c> older, and not already written by this run) is evaluated on the latest
/// committed row, so a concurrent chunk that wrote an id first wins, and <c>RETURNING (xmax = 0)</c>
/// tells inserts from updates exactly;</item>
/// <item>rows the guard refused are re-read (the merge holds their row locks, so they are stable): written by
/// this run from another line is a duplicate dead letter, else skipped;</item>
/// <item>dead letters (binary <c>COPY</c>) and the chunk's counters, then commit.</item>
/// </list>
/// Column names are the seed's, quoted where they are camelCase (<c>"eanGtin13"</c>, <c>"metaUpdatedAt"</c>);
/// <c>raw</c> is <c>json</c>, which keeps the <c>result</c> object byte for byte (cast to <c>jsonb</c> to query it).
/// </summary>
internal sealed partial class PostgresProductStore : IProductStore, IAsyncDisposable, IDisposable
{
    private const string Columns = """
        id, name, status, organization, brand, "eanGtin13", "eanGtin14", "artgId", pbs, "snomedMpp", "snomedTpp", "gs1Category", "createdAt", "metaUpdatedAt", raw
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schema;
    private Lazy<Task> _initialized;

    public PostgresProductStore(string connectionString, string schema)
    {
        if (!SchemaPattern().IsMatch(schema))
        {
            throw new ArgumentException($"schema '{schema}' must be lower-case letters, digits and underscores", nameof(schema));
        }

        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        Description = $"postgres {builder.Host}:{builder.Port}/{builder.Database} (schema {schema})";
        _dataSource = NpgsqlDataSource.Create(builder);
        _schema = $"\"{schema}\"";
        _initialized = new Lazy<Task>(CreateTablesAsync);
    }

    public string Description { get; }

    public Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        var initialized = _initialized.Value;
        if (initialized.IsFaulted)
        {
            // A failed first try (the database restarting) is not kept: the next call creates the tables again.
            Interlocked.CompareExchange(ref _initialized, new Lazy<Task>(CreateTablesAsync), _initialized);
            initialized = _initialized.Value;
        }

        return initialized.WaitAsync(cancellationToken);
    }

    public Task<AppliedChunk?> StoredChunkAsync(string runId, int chunk, CancellationToken cancellationToken = default) =>
        ReadAsync(async connection =>
    {
        await using var command = new NpgsqlCommand($"SELECT records, inserted, updated, skipped, failed, blank, checksum FROM {_schema}.chunk_results WHERE run_id = $1 AND chunk = $2", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = chunk });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new AppliedChunk(
                new ChunkStats(chunk, reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5)),
                reader.IsDBNull(6) ? null : reader.GetString(6))
            : null;
    }, cancellationToken);

    public Task<IReadOnlyDictionary<int, string?>> AppliedChecksumsAsync(string runId, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyDictionary<int, string?>>(async connection =>
    {
        await using var command = new NpgsqlCommand($"SELECT chunk, checksum FROM {_schema}.chunk_results WHERE run_id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = runId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var applied = new Dictionary<int, string?>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            applied[reader.GetInt32(0)] = reader.IsDBNull(1) ? null : reader.GetString(1);
        }

        return applied;
    }, cancellationToken);

    public Task<ChunkStats> RunTotalsAsync(string runId, CancellationToken cancellationToken = default) =>
        ReadAsync(async connection =>
    {
        await using var command = new NpgsqlCommand(
            $"SELECT count(*), coalesce(sum(records),0)::bigint, coalesce(sum(inserted),0)::bigint, coalesce(sum(updated),0)::bigint, coalesce(sum(skipped),0)::bigint, coalesce(sum(failed),0)::bigint, coalesce(sum(blank),0)::bigint FROM {_schema}.chunk_results WHERE run_id = $1",
            connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = runId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new ChunkStats((int)reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6));
    }, cancellationToken);

    /// <summary>
    /// Runs a read on a pooled connection, once more on a fresh one when the connection broke under it. After a database
    /// restart the pool still holds connections to the old server; the sync reads its totals in the workflow's body, outside
    /// any step, so a stale connection there failed the whole run (a reviewer's nightly sync, 28 s after a restart).
    /// A read changes nothing, so it is safe to repeat.
    /// </summary>
    private async Task<T> ReadAsync<T>(Func<NpgsqlConnection, Task<T>> read, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await read(connection).ConfigureAwait(false);
            }
            catch (NpgsqlException) when (attempt == 1 && connection.FullState.HasFlag(System.Data.ConnectionState.Broken) && !cancellationToken.IsCancellationRequested)
            {
                // The other idle connections are most likely dead too.
                _dataSource.Clear();
            }
            finally
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    public Task<IReadOnlyList<Baton.Server.Views.CatalogDeadLetter>> ReadDeadLettersAsync(string runId, long afterLine, int limit, CancellationToken cancellationToken = default) =>
        ReadAsync<IReadOnlyList<Baton.Server.Views.CatalogDeadLetter>>(async connection =>
    {
        await using var command = new NpgsqlCommand(
            $"SELECT line, byte_offset, reason, chunk, head FROM {_schema}.dead_letters WHERE run_id = $1 AND line > $2 ORDER BY line LIMIT $3", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterLine });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var letters = new List<Baton.Server.Views.CatalogDeadLetter>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            letters.Add(new(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt32(3), Encoding.UTF8.GetString(reader.GetFieldValue<byte[]>(4))));
        }

        return letters;
    }, cancellationToken);

    public async Task<ChunkStats> ApplyAsync(ChunkWrite write, CancellationToken cancellationToken = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var dead = new List<DeadLetter>(write.DeadLetters);
        long skipped = 0;

        var stored = await ReadStoredAsync(connection, write.RunId, write.Products, cancellationToken).ConfigureAwait(false);
        var candidates = new List<ParsedLine>();
        // A later line of this chunk with the id of one it skipped is a duplicate too (see SqliteProductStore.Apply).
        var skippedHere = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in write.Products)
        {
            var id = line.Id;
            if (stored.TryGetValue(id, out var row) && row.Mine && row.Line != line.Line)
            {
                dead.Add(Duplicate(line, row.Line));
            }
            else if (skippedHere.TryGetValue(id, out var kept))
            {
                dead.Add(Duplicate(line, kept));
            }
            else if (row is not null && line.MetaUpdatedAt <= row.MetaUpdatedAt)
            {
                skipped++;
                skippedHere[id] = line.Line;
            }
            else
            {
                candidates.Add(line);
                // Known: the id was stored before this chunk (the others are new, and can be copied in without a merge).
                stored[id] = new StoredRow(line.MetaUpdatedAt, true, line.Line, Known: row is not null);
            }
        }

        long inserted = 0, updated = 0;
        var inserts = candidates.Where(c => !stored[c.Id].Known).ToList();
        if (inserts.Count > 0 && await TryCopyNewAsync(connection, write, inserts, cancellationToken).ConfigureAwait(false))
        {
            // New ids went in by COPY; only the changed ones (if any) need the merge.
            inserted = inserts.Count;
            candidates = candidates.Where(c => stored[c.Id].Known).ToList();
        }

        if (candidates.Count > 0)
        {
            await CopyToStagingAsync(connection, candidates, cancellationToken).ConfigureAwait(false);
            var written = await MergeAsync(connection, write, cancellationToken).ConfigureAwait(false);
            var mergedInserts = written.Count(w => w.Value);
            inserted += mergedInserts;
            updated = written.Count - mergedInserts;
            var refused = candidates.Where(c => !written.ContainsKey(c.Id)).ToList();
            if (refused.Count > 0)
            {
                // A concurrent chunk (or another writer) got there first; the merge holds these rows' locks, so this read is final.
                var now = await ReadStoredAsync(connection, write.RunId, refused, cancellationToken).ConfigureAwait(false);
                foreach (var line in refused)
                {
                    var row = now[line.Id];
                    if (row.Mine)
                    {
                        dead.Add(Duplicate(line, row.Line));
                    }
                    else
                    {
                        skipped++;
                    }
                }
            }
        }

        await CopyDeadLettersAsync(connection, write, dead, cancellationToken).ConfigureAwait(false);
        var stats = new ChunkStats(write.Chunk, write.Products.Count + write.DeadLetters.Count, inserted, updated, skipped, dead.Count, write.Blank);
        await using (var result = new NpgsqlCommand(
            $"INSERT INTO {_schema}.chunk_results (run_id, chunk, records, inserted, updated, skipped, failed, blank, completed_at, checksum) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            connection))
        {
            result.Parameters.Add(new NpgsqlParameter<string> { TypedValue = write.RunId });
            result.Parameters.Add(new NpgsqlParameter<int> { TypedValue = write.Chunk });
            foreach (var value in new[] { stats.Records, stats.Inserted, stats.Updated, stats.Skipped, stats.Failed, stats.Blank })
            {
                result.Parameters.Add(new NpgsqlParameter<long> { TypedValue = value });
            }

            result.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = write.Now.ToUniversalTime() });
            result.Parameters.Add(new NpgsqlParameter { Value = (object?)write.Checksum ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            await result.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return stats;
    }

    private static DeadLetter Duplicate(ParsedLine line, long kept) =>
        new(line.Line, line.Offset, string.Create(CultureInfo.InvariantCulture, $"duplicate id {line.Id} in this feed (line {kept} is kept)"), line.Head);

    /// <summary>
    /// The stored rows of the lines' ids, by id. Each row comes back with the position of a line asking for
    /// it and whether this run wrote it, not its id and sync_run: a warm sync reads a row for nearly every line,
    /// and that would be two strings each.
    /// </summary>
    private async Task<Dictionary<string, StoredRow>> ReadStoredAsync(NpgsqlConnection connection, string runId, IReadOnlyList<ParsedLine> lines, CancellationToken cancellationToken)
    {
        var ids = new string[lines.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = lines[i].Id;
        }

        var rows = new Dictionary<string, StoredRow>(ids.Length, StringComparer.Ordinal);
        await using var command = new NpgsqlCommand(
            $"""
            SELECT u.i, p."metaUpdatedAt", coalesce(p.sync_run = $2, false), coalesce(p.sync_line, 0)
            FROM unnest($1::text[]) WITH ORDINALITY AS u(id, i) JOIN {_schema}.products p ON p.id = u.id
            """,
            connection);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = ids });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = runId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows[ids[reader.GetInt64(0) - 1]] = new StoredRow(reader.GetInt64(1), reader.GetBoolean(2), reader.GetInt64(3), Known: true);
        }

        return rows;
    }

    private static async Task CopyToStagingAsync(NpgsqlConnection connection, List<ParsedLine> candidates, CancellationToken cancellationToken)
    {
        await using (var create = new NpgsqlCommand(
            """
            CREATE TEMP TABLE catalog_staging (
              line bigint NOT NULL, id text NOT NULL, name text, status text, organization text, brand text,
              "eanGtin13" text, "eanGtin14" text, "artgId" text, pbs text, "snomedMpp" text, "snomedTpp" text, "gs1Category" text,
              "createdAt" bigint, "metaUpdatedAt" bigint NOT NULL, raw json NOT NULL) ON COMMIT DROP
            """,
            connection))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await CopyAsync(
            connection,
            $"COPY catalog_staging (line, {Columns}) FROM STDIN (FORMAT BINARY)",
            candidates,
            static (copy, columns, candidate) =>
            {
                copy.StartRow(ProductColumnWriter.Columns + 1);
                copy.Bigint(candidate.Line);
                columns.Write(candidate);
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Inserts products whose ids are not stored with one binary COPY straight into <c>products</c>, the way
    /// the <c>COPY</c> baseline loads them: no staging table, no merge. False, with nothing written, when an id
    /// was stored meanwhile (another chunk with a duplicate id, or another writer), or two such chunks deadlocked:
    /// the caller merges instead.
    /// </summary>
    private async Task<bool> TryCopyNewAsync(NpgsqlConnection connection, ChunkWrite write, List<ParsedLine> inserts, CancellationToken cancellationToken)
    {
        await using (var savepoint = new NpgsqlCommand("SAVEPOINT copy_new", connection))
        {
            await savepoint.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var now = write.Now.ToUniversalTime();
            await CopyAsync(
                connection,
                $"COPY {_schema}.products ({Columns}, updated_at, sync_run, sync_line) FROM STDIN (FORMAT BINARY)",
                inserts,
                (copy, columns, line) =>
                {
                    copy.StartRow(ProductColumnWriter.Columns + 3);
                    columns.Write(line);
                    copy.TimestampTz(now);
                    copy.Text(write.RunId);
                    copy.Bigint(line.Line);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DeadlockDetected)
        {
            await using var rollback = new NpgsqlCommand("ROLLBACK TO SAVEPOINT copy_new", connection);
            await rollback.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return false;
        }

        return true;
    }

    /// <summary>
    /// One binary COPY of <paramref name="lines"/>, a row each, encoded by <see cref="BinaryCopyBuffer"/> and
    /// <see cref="ProductColumnWriter"/>. A constraint the rows break is reported by PostgreSQL when the COPY
    /// completes, as the <see cref="PostgresException"/> this throws.
    /// </summary>
    private static async Task CopyAsync(
        NpgsqlConnection connection, string command, List<ParsedLine> lines, Action<BinaryCopyBuffer, ProductColumnWriter, ParsedLine> writeRow, CancellationToken cancellationToken)
    {
        using var copy = new BinaryCopyBuffer();
        using var columns = new ProductColumnWriter(copy);
        var stream = await connection.BeginRawBinaryCopyAsync(command, cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var line in lines)
            {
                writeRow(copy, columns, line);
                await copy.FlushIfFullAsync(stream, cancellationToken).ConfigureAwait(false);
            }

            await copy.CompleteAsync(stream, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Disposing the stream would complete the COPY with the rows sent so far: a failed one is cancelled.
            try
            {
                await stream.CancelAsync().ConfigureAwait(false);
                await stream.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or ObjectDisposedException or InvalidOperationException)
            {
                // The connection broke as well; the transaction goes with it. The first error is the one to report.
            }

            throw;
        }

        // Completes the COPY: PostgreSQL's answer (a unique violation, say) is thrown here.
        await stream.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The merge; returns the ids it wrote, each with true when it inserted the row.</summary>
    private async Task<Dictionary<string, bool>> MergeAsync(NpgsqlConnection connection, ChunkWrite write, CancellationToken cancellationToken)
    {
        // Rows are taken in id order, so two chunks sharing ids queue behind each other instead of deadlocking;
        // a deadlock error would still only fail this attempt, which the chunk step retries.
        await using var merge = new NpgsqlCommand(
            $"""
            INSERT INTO {_schema}.products AS p ({Columns}, updated_at, sync_run, sync_line)
            SELECT {Columns}, $1, $2, line FROM catalog_staging ORDER BY id
            ON CONFLICT (id) DO UPDATE SET
              name = EXCLUDED.name, status = EXCLUDED.status, organization = EXCLUDED.organization, brand = EXCLUDED.brand,
              "eanGtin13" = EXCLUDED."eanGtin13", "eanGtin14" = EXCLUDED."eanGtin14", "artgId" = EXCLUDED."artgId", pbs = EXCLUDED.pbs,
              "snomedMpp" = EXCLUDED."snomedMpp", "snomedTpp" = EXCLUDED."snomedTpp", "gs1Category" = EXCLUDED."gs1Category",
              "createdAt" = EXCLUDED."createdAt", "metaUpdatedAt" = EXCLUDED."metaUpdatedAt", raw = EXCLUDED.raw,
              updated_at = EXCLUDED.updated_at, sync_run = EXCLUDED.sync_run, sync_line = EXCLUDED.sync_line
            WHERE p."metaUpdatedAt" < EXCLUDED."metaUpdatedAt" AND p.sync_run IS DISTINCT FROM EXCLUDED.sync_run
            RETURNING p.id, (p.xmax = 0)
            """,
            connection);
        merge.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = write.Now.ToUniversalTime() });
        merge.Parameters.Add(new NpgsqlParameter<string> { TypedValue = write.RunId });
        var written = new Dictionary<string, bool>(StringComparer.Ordinal);
        await using var reader = await merge.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            written[reader.GetString(0)] = reader.GetBoolean(1);
        }

        return written;
    }

    private async Task CopyDeadLettersAsync(NpgsqlConnection connection, ChunkWrite write, List<DeadLetter> dead, CancellationToken cancellationToken)
    {
        if (dead.Count == 0)
        {
            return;
        }

        await using var importer = await connection.BeginBinaryImportAsync(
            $"COPY {_schema}.dead_letters (run_id, chunk, line, byte_offset, reason, head, created_at) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
        foreach (var letter in dead)
        {
            await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(write.RunId, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(write.Chunk, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(letter.Line, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(letter.ByteOffset, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(letter.Reason, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(letter.Head, NpgsqlDbType.Bytea, cancellationToken).ConfigureAwait(false);
            await importer.WriteAsync(write.Now.ToUniversalTime(), NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
        }

        await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task CreateTablesAsync()
    {
        await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);

        // Nodes starting together would race on CREATE ... IF NOT EXISTS (a unique violation in pg_type); one at a time.
        await using var command = new NpgsqlCommand(
            $"""
            SELECT pg_advisory_xact_lock(hashtext('baton.catalog-sync.schema'));
            CREATE SCHEMA IF NOT EXISTS {_schema};
            CREATE TABLE IF NOT EXISTS {_schema}.products (
              id text PRIMARY KEY,
              name text, status text, organization text, brand text,
              "eanGtin13" text, "eanGtin14" text, "artgId" text, pbs text, "snomedMpp" text, "snomedTpp" text, "gs1Category" text,
              "createdAt" bigint, "metaUpdatedAt" bigint NOT NULL,
              raw json NOT NULL,
              updated_at timestamptz NOT NULL,
              sync_run text, sync_line bigint);
            CREATE TABLE IF NOT EXISTS {_schema}.dead_letters (
              id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
              run_id text NOT NULL, chunk integer NOT NULL, line bigint NOT NULL, byte_offset bigint NOT NULL,
              reason text NOT NULL, head bytea NOT NULL, created_at timestamptz NOT NULL);
            CREATE INDEX IF NOT EXISTS dead_letters_run ON {_schema}.dead_letters (run_id, line);
            CREATE TABLE IF NOT EXISTS {_schema}.chunk_results (
              run_id text NOT NULL, chunk integer NOT NULL,
              records bigint NOT NULL, inserted bigint NOT NULL, updated bigint NOT NULL, skipped bigint NOT NULL,
              failed bigint NOT NULL, blank bigint NOT NULL, completed_at timestamptz NOT NULL, checksum text,
              PRIMARY KEY (run_id, chunk));
            DO $migrate$ BEGIN
              -- A catalog created before chunks kept their checksum. Looked up first: ALTER TABLE locks the table even when
              -- the column is there, and another node's sync may be writing to it.
              IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '{_schema}.chunk_results'::regclass AND attname = 'checksum' AND NOT attisdropped) THEN
                ALTER TABLE {_schema}.chunk_results ADD COLUMN checksum text;
              END IF;
            END $migrate$;
            """,
            connection);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        await transaction.CommitAsync().ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    public void Dispose() => _dataSource.Dispose();

    /// <param name="Mine">Whether this run wrote the row (its <c>sync_run</c>).</param>
    /// <param name="Known">Whether the row was stored before this chunk.</param>
    private sealed record StoredRow(long MetaUpdatedAt, bool Mine, long Line, bool Known);

    [GeneratedRegex(@"^[a-z_][a-z0-9_]{0,62}\z", RegexOptions.CultureInvariant)]
    private static partial Regex SchemaPattern();
}
