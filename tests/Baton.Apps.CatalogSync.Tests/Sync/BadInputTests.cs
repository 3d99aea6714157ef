using System.Text;
using Baton.Apps.CatalogSync.Tests.Infrastructure;
using Baton.Demo.CatalogFeed;

namespace Baton.Apps.CatalogSync.Tests.Sync;

/// <summary>
/// The bad-input list, one test each. Each first syncs a clean day-1 catalog, then syncs day 2
/// (5 % changed) with the bad input in it: the bad line is a dead letter with its line number, byte
/// offset, reason and first 200 bytes, the run finishes, and every other row is right (nothing stored is lost).
/// Runs against each product store (<see cref="SqliteBadInputTests"/>, <see cref="PostgresBadInputTests"/>).
/// </summary>
public abstract class BadInputTests
{
    private const int Products = 2_000;
    private const int Before = 1_000;

    protected abstract ProductsTarget Target { get; }

    [Fact]
    public Task Sync_InvalidJsonLine_DeadLetteredWithPosition() => BadLineAsync(BadLineKind.InvalidJson, "invalid JSON");

    [Fact]
    public Task Sync_LineWithoutId_DeadLetteredWithPosition() => BadLineAsync(BadLineKind.NoId, "result.id is missing");

    [Fact]
    public Task Sync_NameIsANumber_DeadLetteredWithPosition() =>
        BadLineAsync(BadLineKind.NameNumber, "result.name must be a string or an object of languages, not a number");

    [Fact]
    public Task Sync_UpdatedAtIsAString_DeadLetteredWithPosition() =>
        BadLineAsync(BadLineKind.UpdatedAtString, "meta.updatedAt must be an integer (unix seconds), not a string");

    [Fact]
    public Task Sync_InvalidUtf8_DeadLetteredWithPosition() => BadLineAsync(BadLineKind.InvalidUtf8, "invalid UTF-8");

    // Before: each of these three made its whole chunk fail on every attempt and be set aside (all its good lines lost for
    // the night) while the run ended succeeded; U+0000 failed only on PostgreSQL (SQLite stored it).
    [Fact]
    public Task Sync_LoneSurrogateEscapeInName_DeadLetteredWithPosition() => BadLineAsync(BadLineKind.LoneSurrogateInName, "a string holds half a surrogate pair");

    [Fact]
    public Task Sync_LoneSurrogateEscapeInId_DeadLetteredWithPosition() => BadLineAsync(BadLineKind.LoneSurrogateInId, "a string holds half a surrogate pair");

    [Fact]
    public Task Sync_NulInName_DeadLetteredWithPositionOnEveryStore() => BadLineAsync(BadLineKind.NulInName, "result.name holds the character U+0000");

    // Before: System.Text.Json quotes an invalid literal raw ("'tru\0}}' is an invalid JSON literal"), so the dead letter's
    // reason held U+0000; PostgreSQL refused it, and the whole chunk failed on every attempt and was set aside (its 299 good
    // lines not applied) while the run succeeded. SQLite stored it.
    [Fact]
    public Task Sync_RawNulByteInAnInvalidLiteral_DeadLetteredWithPositionOnEveryStore() =>
        BadLineAsync(BadLineKind.NulByteInLiteral, "invalid JSON: 'tru\\u0000}}' is an invalid JSON literal");

    // Before: both lines were stored, the escape kept in raw; on PostgreSQL every later `SELECT raw::jsonb FROM products` (and
    // `raw -> 'field'`) failed whole with "unsupported Unicode escape sequence" / "Unicode low surrogate must follow a high
    // surrogate", so one odd description made the table unreadable as jsonb.
    [Fact]
    public Task Sync_NulOutsideTheColumns_DeadLetteredAndRawStillReadsAsJsonb() =>
        BadLineAsync(BadLineKind.NulInDescription, "result.description holds the character U+0000, which the product store cannot keep");

