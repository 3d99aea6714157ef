using Baton.Apps.CatalogSync.Blobs;
using Baton.Apps.CatalogSync.Fetch;
using Microsoft.Extensions.Options;

namespace Baton.Apps.CatalogSync.Processing;

/// <summary>
/// Processes one chunk: reads its byte range of the feed file line by line, scans every line for its id
/// and meta.updatedAt (outside any transaction; a line that does not scan is parsed for its dead-letter reason), then applies the products, the dead letters and the chunk's counters in one
/// transaction of the product store (SQLite or PostgreSQL). The bytes read are checked against the chunk's
/// length and SHA-256 from the download before anything is applied. Idempotent: a chunk this run already committed returns its stored counters.
/// </summary>
internal sealed class ChunkProcessor(IBlobStore blobs, IProductStore store, IOptions<CatalogSyncOptions> options, TimeProvider time)
{
    public async Task<(ChunkStats Stats, bool Applied)> ProcessAsync(string runId, string blob, ChunkRange chunk, CancellationToken cancellationToken)
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

        // The lines kept for the store live in the arena until the chunk is applied.
        using var arena = new LineArena(chunk.End - chunk.Start);
        var products = new List<ParsedLine>(chunk.Lines);
        var dead = new List<DeadLetter>();
        long blank = 0;
        var lineNumber = chunk.FirstLine;
        await using (var stream = new HashingReadStream(await blobs.OpenReadAsync(blob, chunk.Start, chunk.End - chunk.Start, cancellationToken).ConfigureAwait(false)))
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
                    products.Add(new ParsedLine(number, offset, id, updatedAt, arena.Keep(bytes.Span)));
                    continue;
                }

                var product = ProductParser.Parse(bytes, out var reason);
                if (product is null)
                {
                    var lastLine = !line.HasNewline;
                    dead.Add(new DeadLetter(number, offset, lastLine ? $"truncated last line (no newline at the end of the file): {reason}" : reason!, ProductParser.Head(bytes.Span)));
                    continue;
                }

                products.Add(new ParsedLine(number, offset, arena.Keep(bytes.Span), product));
            }

            // Nothing is applied from bytes other than those downloaded (a file cut short, changed or overwritten).
            if (stream.BytesRead != chunk.End - chunk.Start || (chunk.Checksum is not null && stream.Checksum() != chunk.Checksum))
            {
                throw new ChunkChangedException($"chunk {chunk.Index} (bytes {chunk.Start}-{chunk.End} of {blob}) does not match the bytes downloaded: read {stream.BytesRead} bytes with XXH128 {stream.Checksum()}, expected {chunk.End - chunk.Start} with {chunk.Checksum}");
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var stats = await store.ApplyAsync(new ChunkWrite(runId, chunk.Index, products, dead, blank, time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        return (stats, true);
    }
}

/// <summary>A chunk's bytes in the blob store differ from those downloaded. Retried: the file may be being rewritten.</summary>
public sealed class ChunkChangedException(string message) : Exception(message);
