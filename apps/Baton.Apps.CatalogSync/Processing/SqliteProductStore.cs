using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Baton.Apps.CatalogSync.Processing;

/// <summary>
/// The catalog in its own SQLite file (WAL): <c>products</c> (the seed's columns), <c>dead_letters</c>, and
/// <c>chunk_results</c> (a chunk's counters written in the same transaction as its rows, so a chunk that
/// committed but whose step was not recorded before a crash is not applied or counted twice). Chunks are
/// applied one at a time by SQLite's write lock; each reads the stored row of every id before writing it.
/// </summary>
internal sealed class SqliteProductStore(string path) : IProductStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS products (
          id TEXT PRIMARY KEY,
          name TEXT, status TEXT, organization TEXT, brand TEXT,
          eanGtin13 TEXT, eanGtin14 TEXT, artgId TEXT, pbs TEXT, snomedMpp TEXT, snomedTpp TEXT, gs1Category TEXT,
          createdAt INTEGER, metaUpdatedAt INTEGER NOT NULL,
          raw TEXT NOT NULL,
          updated_at TEXT NOT NULL,
          sync_run TEXT, sync_line INTEGER);
        CREATE TABLE IF NOT EXISTS dead_letters (
          id INTEGER PRIMARY KEY,
          run_id TEXT NOT NULL, chunk INTEGER NOT NULL, line INTEGER NOT NULL, byte_offset INTEGER NOT NULL,
          reason TEXT NOT NULL, head BLOB NOT NULL, created_at TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS dead_letters_run ON dead_letters (run_id, line);
        CREATE TABLE IF NOT EXISTS chunk_results (
          run_id TEXT NOT NULL, chunk INTEGER NOT NULL,
          records INTEGER NOT NULL, inserted INTEGER NOT NULL, updated INTEGER NOT NULL, skipped INTEGER NOT NULL,
          failed INTEGER NOT NULL, blank INTEGER NOT NULL, completed_at TEXT NOT NULL, checksum TEXT,
          PRIMARY KEY (run_id, chunk));
        """;

    public string Path { get; } = path;

    /// <summary>How long a chunk waits for the database's write lock held by another connection before it fails.</summary>
    public static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(120);

    public SqliteConnection Open()
    {
        // A busy statement gives up after about a second (Microsoft.Data.Sqlite retries SQLITE_BUSY for
        // DefaultTimeout seconds): the long wait for the write lock is WhileBusy's loop, which observes the token.
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = true, DefaultTimeout = 1 }.ToString());
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA busy_timeout = 100; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    /// <summary>
    /// Runs <paramref name="action"/> (a statement that takes the write lock) again while another connection holds
    /// the lock, for up to <see cref="LockTimeout"/>; a cancelled <paramref name="cancellationToken"/> ends the wait
    /// within about a second, so a step's timeout stops a chunk that waits for a locked catalog.
    /// </summary>
    private static T WhileBusy<T>(Func<T> action, CancellationToken cancellationToken)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return action();
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode is SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED && waited.Elapsed < LockTimeout)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
    }

    public string Description => $"sqlite {Path}";

    public Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        Initialize(cancellationToken);
        return Task.CompletedTask;
    }

    public Task<AppliedChunk?> StoredChunkAsync(string runId, int chunk, CancellationToken cancellationToken = default)
    {
        using var connection = Open();
        return Task.FromResult(StoredChunk(connection, runId, chunk));
    }

    public Task<IReadOnlyDictionary<int, string?>> AppliedChecksumsAsync(string runId, CancellationToken cancellationToken = default)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT chunk, checksum FROM chunk_results WHERE run_id = $run";
        command.Parameters.AddWithValue("$run", runId);
        using var reader = command.ExecuteReader();
        var applied = new Dictionary<int, string?>();
        while (reader.Read())
        {
            applied[reader.GetInt32(0)] = reader.IsDBNull(1) ? null : reader.GetString(1);
        }

        return Task.FromResult<IReadOnlyDictionary<int, string?>>(applied);
    }

    public Task<ChunkStats> RunTotalsAsync(string runId, CancellationToken cancellationToken = default) => Task.FromResult(RunTotals(runId));

    public Task<ChunkStats> ApplyAsync(ChunkWrite write, CancellationToken cancellationToken = default)
    {
        using var connection = Open();
        return Task.FromResult(Apply(connection, write, [.. write.DeadLetters], cancellationToken));
    }

    public Task<IReadOnlyList<Baton.Server.Views.CatalogDeadLetter>> ReadDeadLettersAsync(string runId, long afterLine, int limit, CancellationToken cancellationToken = default)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT line, byte_offset, reason, chunk, head FROM dead_letters WHERE run_id = $run AND line > $after ORDER BY line LIMIT $limit";
        command.Parameters.AddWithValue("$run", runId);
        command.Parameters.AddWithValue("$after", afterLine);
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var letters = new List<Baton.Server.Views.CatalogDeadLetter>();
        while (reader.Read())
        {
            letters.Add(new(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt32(3), System.Text.Encoding.UTF8.GetString((byte[])reader.GetValue(4))));
        }

        return Task.FromResult<IReadOnlyList<Baton.Server.Views.CatalogDeadLetter>>(letters);
    }

    public void Initialize(CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
        try
        {
            using var connection = Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode = WAL;" + Schema;
            WhileBusy(command.ExecuteNonQuery, cancellationToken);
            AddChecksumColumn(connection, cancellationToken);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is SQLitePCL.raw.SQLITE_NOTADB or SQLitePCL.raw.SQLITE_CORRUPT)
        {
            // Named, with the setting: before, the bare SQLite message, after a log line naming Baton's own database.
            throw new InvalidOperationException(
                $"Baton:Apps:CatalogSync:DatabasePath '{System.IO.Path.GetFullPath(Path)}': {ex.Message} (the catalog file is not a SQLite database, or is damaged)", ex);
        }
    }

    /// <summary>A catalog created before chunks kept their checksum gets the column (SQLite has no ADD COLUMN IF NOT EXISTS).</summary>
    private static void AddChecksumColumn(SqliteConnection connection, CancellationToken cancellationToken)
    {
        using var columns = connection.CreateCommand();
        columns.CommandText = "SELECT count(*) FROM pragma_table_info('chunk_results') WHERE name = 'checksum'";
        if ((long)columns.ExecuteScalar()! > 0)
        {
            return;
        }

        using var alter = connection.CreateCommand();
        alter.CommandText = "ALTER TABLE chunk_results ADD COLUMN checksum TEXT";
        try
        {
            WhileBusy(alter.ExecuteNonQuery, cancellationToken);
        }
        catch (SqliteException ex) when (ex.Message.Contains("duplicate column name", StringComparison.Ordinal))
        {
            // Another process added it between the look and the change.
        }
    }

    private static AppliedChunk? StoredChunk(SqliteConnection connection, string runId, int chunk)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT records, inserted, updated, skipped, failed, blank, checksum FROM chunk_results WHERE run_id = $run AND chunk = $chunk";
        command.Parameters.AddWithValue("$run", runId);
        command.Parameters.AddWithValue("$chunk", chunk);
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? new AppliedChunk(
                new ChunkStats(chunk, reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5)),
                reader.IsDBNull(6) ? null : reader.GetString(6))
            : null;
    }

    private ChunkStats RunTotals(string runId)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*), coalesce(sum(records),0), coalesce(sum(inserted),0), coalesce(sum(updated),0), coalesce(sum(skipped),0), coalesce(sum(failed),0), coalesce(sum(blank),0) FROM chunk_results WHERE run_id = $run";
        command.Parameters.AddWithValue("$run", runId);
        using var reader = command.ExecuteReader();
        reader.Read();
        return new ChunkStats((int)reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6));
    }

    /// <summary>
    /// Applies one chunk in one transaction: insert new ids, update when meta.updatedAt is newer, skip
    /// when equal or older. A line whose id this run already wrote from another line is a dead letter
    /// (duplicate id in the feed; the first one applied is kept), and so is a later line of this chunk whose id an earlier
    /// line of it left unchanged (skipped), so the same feed gives the same rows and dead letters on every sync. Skipped rows
    /// are not marked, so across chunks a duplicate of an unchanged product is skipped twice: the warm path writes nothing
    /// for unchanged rows. Writes the dead letters and the chunk's counters in the same transaction.
    /// </summary>
    private static ChunkStats Apply(SqliteConnection connection, ChunkWrite write, List<DeadLetter> deadLetters, CancellationToken cancellationToken)
    {
        var (runId, chunk, products, blank, now) = (write.RunId, write.Chunk, write.Products, write.Blank, write.Now);
        using var transaction = WhileBusy(() => connection.BeginTransaction(deferred: false), cancellationToken);
        var stamp = now.ToString("O", CultureInfo.InvariantCulture);

        using var select = connection.CreateCommand();
        select.Transaction = transaction;
        select.CommandText = "SELECT metaUpdatedAt, sync_run, sync_line FROM products WHERE id = $id";
        var selectId = select.Parameters.Add("$id", SqliteType.Text);
        select.Prepare();

        using var upsert = connection.CreateCommand();
        upsert.Transaction = transaction;
        upsert.CommandText = """
            INSERT INTO products (id, name, status, organization, brand, eanGtin13, eanGtin14, artgId, pbs, snomedMpp, snomedTpp, gs1Category, createdAt, metaUpdatedAt, raw, updated_at, sync_run, sync_line)
            VALUES ($id, $name, $status, $organization, $brand, $eanGtin13, $eanGtin14, $artgId, $pbs, $snomedMpp, $snomedTpp, $gs1Category, $createdAt, $metaUpdatedAt, $raw, $updated_at, $sync_run, $sync_line)
            ON CONFLICT (id) DO UPDATE SET
              name = excluded.name, status = excluded.status, organization = excluded.organization, brand = excluded.brand,
              eanGtin13 = excluded.eanGtin13, eanGtin14 = excluded.eanGtin14, artgId = excluded.artgId, pbs = excluded.pbs,
              snomedMpp = excluded.snomedMpp, snomedTpp = excluded.snomedTpp, gs1Category = excluded.gs1Category,
              createdAt = excluded.createdAt, metaUpdatedAt = excluded.metaUpdatedAt, raw = excluded.raw,
              updated_at = excluded.updated_at, sync_run = excluded.sync_run, sync_line = excluded.sync_line
            """;
        string[] names = ["$id", "$name", "$status", "$organization", "$brand", "$eanGtin13", "$eanGtin14", "$artgId", "$pbs", "$snomedMpp", "$snomedTpp", "$gs1Category", "$createdAt", "$metaUpdatedAt", "$raw", "$updated_at", "$sync_run", "$sync_line"];
        var p = names.Select(n => upsert.Parameters.Add(n, SqliteType.Text)).ToArray();
        upsert.Prepare();

        // Counted before duplicates join the dead letters: a duplicate is one record, not two.
        var records = products.Count + deadLetters.Count;
        long inserted = 0, updated = 0, skipped = 0;
        var skippedHere = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var parsed in products)
        {
            var line = parsed.Line;
            selectId.Value = parsed.Id;
            long? stored = null;
            string? storedRun = null;
            long storedLine = 0;
            using (var reader = select.ExecuteReader())
            {
                if (reader.Read())
                {
                    stored = reader.GetInt64(0);
                    storedRun = reader.IsDBNull(1) ? null : reader.GetString(1);
                    storedLine = reader.IsDBNull(2) ? 0 : reader.GetInt64(2);
                }
            }

            if ((storedRun == runId && storedLine != line) || skippedHere.TryGetValue(parsed.Id, out storedLine))
            {
                deadLetters.Add(new DeadLetter(line, parsed.Offset, $"duplicate id {parsed.Id} in this feed (line {storedLine} is kept)", parsed.Head));
                continue;
            }

            if (stored is { } s && parsed.MetaUpdatedAt <= s)
            {
                skipped++;
                skippedHere[parsed.Id] = line;
                continue;
            }

            var product = parsed.Product;
            _ = stored is null ? inserted++ : updated++;
            object?[] values =
            [
                product.Id, product.Name, product.Status, product.Organization, product.Brand, product.EanGtin13, product.EanGtin14,
                product.ArtgId, product.Pbs, product.SnomedMpp, product.SnomedTpp, product.Gs1Category, product.CreatedAt, product.MetaUpdatedAt,
                System.Text.Encoding.UTF8.GetString(product.RawUtf8), stamp, runId, line,
            ];
            for (var i = 0; i < values.Length; i++)
            {
                p[i].Value = values[i] ?? DBNull.Value;
            }

            upsert.ExecuteNonQuery();
        }

        using (var insertDead = connection.CreateCommand())
        {
            insertDead.Transaction = transaction;
            insertDead.CommandText = "INSERT INTO dead_letters (run_id, chunk, line, byte_offset, reason, head, created_at) VALUES ($run, $chunk, $line, $offset, $reason, $head, $at)";
            var run = insertDead.Parameters.Add("$run", SqliteType.Text);
            var chunkParameter = insertDead.Parameters.Add("$chunk", SqliteType.Integer);
            var lineParameter = insertDead.Parameters.Add("$line", SqliteType.Integer);
            var offset = insertDead.Parameters.Add("$offset", SqliteType.Integer);
            var reason = insertDead.Parameters.Add("$reason", SqliteType.Text);
            var head = insertDead.Parameters.Add("$head", SqliteType.Blob);
            var at = insertDead.Parameters.Add("$at", SqliteType.Text);
            foreach (var dead in deadLetters)
            {
                run.Value = runId;
                chunkParameter.Value = chunk;
                lineParameter.Value = dead.Line;
                offset.Value = dead.ByteOffset;
                reason.Value = dead.Reason;
                head.Value = dead.Head;
                at.Value = stamp;
                insertDead.ExecuteNonQuery();
            }
        }

        var stats = new ChunkStats(chunk, records, inserted, updated, skipped, deadLetters.Count, blank);
        using (var result = connection.CreateCommand())
        {
            result.Transaction = transaction;
            result.CommandText = "INSERT INTO chunk_results (run_id, chunk, records, inserted, updated, skipped, failed, blank, completed_at, checksum) VALUES ($run, $chunk, $records, $inserted, $updated, $skipped, $failed, $blank, $at, $checksum)";
            result.Parameters.AddWithValue("$run", runId);
            result.Parameters.AddWithValue("$chunk", chunk);
            result.Parameters.AddWithValue("$records", stats.Records);
            result.Parameters.AddWithValue("$inserted", stats.Inserted);
            result.Parameters.AddWithValue("$updated", stats.Updated);
            result.Parameters.AddWithValue("$skipped", stats.Skipped);
            result.Parameters.AddWithValue("$failed", stats.Failed);
            result.Parameters.AddWithValue("$blank", stats.Blank);
            result.Parameters.AddWithValue("$at", stamp);
            result.Parameters.AddWithValue("$checksum", (object?)write.Checksum ?? DBNull.Value);
            result.ExecuteNonQuery();
        }

        transaction.Commit();
        return stats;
    }
}