    [Fact]
    public Task Sync_LoneSurrogateEscapeOutsideTheColumns_DeadLetteredAndRawStillReadsAsJsonb() =>
        BadLineAsync(BadLineKind.LoneSurrogateInDescription, "a string holds half a surrogate pair (a \\uD800-\\uDFFF escape without its other half), which is not text (in result.description)");

    // Before: both lines (valid JSON) were stored with the number in raw; on PostgreSQL every later `SELECT raw::jsonb FROM
    // products` failed whole with "value overflows numeric format" (jsonb keeps numbers as numeric).
    [Fact]
    public Task Sync_HugeNumberOutsideTheColumns_DeadLetteredAndRawStillReadsAsJsonb() =>
        BadLineAsync(BadLineKind.HugeNumberOutsideTheColumns, "result.weight holds the number 1e1000000, which the product store cannot keep");

    [Fact]
    public Task Sync_LongFractionOutsideTheColumns_DeadLetteredAndRawStillReadsAsJsonb() =>
        BadLineAsync(BadLineKind.LongFractionOutsideTheColumns, "result.price holds the number 1.55555555555555555555555555555555555555..., which the product store cannot keep");

    [Fact]
    public async Task Sync_ChunkTheStoreRefusesOnEveryAttempt_SetAsideOnceInTheStatusUnderItsOwnStep()
    {
        // Before: the set-aside chunk was reported twice, once by the engine and once by the app under "chunks/chunks/<n>".
        await using var h = await SyncHarness.StartAsync(target: Target);
        var refused = CatalogGenerator.ProductId(h.Feed.Options.Seed, Before);
        await Target_RefuseAsync(h, refused);

        var output = await h.SyncAsync();
        var status = await h.StatusAsync();

        Assert.Equal(1, output.GetProperty("chunksDeadLettered").GetInt64());
        Assert.Equal(Products - 300, output.GetProperty("inserted").GetInt64());
        var error = Assert.Single(status.GetProperty("progress").GetProperty("errors").EnumerateArray());
        Assert.Equal($"chunks/{Before / 300:D6}", error.GetProperty("step").GetString());
        Assert.Contains("refused by the test's trigger", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(h.Products(), p => p.Id == refused);
    }

    private static Task Target_RefuseAsync(SyncHarness h, string id) => h.Catalog.RefuseProductAsync(id);

    [Fact]
    public Task Sync_FiveMegabyteLine_DeadLetteredWithoutParsing() => BadLineAsync(BadLineKind.LongLine, "is longer than the limit of 1048576 bytes");

    [Fact]
    public async Task Sync_ChunkOverThirtyTwoMegabytes_ReadLineByLineWithTheSameDeadLetters()
    {
        // Seven 5 MB lines in one chunk of 300 lines: too big to read in one piece (ChunkBuffer.MaxBytes), so
        // this chunk streams through the line reader while the others are read whole.
        const int longLines = 7;
        await using var h = await SyncHarness.StartAsync(
            f => f.BadLines.AddRange(Enumerable.Range(Before, longLines).Select(p => new BadLine(p, BadLineKind.LongLine))), target: Target);
        var body = h.Feed.BodyBytes();
        Assert.True(body.Length > Baton.Apps.CatalogSync.Processing.ChunkBuffer.MaxBytes, $"the feed has {body.Length} bytes");

        var output = await h.SyncAsync();

        var dead = h.DeadLetters();
        Assert.Equal(Enumerable.Range(0, longLines).Select(i => (long)(Before + 1 + (2 * i))), dead.Select(d => d.Line));
        Assert.All(dead, d =>
        {
            Assert.Equal(LineStart(body, d.Line), d.ByteOffset);
            Assert.Contains("is longer than the limit of 1048576 bytes", d.Reason, StringComparison.Ordinal);
            Assert.Equal(Head(body, d.ByteOffset), d.Head);
        });
        Assert.Equal(Products + longLines, output.GetProperty("records").GetInt64());
        Assert.Equal(Products, output.GetProperty("inserted").GetInt64());
        CatalogDb.AssertEqual(CleanExpected(h), h.Products());
    }

    [Fact]
    public async Task Sync_DuplicateIdInOneFeed_SecondCopyDeadLettered()
    {
        await using var h = await SyncHarness.StartAsync(f => f.BadLines.Add(new BadLine(Before, BadLineKind.DuplicateId)), target: Target);
        var output = await h.SyncAsync();

        var dead = Assert.Single(h.DeadLetters());
        var body = h.Feed.BodyBytes();
        Assert.Equal(Before + 2, dead.Line);
        Assert.Equal(LineStart(body, Before + 2), dead.ByteOffset);
        Assert.StartsWith($"duplicate id {CatalogGenerator.ProductId(h.Feed.Options.Seed, Before)} in this feed (line {Before + 1} is kept)", dead.Reason, StringComparison.Ordinal);
        Assert.Equal(Products, output.GetProperty("inserted").GetInt64());
        Assert.Equal(1, output.GetProperty("failed").GetInt64());
        Assert.Equal(Products + 1, output.GetProperty("records").GetInt64());
        CatalogDb.AssertEqual(CleanExpected(h), h.Products());
    }

    [Fact]
    public async Task Sync_EmptyLine_SkippedAsBlankNotAProduct()
    {
        await using var h = await SyncHarness.StartAsync(f => f.BadLines.Add(new BadLine(Before, BadLineKind.EmptyLine)), target: Target);
        var output = await h.SyncAsync();

        Assert.Empty(h.DeadLetters());
        Assert.Equal(1, output.GetProperty("blank").GetInt64());
        Assert.Equal(Products, output.GetProperty("records").GetInt64());
        CatalogDb.AssertEqual(CleanExpected(h), h.Products());
    }

    [Fact]
    public async Task Sync_CrlfLineEndings_EveryProductStored()
    {
        await using var h = await SyncHarness.StartAsync(f => f.Crlf = true, target: Target);
        var output = await h.SyncAsync();

        Assert.Empty(h.DeadLetters());
        Assert.Equal(Products, output.GetProperty("inserted").GetInt64());
        CatalogDb.AssertEqual(CatalogDb.Expected(h.Feed.BodyBytes()), h.Products());
    }

    [Fact]
    public async Task Sync_Utf8Bom_FirstProductStored()
    {
        await using var h = await SyncHarness.StartAsync(f => f.Bom = true, target: Target);
        var output = await h.SyncAsync();

        Assert.Empty(h.DeadLetters());
        Assert.Equal(Products, output.GetProperty("inserted").GetInt64());
        CatalogDb.AssertEqual(CatalogDb.Expected(h.Feed.BodyBytes()[3..]), h.Products());
    }

    [Fact]
    public async Task Sync_TruncatedLastLine_DeadLetteredAndStoredRowKept()
    {
        await using var h = await SyncHarness.StartAsync(f => f.ChangeFraction = 0.05, target: Target);
        await h.SyncAsync();
        var day1 = h.Products();
        h.Feed.Options.Day = 2;
        h.Feed.Options.TruncateLast = true;
        var body = h.Feed.BodyBytes();

        var output = await h.SyncAsync();

        var dead = Assert.Single(h.DeadLetters());
        Assert.Equal(Products, dead.Line);
        Assert.Equal(LineStart(body, Products), dead.ByteOffset);
        Assert.StartsWith("truncated last line (no newline at the end of the file): invalid JSON", dead.Reason, StringComparison.Ordinal);
        Assert.Equal(Head(body, dead.ByteOffset), dead.Head);
        Assert.Equal(1, output.GetProperty("failed").GetInt64());
        var lastId = CatalogGenerator.ProductId(h.Feed.Options.Seed, Products - 1);
        h.Feed.Options.TruncateLast = false;
        var expected = CatalogDb.Expected(h.Feed.BodyBytes()).Select(r => r.Id == lastId ? day1.Single(d => d.Id == lastId) : r).ToList();
        CatalogDb.AssertEqual(expected, h.Products());
    }

    [Fact]
    public async Task Sync_EmptyFeed_SucceedsAndKeepsStoredRows()
    {
        await using var h = await SyncHarness.StartAsync(target: Target);
        await h.SyncAsync();
        var before = h.Products();
        h.Feed.Options.Products = 0;

        var output = await h.SyncAsync();

        Assert.Equal(0, output.GetProperty("records").GetInt64());
        Assert.Equal(0, output.GetProperty("chunks").GetInt32());
        CatalogDb.AssertEqual(before, h.Products());
    }

    private async Task BadLineAsync(BadLineKind kind, string reason)
    {
        await using var h = await SyncHarness.StartAsync(f => f.ChangeFraction = 0.05, target: Target);
        await h.SyncAsync();
        h.Feed.Options.Day = 2;
        h.Feed.Options.BadLines.Add(new BadLine(Before, kind));
        var body = h.Feed.BodyBytes();

        var output = await h.SyncAsync();

        var dead = Assert.Single(h.DeadLetters());
        Assert.Equal(Before + 1, dead.Line);
        Assert.Equal(LineStart(body, Before + 1), dead.ByteOffset);
        Assert.Contains(reason, dead.Reason, StringComparison.Ordinal);
        Assert.Equal(Head(body, dead.ByteOffset), dead.Head);
        Assert.Equal(1, output.GetProperty("failed").GetInt64());
        Assert.Equal(Products + 1, output.GetProperty("records").GetInt64());
        Assert.Equal(CatalogGenerator.ChangedBetween(h.Feed.Options, 1, 2), output.GetProperty("updated").GetInt64());
        var status = await h.StatusAsync();
        Assert.Equal("completed", status.GetProperty("currentPhase").GetString());
        Assert.Equal(1, status.GetProperty("progress").GetProperty("failed").GetInt64());
        CatalogDb.AssertEqual(CleanExpected(h), h.Products());
        Assert.Equal(Products, await h.Catalog.CountRawAsJsonbAsync());
    }

    /// <summary>The rows of the feed as it is now, without its bad lines.</summary>
    private static List<ProductRow> CleanExpected(SyncHarness h)
    {
        var bad = h.Feed.Options.BadLines.ToList();
        h.Feed.Options.BadLines.Clear();
        try
        {
            return CatalogDb.Expected(h.Feed.BodyBytes());
        }
        finally
        {
            h.Feed.Options.BadLines.AddRange(bad);
        }
    }

    /// <summary>The first 200 bytes of the line starting at <paramref name="offset"/>, without its line ending.</summary>
    private static byte[] Head(byte[] body, long offset)
    {
        var line = body.AsSpan((int)offset);
        var end = line.IndexOf((byte)'\n');
        line = end >= 0 ? line[..end] : line;
        return line[..Math.Min(200, line.Length)].ToArray();
    }

    /// <summary>Byte offset where 1-based line <paramref name="line"/> starts.</summary>
    private static long LineStart(byte[] body, long line)
    {
        long seen = 1;
        for (var i = 0; i < body.Length; i++)
        {
            if (seen == line)
            {
                return i;
            }

            if (body[i] == (byte)'\n')
            {
                seen++;
            }
        }

        throw new InvalidOperationException($"line {line} not in a body of {seen} lines ({Encoding.UTF8.GetString(body[..Math.Min(50, body.Length)])}...)");
    }
}

public sealed class SqliteBadInputTests : BadInputTests
{
    protected override ProductsTarget Target => ProductsTarget.Sqlite;
}

public sealed class PostgresBadInputTests : BadInputTests
{
    protected override ProductsTarget Target => ProductsTarget.Postgres;
}
