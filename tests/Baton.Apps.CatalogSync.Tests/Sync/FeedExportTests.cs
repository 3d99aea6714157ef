using System.Text.Json;
using Baton.Testing;
using Baton.Apps.CatalogSync.Tests.Infrastructure;
using Baton.Apps.CatalogSync.Blobs;
using Baton.Apps.CatalogSync.Fetch;
using Baton.Demo.CatalogFeed;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Baton.Apps.CatalogSync.Tests.Sync;

/// <summary>
/// One export of the feed per sync, across executions of the run: a retry, a restart, or a node sharing the blob directory
/// resumes a partial file only by the ETag kept in its note, and a download that starts over is compared with the chunks the
/// run applied. Each case ends either with the table equal to one export or with the run failed saying why (found by a
/// review of the first version of these checks, which kept the ETag only in memory).
/// </summary>
public sealed class FeedExportTests
{
    [Fact]
    public async Task Retry_NewExportOfTheSameLengthChangedBeforeTheOverlap_IfRangeFromTheNoteStartsOverAndTableIsTheNewExport()
    {
        // The first execution fails at the cut (one attempt); its retry knows the ETag only from the partial file's note.
        // Before: the retry resumed without If-Range, the 64 KiB before the cut were equal, and the run succeeded with the
        // first export's start joined to the second's rest.
        await using var h = await SyncHarness.StartAsync(null, new Dictionary<string, string> { ["Baton:Apps:CatalogSync:FetchAttempts"] = "1" });
        CutWhereBothDaysAgreeBeforeTheCut(h);
        h.Feed.Options.AfterCut = o => o.Day = 2;
        var runId = await h.StartSyncAsync();
        Assert.Equal("failed", (await h.WaitFinishedAsync(runId)).GetProperty("status").GetString());
        Assert.EndsWith("\"", await File.ReadAllTextAsync(Assert.Single(Directory.GetFiles(h.BlobDirectory, "*.part.note"))), StringComparison.Ordinal);

        var run = await RetryAsync(h, runId);

        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        // It asked to resume (by the note's ETag) and got the new export whole.
        Assert.Matches("^bytes=[0-9]+-$", h.Feed.RangeHeaders.ToList()[1]);
        Assert.False(run.GetProperty("output").GetProperty("resumed").GetBoolean());
        CatalogDb.AssertEqual(CatalogDb.Expected(h.Feed.BodyBytes(2)), h.Products());
    }

    [Fact]
    public async Task Restart_NewExportOfTheSameLengthWhileTheFetchWaitedToRetry_TableIsTheNewExport()
    {
        // The server stops (a crash, a deploy) while the fetch waits to retry a broken stream; the feed gets a new export;
        // the restarted server's execution of the run resumes by the note's ETag, so the feed sends the new export whole.
        await using var h = await SyncHarness.StartAsync(null, new Dictionary<string, string> { ["Baton:Apps:CatalogSync:FetchRetryDelay"] = "00:00:30" });
        CutWhereBothDaysAgreeBeforeTheCut(h);
        var runId = await h.StartSyncAsync();
        await Poll.UntilAsync(() => Task.FromResult(h.Logs.Entries.Any(e => e.EventId == 200)), seen => seen, "the fetch to wait for its retry", TimeSpan.FromSeconds(30));
        await h.StopServerAsync();
        h.Feed.Options.Day = 2;

        await h.StartServerAsync();
        var run = await h.WaitFinishedAsync(runId);

        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        CatalogDb.AssertEqual(CatalogDb.Expected(h.Feed.BodyBytes(2)), h.Products());
    }

