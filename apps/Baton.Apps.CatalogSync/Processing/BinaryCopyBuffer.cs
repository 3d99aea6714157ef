using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Baton.Apps.CatalogSync.Processing;

/// <summary>
/// Rows of a PostgreSQL binary <c>COPY ... FROM STDIN (FORMAT BINARY)</c>, encoded into one rented buffer and
/// sent to the COPY stream in writes of about <see cref="FlushBytes"/>: the wire format a
/// <c>NpgsqlBinaryImporter</c> writes, without its per-value type resolution, async call and string per
/// column, and with one socket write per ~64 rows instead of one per 8 KB.
/// </summary>
/// <remarks>
/// Format: a 19-byte header, then per row a 16-bit field count and per field a 32-bit length (-1 for NULL)
/// and that many bytes, then a 16-bit -1. All integers big-endian. <c>text</c> and <c>json</c> are their
/// UTF-8 bytes; <c>bigint</c> 8 bytes; <c>timestamptz</c> microseconds since 2000-01-01 UTC as 8 bytes.
/// </remarks>
internal sealed class BinaryCopyBuffer : IDisposable
{
    /// <summary>Bytes gathered before they are written to the COPY stream (256 KiB).</summary>
    public const int FlushBytes = 256 * 1024;

    // Strict, like Npgsql's own text encoding: a string that is not valid UTF-16 fails instead of being changed.
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly long PostgresEpochTicks = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    // Its own small pool, not ArrayPool.Shared: the shared pool's per-thread caches kept a 512 KiB array on
    // each thread-pool thread that ever ran a COPY. Four arrays of up to 4 MiB are kept; bigger ones are dropped.
    private static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(4 * 1024 * 1024, maxArraysPerBucket: 4);

    private byte[] _buffer = Pool.Rent(FlushBytes + (64 * 1024));
    private int _used;

    public BinaryCopyBuffer()
    {
        // "PGCOPY\n\xFF\r\n\0"
        ReadOnlySpan<byte> signature = [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00];
        signature.CopyTo(_buffer);
        // Flags (no OIDs) and the header extension length: both zero.
        _buffer.AsSpan(11, 8).Clear();
        _used = 19;
    }

    /// <summary>The bytes waiting to be written.</summary>
    public ReadOnlySpan<byte> Buffered => _buffer.AsSpan(0, _used);

    public void StartRow(short fields) => BinaryPrimitives.WriteInt16BigEndian(Reserve(2), fields);

    public void Null() => BinaryPrimitives.WriteInt32BigEndian(Reserve(4), -1);

    /// <summary>A <c>text</c> or <c>json</c> value from bytes that are already UTF-8.</summary>
    public void Utf8Text(ReadOnlySpan<byte> utf8)
    {
        var span = Reserve(4 + utf8.Length);
        BinaryPrimitives.WriteInt32BigEndian(span, utf8.Length);
        utf8.CopyTo(span[4..]);
    }

    public void Text(string? value)
    {
        if (value is null)
        {
            Null();
            return;
        }

        var length = Utf8.GetByteCount(value);
        var span = Reserve(4 + length);
        BinaryPrimitives.WriteInt32BigEndian(span, length);
        Utf8.GetBytes(value, span[4..]);
    }

    public void Bigint(long value)
    {
        var span = Reserve(12);
        BinaryPrimitives.WriteInt32BigEndian(span, 8);
        BinaryPrimitives.WriteInt64BigEndian(span[4..], value);
    }

    public void Bigint(long? value)
    {
        if (value is { } v)
        {
            Bigint(v);
        }
        else
        {
            Null();
        }
    }

    /// <param name="value">A UTC time (offset zero), as Npgsql requires for <c>timestamptz</c>.</param>
    public void TimestampTz(DateTimeOffset value)
    {
        if (value.Offset != TimeSpan.Zero)
        {
            throw new ArgumentException($"a timestamptz must be written in UTC, not with offset {value.Offset}", nameof(value));
        }

        Bigint((value.UtcTicks - PostgresEpochTicks) / 10);
    }

    /// <summary>Writes the buffered rows when there are at least <see cref="FlushBytes"/> of them.</summary>
    public ValueTask FlushIfFullAsync(Stream copy, CancellationToken cancellationToken) =>
        _used >= FlushBytes ? FlushAsync(copy, cancellationToken) : ValueTask.CompletedTask;

    /// <summary>Ends the data (the trailer) and writes what is buffered; the caller then disposes the COPY stream to complete it.</summary>
    public async ValueTask CompleteAsync(Stream copy, CancellationToken cancellationToken)
    {
        BinaryPrimitives.WriteInt16BigEndian(Reserve(2), -1);
        await FlushAsync(copy, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            Pool.Return(buffer);
        }
    }

    private async ValueTask FlushAsync(Stream copy, CancellationToken cancellationToken)
    {
        await copy.WriteAsync(_buffer.AsMemory(0, _used), cancellationToken).ConfigureAwait(false);
        _used = 0;
    }

    private Span<byte> Reserve(int bytes)
    {
        if (_buffer.Length - _used < bytes)
        {
            // A row bigger than the buffer (a line near MaxLineBytes): grow, keeping what is buffered.
            var bigger = Pool.Rent(Math.Max(_buffer.Length * 2, _used + bytes));
            _buffer.AsSpan(0, _used).CopyTo(bigger);
            Pool.Return(_buffer);
            _buffer = bigger;
        }

        var span = _buffer.AsSpan(_used, bytes);
        _used += bytes;
        return span;
    }
}
