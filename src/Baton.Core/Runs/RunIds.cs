using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;

namespace Baton.Runs;

/// <summary>
/// Run ids: UUIDv7 (RFC 9562) as 32 lower-case hex digits. The first 12 digits are the creation time in
/// Unix milliseconds, so ids sort by creation time: listing newest first walks the primary key, and
/// <see cref="LowestAt"/> gives a bound for "created before".
/// </summary>
/// <remarks>
/// The 74 random bits come from a per-thread buffer filled by <see cref="RandomNumberGenerator"/> 256 ids at
/// a time. <see cref="Guid.CreateVersion7()"/> reads <c>/dev/urandom</c> once per id on Linux, a system call
/// for every run started (about 2 µs here, more under load).
/// </remarks>
internal static class RunIds
{
    private const int BytesPerId = 10; // 74 random bits used of the 80
    private const int BufferSize = BytesPerId * 256;

    [ThreadStatic]
    private static byte[]? t_random;

    [ThreadStatic]
    private static int t_next;

    public static string New(DateTimeOffset now)
    {
        var random = NextRandom();
        Span<byte> uuid = stackalloc byte[16];
        // unix_ts_ms in the first 48 bits, big-endian; the 16 bits after it are overwritten below.
        BinaryPrimitives.WriteUInt64BigEndian(uuid, (ulong)Math.Max(0, now.ToUnixTimeMilliseconds()) << 16);
        uuid[6] = (byte)(0x70 | (random[0] & 0x0F)); // version 7, then rand_a's 12 bits
        uuid[7] = random[1];
        uuid[8] = (byte)(0x80 | (random[2] & 0x3F)); // variant 10, then rand_b's 62 bits
        random[3..].CopyTo(uuid[9..]);
        return Convert.ToHexStringLower(uuid);
    }

    /// <summary>An id that sorts below every id made at or after <paramref name="time"/> and above every id made before it.</summary>
    public static string LowestAt(DateTimeOffset time) =>
        Math.Max(0, time.ToUnixTimeMilliseconds()).ToString("x12", CultureInfo.InvariantCulture) + new string('0', 20);

    private static ReadOnlySpan<byte> NextRandom()
    {
        if (t_random is null || t_next == BufferSize)
        {
            t_random ??= new byte[BufferSize];
            RandomNumberGenerator.Fill(t_random);
            t_next = 0;
        }

        var span = t_random.AsSpan(t_next, BytesPerId);
        t_next += BytesPerId;
        return span;
    }
}
