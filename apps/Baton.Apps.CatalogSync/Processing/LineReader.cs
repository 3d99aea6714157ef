using System.Buffers;

namespace Baton.Apps.CatalogSync.Processing;

/// <summary>
/// Splits a stream into lines without holding more than one line (at most <c>maxLineBytes</c>) in memory.
/// A longer line is reported as over-long with its first bytes, and skipped to its end. The buffer (about
/// <c>maxLineBytes</c>, 1 MiB by default) is rented and returned on dispose rather than allocated per chunk,
/// as a large object only a full GC reclaims. The lines read are views into it, valid until the next line is read.
/// </summary>
internal sealed class LineReader(Stream stream, int maxLineBytes) : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(maxLineBytes + 2, 1 << 16) + (1 << 16));
    private int _start;
    private int _end;
    private bool _eof;
    private long _consumed;

    /// <summary>A line: its bytes (no line ending), its offset in the stream, whether a newline ended it, whether it was over-long (then Bytes is its head).</summary>
    public readonly record struct Line(ReadOnlyMemory<byte> Bytes, long Offset, bool HasNewline, bool TooLong, long Length);

    public async IAsyncEnumerable<Line> ReadAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var skipping = false;
        Line skipped = default;
        while (true)
        {
            var newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var offset = _consumed;
                var length = newline;
                _start += newline + 1;
                _consumed += newline + 1;
                if (skipping)
                {
                    skipping = false;
                    yield return skipped with { HasNewline = true, Length = skipped.Length + length };
                    continue;
                }

                var bytes = _buffer.AsMemory(_start - newline - 1, length);
                if (length > 0 && bytes.Span[^1] == (byte)'\r')
                {
                    bytes = bytes[..^1];
                }

                yield return new Line(bytes, offset, true, false, length);
                continue;
            }

            if (_end - _start > maxLineBytes && !skipping)
            {
                skipping = true;
                skipped = new Line(_buffer.AsSpan(_start, Math.Min(200, _end - _start)).ToArray(), _consumed, false, true, 0);
            }

            if (skipping)
            {
                skipped = skipped with { Length = skipped.Length + (_end - _start) };
                _consumed += _end - _start;
                _start = _end;
            }

            if (_eof)
            {
                if (skipping)
                {
                    yield return skipped;
                }
                else if (_end > _start)
                {
                    var length = _end - _start;
                    var offset = _consumed;
                    _consumed += length;
                    var bytes = _buffer.AsMemory(_start, length);
                    _start = _end;
                    yield return new Line(bytes, offset, false, false, length);
                }

                yield break;
            }

            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _eof = true;
            }

            _end += read;
        }
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
