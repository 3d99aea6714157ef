using Baton.Apps.CatalogSync.Blobs;
using Baton.Apps.CatalogSync.Fetch;
using Microsoft.Extensions.Options;

namespace Baton.Apps.CatalogSync.Processing;

/// <summary>
/// Processes one chunk: reads its byte range of the feed file line by line, scans every line for its id
/// and meta.updatedAt (outside any transaction; a line that does not scan is parsed for its dead-letter reason), then applies the products, the dead letters and the chunk's counters in one
/// transaction of the product store (SQLite or PostgreSQL). Idempotent: a chunk this run already committed returns its stored counters.
/// </summary>
internal sealed class ChunkProcessor(IBlobStore blobs, IProductStore store, IOptions<CatalogSyncOptions> options, TimeProvider time)
{
    public async Task<(ChunkStats Stats, bool Applied)> ProcessAsync(string runId, FeedFile file, ChunkRange chunk, CancellationToken cancellationToken)
    {
        if (await store.StoredChunkAsync(runId, chunk.Index, cancellationToken).ConfigureAwait(false) is { } stored)
        {
            return (stored, false);
        }

        var settings = options.Value;
        if (settings.ChunkDelay > TimeSpan.Zero)
        {
            await Task.Delay(settings.ChunkDelay, time, cancellationToken).ConfigureAwait(false);
        }

        var products = new List<ParsedLine>(chunk.Lines);
        var dead = new List<DeadLetter>();
        long blank = 0;
        var lineNumber = chunk.FirstLine;
        await using (var stream = await blobs.OpenReadAsync(file.Blob, chunk.Start, chunk.End - chunk.Start, cancellationToken).ConfigureAwait(false))
        {
            using var reader = new LineReader(stream, settings.MaxLineBytes);
            await foreach (var line in reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var number = lineNumber++;
                var offset = chunk.Start + line.Offset;
                if (line.TooLong)
                {
                    dead.Add(new DeadLetter(number, offset, $"line of {line.Length} bytes is longer than the limit of {settings.MaxLineBytes} bytes", line.Bytes.ToArray()));
                    continue;
                }

                var bytes = line.Bytes;
                if (offset == 0 && bytes.Span.StartsWith("\uFEFF"u8))
                {
                    bytes = bytes[3..];
                }

                if (bytes.Span.Trim(" \t\r"u8).IsEmpty)
                {
                    blank++;
                    continue;
                }

                // The reader's buffer is reused for the next line: the line keeps its own copy.
                if (ProductScanner.TryScan(bytes.Span, out var id, out var updatedAt))
                {
                    products.Add(new ParsedLine(number, offset, id, updatedAt, bytes.ToArray()));
                    continue;
                }

                var product = ProductParser.Parse(bytes, out var reason);
                if (product is null)
                {
                    var lastLine = !line.HasNewline && chunk.End == file.Length;
                    dead.Add(new DeadLetter(number, offset, lastLine ? $"truncated last line (no newline at the end of the file): {reason}" : reason!, ProductParser.Head(bytes.Span)));
                    continue;
                }

                products.Add(new ParsedLine(number, offset, bytes.ToArray(), product));
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var stats = await store.ApplyAsync(new ChunkWrite(runId, chunk.Index, products, dead, blank, time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        return (stats, true);
    }
}
