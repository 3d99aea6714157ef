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
    private const int BytesPerId = 10; // 19 nibbles used: 74 random bits
    private const int BufferSize = BytesPerId * 256;

    [ThreadStatic]
    private static byte[]? t_random;

    [ThreadStatic]
    private static int t_next;

    public static string New(DateTimeOffset now)
    {
        var random = NextRandom();
        Span<char> chars = stackalloc char[32];
        // unix_ts_ms: 48 bits, 12 digits.
        var ms = Math.Max(0, now.ToUnixTimeMilliseconds());
        for (var i = 11; i >= 0; i--, ms >>= 4)
        {
            chars[i] = Hex((int)(ms & 0xF));
        }

        chars[12] = '7'; // version
        chars[13] = Hex(Nibble(random, 0)); // rand_a: 12 bits
        chars[14] = Hex(Nibble(random, 1));
        chars[15] = Hex(Nibble(random, 2));
        chars[16] = Hex(0x8 | (Nibble(random, 3) & 0x3)); // variant 10, then the first 2 of rand_b's 62 bits
        for (var i = 17; i < 32; i++)
        {
            chars[i] = Hex(Nibble(random, i - 13));
        }

        return new string(chars);
    }

    /// <summary>An id that sorts below every id made at or after <paramref name="time"/> and above every id made before it.</summary>
    public static string LowestAt(DateTimeOffset time) =>
        Math.Max(0, time.ToUnixTimeMilliseconds()).ToString("x12", CultureInfo.InvariantCulture) + new string('0', 20);

    private static ReadOnlySpan<byte> NextRandom()
    {
        var buffer = t_random;
        if (buffer is null || t_next == BufferSize)
        {
            buffer = t_random ??= new byte[BufferSize];
            RandomNumberGenerator.Fill(buffer);
            t_next = 0;
        }

        var span = buffer.AsSpan(t_next, BytesPerId);
        t_next += BytesPerId;
        return span;
    }

    private static int Nibble(ReadOnlySpan<byte> bytes, int index) =>
        (index & 1) == 0 ? bytes[index >> 1] >> 4 : bytes[index >> 1] & 0xF;

    private static char Hex(int nibble) => "0123456789abcdef"[nibble];
}