    [Fact]
    public async Task Retry_OfARunRefusedForANewExport_ComparesTheAppliedChunksAndFailsAgainInsteadOfJoiningExports()
    {
        // The first execution gets the new export whole (If-Range) while chunks are being applied and stops. Before: retrying
        // it resumed without If-Range and succeeded with two exports joined.
        await using var h = await SyncHarness.StartAsync(f => f.BytesPerSecond = 3_000_000);
        CutWhereBothDaysAgreeBeforeTheCut(h, minCut: 1_500_000);
        h.Feed.Options.AfterCut = o => o.Day = 2;
        var runId = await h.StartSyncAsync();
        var refused = await h.WaitFinishedAsync(runId);
        // The whole new export's first bytes are compared with the partial file's (its ETag no longer matches).
        Assert.Contains("the feed changed while this sync downloaded it: resuming at byte ", Message(refused), StringComparison.Ordinal);
        h.Feed.Options.BytesPerSecond = 0;

        var run = await RetryAsync(h, runId);

        Assert.True(run.GetProperty("status").GetString() == "failed", run.ToString());
        Assert.Contains("the feed changed while this sync ran: chunk ", Message(run), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_ChunksAppliedByAnEarlierVersionAndANewExport_RefusedInsteadOfTakingThemAsDone()
    {
        // Chunks without a checksum (as the version before checksums left them) cannot be compared with a new download.
        // Before: the partial file was discarded for the new export, the next attempt downloaded it from byte 0 and took
        // the old chunks as done by their index (1,100 rows of the old export left).
        await using var h = await SyncHarness.StartAsync(
            f => { f.CutAtByte = 2_500_000; f.BytesPerSecond = 2_000_000; f.ChangeFraction = 1; },
            new Dictionary<string, string> { ["Baton:Apps:CatalogSync:FetchAttempts"] = "1" });
        var runId = await h.StartSyncCutAfterStepAsync("chunks/000000", "succeeded");
        var failed = await h.WaitFinishedAsync(runId);
        Assert.Contains(failed.GetProperty("steps").EnumerateArray(), s => s.GetProperty("key").GetString() == "chunks/000000" && s.GetProperty("status").GetString() == "succeeded");
        using (var connection = new SqliteConnection($"Data Source={h.Catalog.SqlitePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE chunk_results SET checksum = NULL";
            Assert.True(command.ExecuteNonQuery() > 0);
        }

        h.Feed.Options.CutAtByte = null;
        h.Feed.Options.BytesPerSecond = 0;
        h.Feed.Options.Day = 2;
        var run = await RetryAsync(h, runId);

        Assert.True(run.GetProperty("status").GetString() == "failed", run.ToString());
        Assert.Contains("applied by an earlier version of Baton", Message(run), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_NewExportShorterThanThePartialFile_StartsOverAndTableIsTheNewExport()
    {
        // Before: the 206 had fewer bytes than the overlap asked for again, read as a broken stream: every retry failed alike.
        // Chunks of 1,000 lines (2.2 MB) end past the cut, so no chunk is applied before it: a connection reset can deliver
        // fewer bytes than the cut (CI 2026-12-07: 658,531 of 1,000,000), and a shrunken export ending inside an applied
        // chunk is rightly refused as another export, which is not what this test is about.
        await using var h = await SyncHarness.StartAsync(
            f => f.CutAtByte = 1_000_000,
            new Dictionary<string, string> { ["Baton:Apps:CatalogSync:FetchAttempts"] = "1", ["Baton:Apps:CatalogSync:ChunkSize"] = "1000" });
        var runId = await h.StartSyncCutAfterBytesAsync(500_000);
        Assert.Equal("failed", (await h.WaitFinishedAsync(runId)).GetProperty("status").GetString());
        var have = new FileInfo(Assert.Single(Directory.GetFiles(h.BlobDirectory, "*.part"))).Length;
        while (h.Feed.BodyLength() >= have)
        {
            h.Feed.Options.Products--;
        }

        Assert.InRange(h.Feed.BodyLength(), have - 60_000, have - 1);

        var run = await RetryAsync(h, runId);

        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        CatalogDb.AssertEqual(CatalogDb.Expected(h.Feed.BodyBytes()), h.Products());
    }

    [Fact]
    public async Task Retry_PartialFileOfAFeedWithoutETag_DownloadsFromByteZeroComparingTheAppliedChunks()
    {
        // Nothing in the note to resume by: the retry starts over (logged), the unchanged feed's chunks match those applied.
        await using var h = await SyncHarness.StartAsync(
            f => { f.ETag = false; f.CutAtByte = 2_500_000; f.BytesPerSecond = 2_000_000; },
            new Dictionary<string, string> { ["Baton:Apps:CatalogSync:FetchAttempts"] = "1" });
        var runId = await h.StartSyncAsync();
        Assert.Equal("failed", (await h.WaitFinishedAsync(runId)).GetProperty("status").GetString());
        h.Feed.Options.BytesPerSecond = 0;

        var run = await RetryAsync(h, runId);

        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        Assert.Equal([null, null], h.Feed.RangeHeaders.ToList());
        Assert.Contains(h.Logs.Entries, e => e.EventId == 5008);
        CatalogDb.AssertEqual(CatalogDb.Expected(h.Feed.BodyBytes()), h.Products());
    }

    [Fact]
    public async Task Retry_ChunkSizeChangedBetweenExecutions_FailsNamingTheSettingAsACause()
    {
        await using var h = await SyncHarness.StartAsync(
            f => { f.CutAtByte = 2_500_000; f.BytesPerSecond = 2_000_000; f.ETag = false; },
            new Dictionary<string, string> { ["Baton:Apps:CatalogSync:FetchAttempts"] = "1" });
        var runId = await h.StartSyncCutAfterStepAsync("chunks/000000", "succeeded");
        var failed = await h.WaitFinishedAsync(runId);
        Assert.Contains(failed.GetProperty("steps").EnumerateArray(), s => s.GetProperty("key").GetString() == "chunks/000000" && s.GetProperty("status").GetString() == "succeeded");
        await h.StopServerAsync();
        h.SetSetting("Baton:Apps:CatalogSync:ChunkSize", "500");
        await h.StartServerAsync();
        h.Feed.Options.BytesPerSecond = 0;

        var run = await RetryAsync(h, runId);

        Assert.True(run.GetProperty("status").GetString() == "failed", run.ToString());
        Assert.Contains("or Baton:Apps:CatalogSync:ChunkSize changed since this sync began", Message(run), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Download_NewExportOfTheSameLengthWithoutETagBetweenTwoAttempts_ResumeComparesTheWholePartialFileAndDiscardsIt(bool changedBeforeTheOverlap)
    {
        // No validator and the same length, as a second attempt in the same execution sees it: the resume asks for the feed
        // from byte 0 and compares every byte it has. Nothing was handed out, so the partial file is discarded (the next
        // attempt starts over). Before: only the last 64 KiB were asked for again, so a change before them
        // (changedBeforeTheOverlap) was not seen and the new export's rest was appended to the old one's start, no error.
        var feed = new CatalogFeedOptions { Products = 2_000, User = SyncHarness.FeedUser, Password = SyncHarness.FeedSecret, ETag = false };
        await using var server = await CatalogFeedServer.StartAsync(feed);
        var (fraction, firstDifference) = SameLengthDays(feed, server);
        feed.ChangeFraction = fraction;
        var have = changedBeforeTheOverlap ? BreakAfterAnEqualOverlap(server.BodyBytes(1), server.BodyBytes(2)) : firstDifference + 1_000;
        var blobs = new LocalBlobStore(TestPaths.NewTempDirectory());
        await using (var partial = await blobs.OpenPartialAsync("run.ndjson", restart: true))
        {
            await partial.WriteAsync(server.BodyBytes(1).AsMemory(0, (int)have));
        }

        feed.Day = 2;
        using var http = new HttpClient();
        var downloader = NewDownloader(http, blobs, server);
        var ledger = DownloadLedger.Empty();
        ledger.Answered(validator: null, length: server.BodyLength(1));

        var changed = await Assert.ThrowsAsync<FeedException>(() => downloader.DownloadAsync("run", ledger, _ => { }, onChunk: null, CancellationToken.None));

        Assert.Contains($"the feed changed since the download broke off: resuming at byte {have}, it serves other bytes", changed.Message, StringComparison.Ordinal);
        Assert.Equal("bytes=0-", Assert.Single(server.RangeHeaders));
        Assert.Equal(0, await blobs.GetPartialLengthAsync("run.ndjson"));
        var file = await downloader.DownloadAsync("run", ledger, _ => { }, onChunk: null, CancellationToken.None);
        Assert.Equal((Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(server.BodyBytes(2))), false), (file.Sha256, file.Resumed));
    }

    [Fact]
    public async Task Fetch_FeedWithoutETagNewExportOfTheSameLengthChangedBeforeTheOverlap_SyncStopsInsteadOfJoiningThem()
    {
        // Chunks of the first export are being applied when the stream breaks; the feed (no ETag) then serves a new export of
        // the same length that differs only more than 200 KB before the break. Before: the resume compared the last 64 KiB,
        // appended the new export's rest and the sync succeeded with a table that was neither export.
        await using var h = await SyncHarness.StartAsync(f => f.ETag = false);
        CutWhereBothDaysAgreeBeforeTheCut(h, minCut: 1_500_000);
        h.Feed.Options.AfterCut = o => o.Day = 2;
        var runId = await h.StartSyncCutAfterStepAsync("chunks/000000");

        var run = await h.WaitFinishedAsync(runId);

        Assert.True(run.GetProperty("status").GetString() == "failed", run.ToString());
        Assert.Contains("the feed changed while this sync downloaded it: resuming at byte ", Message(run), StringComparison.Ordinal);
        Assert.Contains("serves other bytes than those downloaded before the break", Message(run), StringComparison.Ordinal);
        Assert.Equal("bytes=0-", h.Feed.RangeHeaders.ToList()[1]);
        Assert.Contains(h.Logs.Entries, e => e.EventId == 5009 && e.Message.Contains("gave no strong ETag to resume by", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Retry_NewExportEndingWhereAnAppliedChunkBegins_FailsInsteadOfKeepingThatChunk()
    {
        // The next export is the same products minus the last ones, ending where chunk K (the last one applied) began: every
        // chunk it has equals one applied. Before: chunk K, absent from the new download, was never compared, and the run
        // succeeded with its rows of the first export (900 records for a feed of 600 lines, in a review).
        await using var h = await SyncHarness.StartAsync(
            f => { f.CutAtByte = 2_500_000; f.BytesPerSecond = 2_000_000; },
            new Dictionary<string, string> { ["Baton:Apps:CatalogSync:FetchAttempts"] = "1" });
        var runId = await h.StartSyncCutAfterStepAsync("chunks/000001", "succeeded");
        Assert.Equal("failed", (await h.WaitFinishedAsync(runId)).GetProperty("status").GetString());
        var k = AppliedChunks(h).Max();
        Assert.True(k >= 1, $"only chunk {k} was applied before the cut");
        h.Feed.Options.CutAtByte = null;
        h.Feed.Options.BytesPerSecond = 0;
        h.Feed.Options.Products = k * 300;

        var run = await RetryAsync(h, runId);

        Assert.True(run.GetProperty("status").GetString() == "failed", run.ToString());
        Assert.Contains($"downloaded again it has {k} chunks, and this sync already applied chunk {k} ", Message(run), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FetchAgain_FeedWithoutETagBrokenStream_NextAttemptResumes()
    {
        // The download of a feed file another node fetched: its attempts share a ledger, so a broken stream is resumed.
        // Before (in the first version of the note): each attempt had a ledger of its own, took its own partial file for
        // another execution's with no ETag, and downloaded the 659 MB again from byte 0.
        var feed = new CatalogFeedOptions { Products = 2_000, User = SyncHarness.FeedUser, Password = SyncHarness.FeedSecret, ETag = false, CutAtByte = 1_000_000 };
        await using var server = await CatalogFeedServer.StartAsync(feed);
        var blobs = new LocalBlobStore(TestPaths.NewTempDirectory());
        using var http = new HttpClient();
        var downloader = NewDownloader(http, blobs, server);
        var body = server.BodyBytes();
        var expected = new FeedFile("run.ndjson", body.Length, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body)), 1, false, 0, []);
        var ledger = DownloadLedger.Empty();

        await Assert.ThrowsAsync<FeedException>(() => downloader.FetchAgainAsync("run", expected, ledger, _ => { }, CancellationToken.None));
        Assert.True(await blobs.GetPartialLengthAsync("run.ndjson") > 0);
        Assert.Equal(body.Length, await downloader.FetchAgainAsync("run", expected, ledger, _ => { }, CancellationToken.None));

        Assert.Matches("^bytes=[0-9]+-$", server.RangeHeaders.ToList()[1]);
    }

    [Fact]
    public async Task Download_FeedAnswersAnotherRangeThanAskedFor_DiscardsThePartialFileAndStartsOver()
    {
        // Before: a 206 from another offset was "the feed answered 206 Partial Content" on every attempt and every retry,
        // the partial file kept.
        var feed = new CatalogFeedOptions { Products = 2_000, User = SyncHarness.FeedUser, Password = SyncHarness.FeedSecret, MisalignRanges = true };
        await using var server = await CatalogFeedServer.StartAsync(feed);
        var blobs = new LocalBlobStore(TestPaths.NewTempDirectory());
        await using (var partial = await blobs.OpenPartialAsync("run.ndjson", restart: true))
        {
            await partial.WriteAsync(server.BodyBytes().AsMemory(0, 500_000));
        }

        using var http = new HttpClient();
        var downloader = NewDownloader(http, blobs, server);
        var ledger = DownloadLedger.Empty();
        ledger.Answered(validator: null, length: server.BodyLength());

        var changed = await Assert.ThrowsAsync<FeedException>(() => downloader.DownloadAsync("run", ledger, _ => { }, onChunk: null, CancellationToken.None));
        var file = await downloader.DownloadAsync("run", ledger, _ => { }, onChunk: null, CancellationToken.None);

        // Without an ETag the resume asks for the feed from byte 0 (and would compare all it has).
        Assert.Contains("answers 206 with Content-Range 'bytes 1-", changed.Message, StringComparison.Ordinal);
        Assert.Equal(["bytes=0-", null], server.RangeHeaders.ToList());
        Assert.Equal((server.BodyLength(), false), (file.Length, file.Resumed));
    }

    [Fact]
    public async Task Fetch_FeedSmallerThanTheOverlapCutAfterChunksWereHandedOut_ResumesAndTableEqualsFeed()
    {
        await using var h = await SyncHarness.StartAsync(f => { f.Products = 20; f.CutAtByte = 30_000; }, new Dictionary<string, string> { ["Baton:Apps:CatalogSync:ChunkSize"] = "3" });
        Assert.True(h.Feed.BodyLength() < 65_536);

        await h.SyncAsync();

        var ranges = h.Feed.RangeHeaders.ToList();
        Assert.True(ranges.Count == 1 || ranges[1] is null or "bytes=0-", string.Join(" | ", ranges));
        CatalogDb.AssertEqual(CatalogDb.Expected(h.Feed.BodyBytes()), h.Products());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Download_PartialShorterThanTheOverlapResumeAnsweredWith200_ComparedAsARangeFromZero(bool sameBytes)
    {
        // The resume of a partial file shorter than the overlap asks bytes=0-, which this feed answers with the whole body
        // (200): the same bytes as a 206 from 0, checked the same way. Before: taken as a restart, which is refused while
        // chunks of the partial file are handed out, so the sync failed.
        var feed = new CatalogFeedOptions { Products = 20, User = SyncHarness.FeedUser, Password = SyncHarness.FeedSecret, WholeForRangeFromZero = true };
        await using var server = await CatalogFeedServer.StartAsync(feed);
        Assert.True(server.BodyLength() < FeedDownloader.OverlapBytes);
        var directory = TestPaths.NewTempDirectory();
        var blobs = new LocalBlobStore(directory);
        var had = server.BodyBytes().AsMemory(0, 10_000).ToArray();
        if (!sameBytes)
        {
            had[5_000] ^= 0x20;
        }

        await using (var partial = await blobs.OpenPartialAsync("run.ndjson", restart: true))
        {
            await partial.WriteAsync(had);
        }

        using var http = new HttpClient();
        var downloader = NewDownloader(http, blobs, server, chunkSize: 3);
        var ledger = DownloadLedger.Empty();
        ledger.Answered(validator: null, length: server.BodyLength());
        // The first chunk of the partial file, being read when the download broke.
        var cutter = new Baton.Apps.CatalogSync.Processing.ChunkCutter(3);
        cutter.Append(server.BodyBytes().AsSpan(0, 10_000));
        Assert.True(ledger.HandOut(cutter.Chunks[0]));

        if (sameBytes)
        {
            var file = await downloader.DownloadAsync("run", ledger, _ => { }, onChunk: null, CancellationToken.None);

            Assert.Equal((server.BodyLength(), true), (file.Length, file.Resumed));
            Assert.Equal(server.BodyBytes(), await File.ReadAllBytesAsync(Path.Combine(directory, "run.ndjson")));
        }
        else
        {
            var changed = await Assert.ThrowsAsync<FeedChangedException>(() => downloader.DownloadAsync("run", ledger, _ => { }, onChunk: null, CancellationToken.None));
            Assert.Contains("serves other bytes than those downloaded before the break", changed.Message, StringComparison.Ordinal);
        }

        Assert.Equal(["bytes=0-"], server.RangeHeaders.ToList());
    }

    [Fact]
    public async Task Fetch_CutExactlyAtTheEndOfAChunk_ResumesAndTableEqualsFeed()
    {
        await using var h = await SyncHarness.StartAsync(f => f.BytesPerSecond = 3_000_000);
        var body = h.Feed.BodyBytes();
        var lines = 0;
        h.Feed.Options.CutAtByte = Array.FindIndex(body, b => b == (byte)'\n' && ++lines == 600) + 1;

        await h.SyncAsync();

        CatalogDb.AssertEqual(CatalogDb.Expected(h.Feed.BodyBytes()), h.Products());
    }

    /// <summary>
    /// Sets the feed's change fraction and cut such that days 1 and 2 have the same length and the same bytes in the 200 kB
    /// before the cut but differ earlier: a new export the overlap alone does not see.
    /// </summary>
    private static void CutWhereBothDaysAgreeBeforeTheCut(SyncHarness h, long minCut = 0)
    {
        const long window = 200_000;
        foreach (var fraction in new[] { 0.01, 0.005, 0.003, 0.002, 0.001 })
        {
            h.Feed.Options.ChangeFraction = fraction;
            var one = h.Feed.BodyBytes(1);
            var two = h.Feed.BodyBytes(2);
            if (one.Length != two.Length)
            {
                continue;
            }

            long lastDiff = -1;
            for (var i = 0; i < one.Length; i++)
            {
                if (one[i] == two[i])
                {
                    continue;
                }

                if (lastDiff >= 0 && i - lastDiff > window + 1 && i - 1 >= minCut)
                {
                    h.Feed.Options.CutAtByte = i - 1;
                    return;
                }

                lastDiff = i;
            }
        }

        throw new InvalidOperationException("no change fraction gives two days of the same length with a long enough equal stretch");
    }

    private static FeedDownloader NewDownloader(HttpClient http, LocalBlobStore blobs, CatalogFeedServer server, int? chunkSize = null) =>
        new(http, blobs, Options.Create(new CatalogSyncOptions
        {
            ApiUrl = server.Url.ToString(), ApiKeyId = SyncHarness.FeedUser, ApiKeySecret = SyncHarness.FeedSecret, ChunkSize = chunkSize ?? new CatalogSyncOptions().ChunkSize,
        }),
            NullLogger<FeedDownloader>.Instance, TimeProvider.System);

    /// <summary>The chunks the (only) run applied, from the SQLite catalog.</summary>
    private static List<int> AppliedChunks(SyncHarness h)
    {
        using var connection = new SqliteConnection($"Data Source={h.Catalog.SqlitePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT chunk FROM chunk_results ORDER BY chunk";
        using var reader = command.ExecuteReader();
        var chunks = new List<int>();
        while (reader.Read())
        {
            chunks.Add(reader.GetInt32(0));
        }

        return chunks;
    }

    /// <summary>A change fraction under which days 1 and 2 have the same length, and the first byte where they differ.</summary>
    private static (double Fraction, long FirstDifference) SameLengthDays(CatalogFeedOptions feed, CatalogFeedServer server)
    {
        foreach (var fraction in new[] { 0.01, 0.005, 0.003, 0.002, 0.001 })
        {
            feed.ChangeFraction = fraction;
            var one = server.BodyBytes(1);
            var two = server.BodyBytes(2);
            if (one.Length == two.Length && one.AsSpan().CommonPrefixLength(two) is var common && common < one.Length)
            {
                return (fraction, common);
            }
        }

        throw new InvalidOperationException("no change fraction gives two days of the same length");
    }

    /// <summary>
    /// A length of partial file whose last <see cref="FeedDownloader.OverlapBytes"/> are the same in both exports, with a
    /// difference before them: the byte after the first run of equal bytes longer than the overlap that follows a difference.
    /// </summary>
    private static long BreakAfterAnEqualOverlap(byte[] one, byte[] two)
    {
        long lastDifference = -1;
        for (var i = 0; i < one.Length; i++)
        {
            if (one[i] == two[i])
            {
                continue;
            }

            if (lastDifference >= 0 && i - lastDifference > FeedDownloader.OverlapBytes + 1)
            {
                return i;
            }

            lastDifference = i;
        }

        throw new InvalidOperationException("no run of equal bytes longer than the overlap after a difference");
    }

    /// <summary>Retries the finished run and waits for that execution to finish (a failure other than the one before, or a success).</summary>
    private static async Task<JsonElement> RetryAsync(SyncHarness h, string runId)
    {
        var before = (await h.RunAsync(runId)).GetProperty("failure").ToString();
        var requests = h.Feed.Requests;
        using (var retry = await h.Client.PostAsync($"/api/runs/{runId}/retry", null))
        {
            Assert.True(retry.IsSuccessStatusCode, $"{(int)retry.StatusCode} {await retry.Content.ReadAsStringAsync()}");
        }

        return await Poll.UntilAsync(
            () => h.RunAsync(runId),
            r => r.GetProperty("status").GetString() == "succeeded"
                || (r.GetProperty("status").GetString() == "failed" && (r.GetProperty("failure").ToString() != before || h.Feed.Requests > requests)),
            $"the retry of run {runId} to finish",
            TimeSpan.FromSeconds(60));
    }

    private static string Message(JsonElement run) =>
        run.TryGetProperty("failure", out var f) && f.ValueKind == JsonValueKind.Object ? f.GetProperty("message").GetString() ?? "" : "";
}
