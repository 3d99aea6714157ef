using System.Text;
using System.Text.RegularExpressions;
using Baton.Apps.CatalogSync.Processing;
using Baton.Apps.CatalogSync.Tests.Infrastructure;

namespace Baton.Apps.CatalogSync.Tests.Processing;

/// <summary>
/// The rules of <see cref="IProductStore"/> applied straight to each store (a real SQLite file, a real
/// PostgreSQL schema), including chunks applied concurrently, which a whole sync rarely provokes.
/// </summary>
public abstract partial class ProductStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 2, 0, 0, TimeSpan.Zero);
    private readonly string _directory = TestPaths.NewTempDirectory();
    private CatalogTarget _catalog = null!;
    private IProductStore _store = null!;

    protected abstract ProductsTarget Target { get; }

    protected static DateTimeOffset ChunkTime => Now;

    private protected CatalogTarget Catalog => _catalog;

    private protected IProductStore Store => _store;

    public async Task InitializeAsync()
    {
        _catalog = await CatalogTarget.CreateAsync(Target, _directory);
        _store = _catalog.NewStore();
        await _store.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        // Null when InitializeAsync failed (e.g. no PostgreSQL): its own message is the one to see.
        (_store as IDisposable)?.Dispose();
        if (_catalog is { } catalog)
        {
            await catalog.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task ApplyAsync_NewNewerEqualOlder_InsertsUpdatesAndSkipsAsTheSeed()
    {
        await _store.ApplyAsync(Chunk("run-1", 0, Line(1, "a", 100), Line(2, "b", 100), Line(3, "c", 100)));

        var stats = await _store.ApplyAsync(Chunk("run-2", 0, Line(1, "a", 101), Line(2, "b", 100), Line(3, "c", 99), Line(4, "d", 50)));

        Assert.Equal(new ChunkStats(0, 4, 1, 1, 2, 0, 0), stats);
        Assert.Equal([("a", 101L), ("b", 100L), ("c", 100L), ("d", 50L)], _catalog.Products().Select(p => (p.Id, p.MetaUpdatedAt)));
        Assert.Contains("\"line\":1", _catalog.Products()[0].Raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApplyAsync_SameIdTwiceInOneChunk_FirstInFileOrderKeptLaterDeadLettered()
    {
        var stats = await _store.ApplyAsync(Chunk("run-1", 0, Line(7, "a", 100), Line(8, "b", 100), Line(9, "a", 200)));

        Assert.Equal(new ChunkStats(0, 3, 2, 0, 0, 1, 0), stats);
        var dead = Assert.Single(_catalog.DeadLetters("run-1"));
        Assert.Equal(9, dead.Line);
        Assert.Equal("duplicate id a in this feed (line 7 is kept)", dead.Reason);
        var a = _catalog.Products().Single(p => p.Id == "a");
        Assert.Equal(100, a.MetaUpdatedAt);
        Assert.Contains("\"line\":7", a.Raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeadLetters_ManyInSeveralChunks_PagedInLineOrderOfTheRunOnly()
    {
        static DeadLetter Dead(long line) => new(line, line * 100, $"invalid JSON at line {line}", Encoding.UTF8.GetBytes($"{{bad {line}"));
        await _store.ApplyAsync(new ChunkWrite("run-1", 1, [], [.. Enumerable.Range(6, 5).Select(n => Dead(n))], 0, Now));
        await _store.ApplyAsync(new ChunkWrite("run-1", 0, [], [.. Enumerable.Range(1, 5).Select(n => Dead(n))], 0, Now));
        await _store.ApplyAsync(new ChunkWrite("run-2", 0, [], [Dead(3)], 0, Now));
        var reader = new CatalogDeadLetters(_store);

        var first = await reader.ListAsync("run-1", 0, 4);
        var second = await reader.ListAsync("run-1", first.NextAfterLine!.Value, 4);
        var last = await reader.ListAsync("run-1", second.NextAfterLine!.Value, 4);

        Assert.Equal([1L, 2, 3, 4], first.Items.Select(d => d.Line));
        Assert.Equal([5L, 6, 7, 8], second.Items.Select(d => d.Line));
        Assert.Equal([9L, 10], last.Items.Select(d => d.Line));
        Assert.Null(last.NextAfterLine);
        var seven = second.Items[2];
        Assert.Equal((700L, "invalid JSON at line 7", 1, "{bad 7"), (seven.ByteOffset, seven.Reason, seven.Chunk, seven.Head));
        Assert.Single((await reader.ListAsync("run-2", 0, 50)).Items);
    }

    [Fact]
    public async Task ApplyAsync_DuplicateOfAnUnchangedProductInOtherChunks_SkippedTwiceNothingWritten()
    {
        await _store.ApplyAsync(Chunk("run-1", 0, Line(1, "a", 100)));

        var first = await _store.ApplyAsync(Chunk("run-2", 0, Line(1, "a", 100)));
        var second = await _store.ApplyAsync(Chunk("run-2", 1, Line(2, "a", 100)));

        Assert.Equal((1L, 1L), (first.Skipped, second.Skipped));
        Assert.Empty(_catalog.DeadLetters("run-2"));
    }

    [Fact]
    public async Task ApplyAsync_SameFeedWithADuplicateIdInAChunkSyncedTwice_SameRowAndDeadLetterBothTimes()
    {
        // Line 2 and line 19 share an id, line 19 with a newer updatedAt. Before: the first sync kept line 2, the second
        // skipped it (unchanged) and then stored line 19, so syncing the same feed again changed the catalog.
        ParsedLine[] feed = [Line(1, "a", 100), Line(2, "x", 100), Line(19, "x", 300)];
        var first = await _store.ApplyAsync(Chunk("run-1", 0, feed));
        var second = await _store.ApplyAsync(Chunk("run-2", 0, feed));

        Assert.Equal(new ChunkStats(0, 3, 2, 0, 0, 1, 0), first);
        Assert.Equal(new ChunkStats(0, 3, 0, 0, 2, 1, 0), second);
        Assert.Equal(100, _catalog.Products().Single(p => p.Id == "x").MetaUpdatedAt);
        foreach (var run in new[] { "run-1", "run-2" })
        {
            var dead = Assert.Single(_catalog.DeadLetters(run));
            Assert.Equal((19L, "duplicate id x in this feed (line 2 is kept)"), (dead.Line, dead.Reason));
        }
    }

    [Fact]
    public async Task ApplyAsync_ChunksSharingIdsConcurrently_EachIdStoredOnceFromTheLineItReportsKept()
    {
        // 8 chunks of 200 lines; chunk k has ids 150k .. 150k+199, so neighbours share 50 ids (350 duplicate lines).
        var chunks = Enumerable.Range(0, 8)
            .Select(k => Chunk("run-1", k, [.. Enumerable.Range(0, 200).Select(i => Line(k * 200 + i + 1, $"p{k * 150 + i:D5}", 100))]))
            .ToList();

        var stats = await Task.WhenAll(chunks.Select(c => Task.Run(() => _store.ApplyAsync(c))));

        var total = stats.Aggregate(ChunkStats.Zero, (a, b) => a + b);
        Assert.Equal(1_600, total.Records);
        Assert.Equal(1_250, total.Inserted);
        Assert.Equal(350, total.Failed);
        Assert.Equal(0, total.Updated + total.Skipped);
        Assert.Equal(total, await _store.RunTotalsAsync("run-1") with { Chunk = -1 });
        var rows = _catalog.Products().ToDictionary(p => p.Id);
        Assert.Equal(1_250, rows.Count);
        var dead = _catalog.DeadLetters("run-1");
        Assert.Equal(350, dead.Count);
        foreach (var letter in dead)
        {
            var match = DuplicateReason().Match(letter.Reason);
            Assert.True(match.Success, letter.Reason);
            Assert.Contains($"\"line\":{match.Groups[2].Value},", rows[match.Groups[1].Value].Raw, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ApplyAsync_ChunkAlreadyCommitted_SecondApplyFailsAndNothingIsCountedTwice()
    {
        var chunk = Chunk("run-1", 3, Line(1, "a", 100), Line(2, "b", 100));
        var first = await _store.ApplyAsync(chunk);

        await Assert.ThrowsAnyAsync<Exception>(() => _store.ApplyAsync(chunk));

        Assert.Equal(first, (await _store.StoredChunkAsync("run-1", 3))!.Stats);
        Assert.Equal(2, (await _store.RunTotalsAsync("run-1")).Inserted);
        Assert.Equal(2, _catalog.Products().Count);
    }

    [Fact]
    public async Task ApplyAsync_LineFailsWhileItsChunkIsWritten_NothingOfTheChunkIsStoredAndTheStoreGoesOn()
    {
        // Claimed to have scanned, but not JSON: its record cannot be read when the row is written, after the rows before it.
        var broken = new ParsedLine(2, 200, "x", 100, Encoding.UTF8.GetBytes("not json"));

        await Assert.ThrowsAnyAsync<InvalidOperationException>(() => _store.ApplyAsync(Chunk("run-1", 0, Line(1, "a", 100), broken, Line(3, "b", 100))));
        var stats = await _store.ApplyAsync(Chunk("run-1", 1, Line(4, "c", 100)));

        Assert.Null(await _store.StoredChunkAsync("run-1", 0));
        Assert.Equal(1, stats.Inserted);
        Assert.Equal(["c"], _catalog.Products().Select(p => p.Id));
    }

    [Fact]
    public async Task ApplyAsync_ChunkChecksum_StoredWithItsCountersAndListedPerRun()
    {
        // What lets a later download of the feed be compared with the bytes each chunk was applied from.
        var stats = await _store.ApplyAsync(Chunk("run-1", 0, Line(1, "a", 100)) with { Checksum = "0f1e2d3c4b5a69788796a5b4c3d2e1f0" });
        await _store.ApplyAsync(Chunk("run-1", 1, Line(2, "b", 100)));
        await _store.ApplyAsync(Chunk("run-2", 0, Line(3, "c", 100)) with { Checksum = "ffffffffffffffffffffffffffffffff" });

        Assert.Equal(new AppliedChunk(stats, "0f1e2d3c4b5a69788796a5b4c3d2e1f0"), await _store.StoredChunkAsync("run-1", 0));
        Assert.Null((await _store.StoredChunkAsync("run-1", 1))!.Checksum);
        Assert.Equal(
            new Dictionary<int, string?> { [0] = "0f1e2d3c4b5a69788796a5b4c3d2e1f0", [1] = null },
            await _store.AppliedChecksumsAsync("run-1"));
        Assert.Empty(await _store.AppliedChecksumsAsync("run-3"));
    }

    private protected static ChunkWrite Chunk(string runId, int chunk, params ParsedLine[] lines) => new(runId, chunk, lines, [], 0, Now);

    private protected static ParsedLine Line(long line, string id, long updatedAt)
    {
        var raw = $$"""{"id":"{{id}}","line":{{line}},"name":"Product {{id}}"}""";
        return new ParsedLine(line, line * 100, Encoding.UTF8.GetBytes(raw), new ProductRecord(
            id, $"Product {id}", "active", "Org", "Brand", null, null, null, null, null, null, "10000000", 1_600_000_000, updatedAt, Encoding.UTF8.GetBytes(raw)));
    }

    [GeneratedRegex(@"^duplicate id (\S+) in this feed \(line (\d+) is kept\)$")]
    private static partial Regex DuplicateReason();
}

public sealed class SqliteProductStoreTests : ProductStoreTests
{
    protected override ProductsTarget Target => ProductsTarget.Sqlite;

    [Fact]
    public async Task InitializeAsync_CatalogFromBeforeChunkChecksums_GetsTheColumnAndKeepsItsChunks()
    {
        var path = Catalog.SqlitePath + ".old.db";
        await using (var old = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False"))
        {
            old.Open();
            using var create = old.CreateCommand();
            create.CommandText = """
                CREATE TABLE chunk_results (
                  run_id TEXT NOT NULL, chunk INTEGER NOT NULL,
                  records INTEGER NOT NULL, inserted INTEGER NOT NULL, updated INTEGER NOT NULL, skipped INTEGER NOT NULL,
                  failed INTEGER NOT NULL, blank INTEGER NOT NULL, completed_at TEXT NOT NULL,
                  PRIMARY KEY (run_id, chunk));
                INSERT INTO chunk_results VALUES ('run-1', 0, 5, 5, 0, 0, 0, 0, '2026-12-01T02:00:00Z');
                """;
            create.ExecuteNonQuery();
        }

        var store = new SqliteProductStore(path);
        await store.InitializeAsync();
        await store.InitializeAsync();
        await store.ApplyAsync(Chunk("run-1", 1, Line(1, "a", 100)) with { Checksum = "00000000000000000000000000000001" });

        Assert.Equal(new Dictionary<int, string?> { [0] = null, [1] = "00000000000000000000000000000001" }, await store.AppliedChecksumsAsync("run-1"));
        Assert.Equal(5, (await store.StoredChunkAsync("run-1", 0))!.Stats.Inserted);
    }

    [Fact]
    public async Task InitializeAsync_CatalogFileIsNotADatabase_ErrorNamesTheSettingAndTheFile()
    {
        // Before: the bare "SQLite Error 26: 'file is not a database'", after a log line that named Baton's own database.
        var path = Catalog.SqlitePath + ".garbage.db";
        await File.WriteAllBytesAsync(path, Enumerable.Range(0, 8192).Select(i => (byte)(i * 7)).ToArray());

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new SqliteProductStore(path).InitializeAsync());

        Assert.Contains($"Baton:Apps:CatalogSync:DatabasePath '{Path.GetFullPath(path)}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("not a SQLite database", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Another connection holds the catalog's write lock: the chunk waits for it, and a cancelled token (a step's
    /// timeout) ends that wait within about a second instead of after the 120 s lock timeout, writing nothing.
    /// </summary>
    [Fact]
    public async Task ApplyAsync_CatalogLockedByAnotherConnection_CancellationEndsTheWaitAndWritesNothing()
    {
        await using (var holder = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Catalog.SqlitePath};Pooling=False"))
        {
            holder.Open();
            using var locked = holder.BeginTransaction(deferred: false);
            using var timeout = new CancellationTokenSource();
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var apply = Task.Run(() => Store.ApplyAsync(Chunk("run-1", 0, Line(1, "a", 100)), timeout.Token));
            timeout.CancelAfter(TimeSpan.FromMilliseconds(300));

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => apply);

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"the cancelled chunk waited {watch.Elapsed} for the lock");
            locked.Rollback();
        }

        Assert.Empty(Catalog.Products());
        Assert.Null(await Store.StoredChunkAsync("run-1", 0));
    }
}

public sealed class PostgresProductStoreTests : ProductStoreTests
{
    [Fact]
    public async Task InitializeAsync_CatalogFromBeforeChunkChecksums_GetsTheColumnAndKeepsItsChunks()
    {
        var schema = Catalog.Schema + "_old";
        await using (var admin = new Npgsql.NpgsqlConnection(CatalogTarget.ConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new Npgsql.NpgsqlCommand(
                $"""
                CREATE SCHEMA {schema};
                CREATE TABLE {schema}.chunk_results (
                  run_id text NOT NULL, chunk integer NOT NULL,
                  records bigint NOT NULL, inserted bigint NOT NULL, updated bigint NOT NULL, skipped bigint NOT NULL,
                  failed bigint NOT NULL, blank bigint NOT NULL, completed_at timestamptz NOT NULL,
                  PRIMARY KEY (run_id, chunk));
                INSERT INTO {schema}.chunk_results VALUES ('run-1', 0, 5, 5, 0, 0, 0, 0, now());
                """,
                admin);
            await create.ExecuteNonQueryAsync();
        }

        try
        {
            using var store = new PostgresProductStore(CatalogTarget.ConnectionString, schema);
            await store.InitializeAsync();
            using (var again = new PostgresProductStore(CatalogTarget.ConnectionString, schema))
            {
                await again.InitializeAsync();
            }

            await store.ApplyAsync(Chunk("run-1", 1, Line(1, "a", 100)) with { Checksum = "00000000000000000000000000000001" });

            Assert.Equal(new Dictionary<int, string?> { [0] = null, [1] = "00000000000000000000000000000001" }, await store.AppliedChecksumsAsync("run-1"));
            Assert.Equal(5, (await store.StoredChunkAsync("run-1", 0))!.Stats.Inserted);
        }
        finally
        {
            await using var admin = new Npgsql.NpgsqlConnection(CatalogTarget.ConnectionString);
            await admin.OpenAsync();
            await using var drop = new Npgsql.NpgsqlCommand($"DROP SCHEMA {schema} CASCADE", admin);
            await drop.ExecuteNonQueryAsync();
        }
    }

    protected override ProductsTarget Target => ProductsTarget.Postgres;

    /// <summary>
    /// Every column of a row as the binary COPY encodes it (text, NULL, bigint, json, timestamptz), for a
    /// line read from its bytes and one given parsed, through the direct COPY (new ids) and through the
    /// staging table and merge (an update).
    /// </summary>
    [Fact]
    public async Task ApplyAsync_CopyAndMerge_StoreEveryColumnAsTheParserReadsIt()
    {
        var scanned = Encoding.UTF8.GetBytes("""{"meta":{"createdAt":1600000000,"updatedAt":1600000500},"result":{"id":"M1","name":{"fr":"x","en":"Caf\u00e9 \"1\""},"status":"active","organizations":[{"name":"Org"}],"brands":[42],"eanGtin13":"930","eanGtin14":null,"artgId":7,"pbs":true,"gs1Category":{"code":"10000123"}}}""");
        var parsed = Encoding.UTF8.GetBytes("""{"meta":{"updatedAt":1600000600},"result":{"id":"M2","name":"Plain","brands":{"a":1},"snomedMpp":"1","snomedTpp":"2"}}""");
        var update = Encoding.UTF8.GetBytes("""{"meta":{"createdAt":null,"updatedAt":1600000900},"result":{"id":"M1","name":"Renamed","brands":[]}}""");

        await Store.ApplyAsync(new ChunkWrite("run-1", 0, [ScannedLine(3, scanned), new ParsedLine(4, 400, parsed, ProductParser.Parse(parsed, out _)!)], [], 0, ChunkTime));
        var copied = await RowsAsync();
        await Store.ApplyAsync(new ChunkWrite("run-2", 0, [ScannedLine(9, update)], [], 0, ChunkTime.AddHours(24)));
        var merged = await RowsAsync();

        var m2 = "M2|Plain|null|null|{\"a\":1}|null|null|null|null|1|2|null|null|1600000600|" + Raw(parsed) + "|2026-11-30T02:00:00.0000000+00:00|run-1|4";
        Assert.Equal(
            ["M1|Café \"1\"|active|Org|42|930|null|7|true|null|null|10000123|1600000000|1600000500|" + Raw(scanned) + "|2026-11-30T02:00:00.0000000+00:00|run-1|3", m2],
            copied);
        Assert.Equal(
            ["M1|Renamed|null|null||null|null|null|null|null|null|null|null|1600000900|" + Raw(update) + "|2026-12-01T02:00:00.0000000+00:00|run-2|9", m2],
            merged);
    }

    [Fact]
    public async Task Reads_PooledConnectionsSessionEndedByTheServer_AnsweredOnAFreshConnection()
    {
        // What a database restart leaves in the pool. The sync reads its totals in the workflow's body, outside any step:
        // before, that read failed with 57P01 and the whole nightly sync ended failed.
        await Store.ApplyAsync(Chunk("run-1", 0, Line(1, "a", 100)));
        var application = "catalog-" + Guid.NewGuid().ToString("N")[..12];
        using var store = new PostgresProductStore(
            new Npgsql.NpgsqlConnectionStringBuilder(CatalogTarget.ConnectionString) { ApplicationName = application }.ConnectionString, Catalog.Schema);
        await store.InitializeAsync();
        Assert.Equal(1, (await store.RunTotalsAsync("run-1")).Chunk);

        await using (var admin = new Npgsql.NpgsqlConnection(CatalogTarget.ConnectionString))
        {
            await admin.OpenAsync();
            await using var terminate = new Npgsql.NpgsqlCommand("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", admin);
            terminate.Parameters.Add(new Npgsql.NpgsqlParameter<string> { TypedValue = application });
            Assert.True((long)(await terminate.ExecuteScalarAsync())! >= 1);
        }

        await Task.Delay(200);
        var totals = await store.RunTotalsAsync("run-1");
        var chunk = await store.StoredChunkAsync("run-1", 0);

        Assert.Equal((1, 1L), (totals.Chunk, totals.Records));
        Assert.Equal(1, chunk!.Stats.Records);
    }

    private static ParsedLine ScannedLine(long line, byte[] bytes)
    {
        Assert.True(ProductScanner.TryScan(bytes, out var id, out var updatedAt));
        return new ParsedLine(line, line * 100, id, updatedAt, bytes);
    }

    private static string Raw(byte[] line)
    {
        var text = Encoding.UTF8.GetString(line);
        var start = text.IndexOf("\"result\":", StringComparison.Ordinal) + "\"result\":".Length;
        return text[start..^1];
    }

    private async Task<List<string>> RowsAsync()
    {
        await using var connection = new Npgsql.NpgsqlConnection(CatalogTarget.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            $"""SELECT id, name, status, organization, brand, "eanGtin13", "eanGtin14", "artgId", pbs, "snomedMpp", "snomedTpp", "gs1Category", "createdAt", "metaUpdatedAt", raw::text, updated_at, sync_run, sync_line FROM "{Catalog.Schema}".products ORDER BY id""",
            connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(string.Join('|', Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "null"
                : reader.GetValue(i) is DateTime time ? new DateTimeOffset(time.ToUniversalTime()).ToString("O", System.Globalization.CultureInfo.InvariantCulture)
                : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        }

        return rows;
    }
}
