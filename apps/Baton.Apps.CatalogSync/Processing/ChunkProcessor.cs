using System.IO.Hashing;
using Baton.Apps.CatalogSync.Blobs;
using Baton.Apps.CatalogSync.Fetch;
using Microsoft.Extensions.Options;

namespace Baton.Apps.CatalogSync.Processing;

/// <summary>
/// Processes one chunk: reads its byte range of the feed file, checks it against the chunk's length and
/// XXH128 checksum from the download before anything is applied, scans every line for its id and
/// meta.updatedAt (outside any transaction; a line that does not scan is parsed for its dead-letter reason),
/// then applies the products, the dead letters and the chunk's counters in one transaction of the product
/// store (SQLite or PostgreSQL). Idempotent: a chunk this run already committed returns its stored counters.
/// </summary>
/// <remarks>
/// A chunk of up to <see cref="ChunkBuffer.MaxBytes"/> is read into one <see cref="ChunkBuffer"/> and its
/// lines stay slices of it until the chunk is applied: nothing is copied or allocated per line but the id.
/// A bigger one (lines near <c>MaxLineBytes</c>) streams through a <see cref="LineReader"/>, each kept line
/// copied out of the reader's buffer.
/// </remarks>
internal sealed class ChunkProcessor(IBlobStore blobs, IProductStore store, IOptions<CatalogSyncOptions> options, TimeProvider time)
{
    public async Task<(ChunkStats Stats, bool Applied)> ProcessAsync(string runId, string blob, ChunkRange chunk, CancellationToken cancellationToken)
    {
        if (await store.StoredChunkAsync(runId, chunk.Index, cancellationToken).ConfigureAwait(false) is { } stored)
        {
            // Applied before, maybe from another download of the feed (a retry after the file was removed, another node):
            // only the same bytes count as done.
            if (stored.Checksum is not null && chunk.Checksum is not null && !string.Equals(stored.Checksum, chunk.Checksum, StringComparison.Ordinal))
            {
                throw FeedChangedException.ChunkDiffers(chunk, stored.Checksum);
            }

            return (stored.Stats, false);
        }

        var settings = options.Value;
        if (settings.ChunkDelay > TimeSpan.Zero)
        {
            await Task.Delay(settings.ChunkDelay, time, cancellationToken).ConfigureAwait(false);
        }

        var lines = new ChunkLines(chunk, settings.MaxLineBytes);
        using var buffer = ChunkBuffer.TryRent(chunk.End - chunk.Start);
        await using (var stream = await blobs.OpenReadAsync(blob, chunk.Start, chunk.End - chunk.Start, cancellationToken).ConfigureAwait(false))
        {
            if (buffer is not null)
            {
                var read = await ReadFullyAsync(stream, buffer, cancellationToken).ConfigureAwait(false);
                CheckBytes(blob, chunk, read, XxHash128.Hash(buffer.Array.AsSpan(0, (int)read)));
                lines.AddAll(buffer.Array.AsMemory(0, (int)read));
            }
            else
            {
                await using var hashing = new HashingReadStream(stream);
                using var reader = new LineReader(hashing, settings.MaxLineBytes);
                await foreach (var line in reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    // The reader's buffer is reused for the next line: a kept line gets its own copy.
                    lines.Add(line.Bytes, line.Offset, line.HasNewline, line.TooLong, line.Length, copy: true);
                }

                CheckBytes(blob, chunk, hashing.BytesRead, hashing.Hash());
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var stats = await store.ApplyAsync(new ChunkWrite(runId, chunk.Index, lines.Products, lines.DeadLetters, lines.Blank, time.GetUtcNow(), chunk.Checksum), cancellationToken).ConfigureAwait(false);
        return (stats, true);
    }

    /// <summary>Reads the chunk's bytes into the buffer; returns how many there were (fewer than expected if the file was cut).</summary>
    private static async Task<long> ReadFullyAsync(Stream stream, ChunkBuffer buffer, CancellationToken cancellationToken)
    {
        var memory = buffer.Array.AsMemory(0, buffer.Length);
        var read = 0;
        int n;
        while (read < memory.Length && (n = await stream.ReadAsync(memory[read..], cancellationToken).ConfigureAwait(false)) > 0)
        {
            read += n;
        }

        return read;
    }

    /// <summary>Nothing is applied from bytes other than those downloaded (a file cut short, changed or overwritten).</summary>
    private static void CheckBytes(string blob, ChunkRange chunk, long read, byte[] hash)
    {
        var expected = chunk.End - chunk.Start;
        if (read == expected && (chunk.Checksum is null || Convert.ToHexStringLower(hash) == chunk.Checksum))
        {
            return;
        }

        throw new ChunkChangedException($"chunk {chunk.Index} (bytes {chunk.Start}-{chunk.End} of {blob}) does not match the bytes downloaded: read {read} bytes with XXH128 {Convert.ToHexStringLower(hash)}, expected {expected} with {chunk.Checksum}");
    }

    /// <summary>The lines of a chunk sorted into products, dead letters and blank lines, in file order.</summary>
    private sealed class ChunkLines(ChunkRange chunk, int maxLineBytes)
    {
        private long _lineNumber = chunk.FirstLine;

        public List<ParsedLine> Products { get; } = new(chunk.Lines);

        public List<DeadLetter> DeadLetters { get; } = [];

        public long Blank { get; private set; }

        /// <summary>Splits <paramref name="bytes"/> (the whole chunk, which outlives the lines) at its newlines, as <see cref="LineReader"/> would.</summary>
        public void AddAll(ReadOnlyMemory<byte> bytes)
        {
            var at = 0;
            while (at < bytes.Length)
            {
                var newline = bytes.Span[at..].IndexOf((byte)'\n');
                var length = newline >= 0 ? newline : bytes.Length - at;
                var line = bytes.Slice(at, length);
                if (newline >= 0 && length > 0 && line.Span[^1] == (byte)'\r' && length <= maxLineBytes)
                {
                    line = line[..^1];
                }

                var tooLong = length > maxLineBytes;
                Add(tooLong ? line[..Math.Min(200, length)] : line, at, newline >= 0, tooLong, length, copy: false);
                at += length + (newline >= 0 ? 1 : 0);
            }
        }

        /// <param name="bytes">The line without its line ending (an over-long line: its head).</param>
        /// <param name="offset">Its offset in the chunk.</param>
        /// <param name="copy">Whether <paramref name="bytes"/> is reused after this call, so a kept line needs its own copy.</param>
        public void Add(ReadOnlyMemory<byte> bytes, long offset, bool hasNewline, bool tooLong, long length, bool copy)
        {
            var number = _lineNumber++;
            offset += chunk.Start;
            if (tooLong)
            {
                DeadLetters.Add(new DeadLetter(number, offset, $"line of {length} bytes is longer than the limit of {maxLineBytes} bytes", bytes.ToArray()));
                return;
            }

            if (offset == 0 && bytes.Span.StartsWith("\uFEFF"u8))
            {
                bytes = bytes[3..];
            }

            if (bytes.Span.Trim(" \t\r"u8).IsEmpty)
            {
                Blank++;
                return;
            }

            if (ProductScanner.TryScan(bytes.Span, out var id, out var updatedAt))
            {
                Products.Add(new ParsedLine(number, offset, id, updatedAt, copy ? bytes.ToArray() : bytes));
                return;
            }

            var product = ProductParser.Parse(bytes, out var reason);
            if (product is null)
            {
                DeadLetters.Add(new DeadLetter(number, offset, hasNewline ? reason! : $"truncated last line (no newline at the end of the file): {reason}", ProductParser.Head(bytes.Span)));
                return;
            }

            Products.Add(new ParsedLine(number, offset, copy ? bytes.ToArray() : bytes, product));
        }
    }
}

/// <summary>A chunk's bytes in the blob store differ from those downloaded. Retried: the file may be being rewritten.</summary>
public sealed class ChunkChangedException(string message) : Exception(message);
