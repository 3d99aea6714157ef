using System.IO.Hashing;
using System.Text;
using Baton.Apps.CatalogSync.Blobs;
using Baton.Apps.CatalogSync.Fetch;
using Baton.Apps.CatalogSync.Processing;
using Baton.Apps.CatalogSync.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Baton.Apps.CatalogSync.Tests.Processing;

/// <summary>Cutting a feed into chunks as its bytes go by, and checking a chunk's bytes before applying it.</summary>
public sealed class ChunkCutterTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Append_AnySplitOfTheBytes_CutsTheSameChunksWithTheirHashes(bool trailingNewline)
    {
        var body = Body(23, trailingNewline);
        var random = new Random(7);
        for (var round = 0; round < 50; round++)
        {
            var cutter = new ChunkCutter(5);
            var completed = 0;
            for (var at = 0; at < body.Length;)
            {
                var take = Math.Min(body.Length - at, random.Next(1, 40));
                completed += cutter.Append(body.AsSpan(at, take));
                // A chunk is announced as soon as its last byte has gone by.
                Assert.Equal(completed, cutter.Chunks.Count);
                Assert.All(cutter.Chunks, c => Assert.True(c.End <= at + take));
                at += take;
            }

            Assert.Equal(4, completed);
            Assert.Equal(5, cutter.Finish());
            Assert.Equal(23, cutter.Lines);
            var chunks = cutter.Chunks;
            Assert.Equal([5, 5, 5, 5, 3], chunks.Select(c => c.Lines));
            Assert.Equal([1L, 6, 11, 16, 21], chunks.Select(c => c.FirstLine));
            Assert.Equal(0, chunks[0].Start);
            Assert.Equal(body.Length, chunks[^1].End);
            for (var i = 0; i < chunks.Count; i++)
            {
                var bytes = body.AsSpan((int)chunks[i].Start, (int)(chunks[i].End - chunks[i].Start));
                Assert.Equal(i, chunks[i].Index);
                Assert.Equal(Convert.ToHexStringLower(XxHash128.Hash(bytes)), chunks[i].Checksum);
                Assert.True(i == chunks.Count - 1 ? bytes.EndsWith("\n"u8) == trailingNewline : bytes.EndsWith("\n"u8));
                if (i > 0)
                {
                    Assert.Equal(chunks[i - 1].End, chunks[i].Start);
                }
            }
        }
    }

    [Fact]
    public void Finish_LinesAnExactMultipleOfTheChunkSize_AddsNoEmptyChunk()
    {
        var body = Body(10, trailingNewline: true);
        var cutter = new ChunkCutter(5);

        Assert.Equal(2, cutter.Append(body));
        Assert.Equal(2, cutter.Finish());
        Assert.Equal(10, cutter.Lines);
    }

    [Fact]
    public async Task ProcessAsync_BytesDifferFromTheDownload_ThrowsAndAppliesNothing()
    {
        var (store, processor, good) = await StoredFeedAsync("""
            {"meta":{"updatedAt":2},"result":{"id":"M1"}}
            {"meta":{"updatedAt":2},"result":{"id":"M2"}}

            """);

        var changed = await Assert.ThrowsAsync<ChunkChangedException>(() => processor.ProcessAsync("run", "run.ndjson", good with { Checksum = new string('0', 32) }, CancellationToken.None));
        Assert.Contains("does not match the bytes downloaded", changed.Message);
        Assert.Null(await store.StoredChunkAsync("run", 0));

        var (stats, applied) = await processor.ProcessAsync("run", "run.ndjson", good, CancellationToken.None);
        Assert.True(applied);
        Assert.Equal(2, stats.Inserted);
        // A chunk stored before chunks carried a checksum (it had a SHA-256, read back as null) is checked by length only.
        Assert.True((await processor.ProcessAsync("legacy", "run.ndjson", good with { Checksum = null }, CancellationToken.None)).Applied);
    }

    [Fact]
    public async Task ProcessAsync_ChunkThisRunAppliedFromOtherBytes_FailsForGoodInsteadOfCountingItDone()
    {
        // The run applied chunk 0 from one download of the feed; the file it now reads is another download with other bytes
        // there (before: the stored counters were returned by index, and the products of the new bytes were never applied).
        var (store, processor, chunk) = await StoredFeedAsync("""
            {"meta":{"updatedAt":3},"result":{"id":"M1"}}

            """);
        await store.ApplyAsync(new ChunkWrite("run", 0, [], [], 1, DateTimeOffset.UnixEpoch, new string('a', 32)));

        var changed = await Assert.ThrowsAsync<FeedChangedException>(() => processor.ProcessAsync("run", "run.ndjson", chunk, CancellationToken.None));

        Assert.IsAssignableFrom<Baton.Retries.NonRetryableException>(changed);
        Assert.Contains($"chunk 0 (lines 1-1) of the feed file has XXH128 {chunk.Checksum}, the chunk this sync took from the feed before had {new string('a', 32)}", changed.Message, StringComparison.Ordinal);
        Assert.Empty(CatalogDb.Products(store.Path));
        // The same bytes, or a chunk stored without a checksum, count as done.
        await store.ApplyAsync(new ChunkWrite("same", 0, [], [], 1, DateTimeOffset.UnixEpoch, chunk.Checksum));
        await store.ApplyAsync(new ChunkWrite("legacy", 0, [], [], 1, DateTimeOffset.UnixEpoch));
        Assert.False((await processor.ProcessAsync("same", "run.ndjson", chunk, CancellationToken.None)).Applied);
        Assert.False((await processor.ProcessAsync("legacy", "run.ndjson", chunk, CancellationToken.None)).Applied);
    }

    /// <summary>A committed feed file of <paramref name="text"/>, a SQLite catalog, a processor over both, and the file as one chunk.</summary>
    private static async Task<(SqliteProductStore Store, ChunkProcessor Processor, ChunkRange Chunk)> StoredFeedAsync(string text)
    {
        var directory = TestPaths.NewTempDirectory();
        var blobs = new LocalBlobStore(Path.Combine(directory, "feeds"));
        var body = Encoding.UTF8.GetBytes(text.ReplaceLineEndings("\n"));
        await using (var partial = await blobs.OpenPartialAsync("run.ndjson", restart: true))
        {
            await partial.WriteAsync(body);
        }

        await blobs.CommitAsync("run.ndjson");
        var store = new SqliteProductStore(Path.Combine(directory, "catalog.db"));
        store.Initialize();
        var processor = new ChunkProcessor(blobs, store, Options.Create(new CatalogSyncOptions()), TimeProvider.System);
        var lines = body.Count(b => b == (byte)'\n');
        return (store, processor, new ChunkRange(0, 0, body.Length, 1, lines, Convert.ToHexStringLower(XxHash128.Hash(body))));
    }

    private static byte[] Body(int lines, bool trailingNewline)
    {
        var text = new StringBuilder();
        for (var i = 1; i <= lines; i++)
        {
            text.Append($$$"""{"meta":{"updatedAt":{{{i}}}},"result":{"id":"M{{{i}}}","name":"{{{new string('x', i % 7)}}}"}}""");
            if (i < lines || trailingNewline)
            {
                text.Append('\n');
            }
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
