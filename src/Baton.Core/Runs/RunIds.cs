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
/// <para>
/// Within one millisecond the 12 bits after the version digit are a counter (RFC 9562 §6.2, method 1): the
/// first id of a millisecond starts it at a random value below 2,048 and each further id made by this instance
/// (one per engine) in the same millisecond adds one, so ids made one after another sort in the order they were made (at least
/// 2,048 per millisecond; past 4,095 the counter starts again from a random value). A clock that moves to
/// another millisecond, forwards or back, starts a new count: nothing here runs ahead of the clock it is given.
/// </para>
/// <para>
/// The 62 random bits come from a per-thread buffer filled by <see cref="RandomNumberGenerator"/> 256 ids at
/// a time. <see cref="Guid.CreateVersion7()"/> reads <c>/dev/urandom</c> once per id on Linux, a system call
/// for every run started (about 2 µs here, more under load).
/// </para>
/// </remarks>
internal sealed class RunIds
{
    private const int BytesPerId = 10; // 11 bits seed the counter, 62 fill rand_b
    private const long CounterMask = 0xFFF;
    private const int BufferSize = BytesPerId * 256;

    /// <summary>The last id's millisecond shifted left 12 bits, or-ed with its counter.</summary>
    private long _last;

    [ThreadStatic]
    private static byte[]? t_random;

    [ThreadStatic]
    private static int t_next;

    public string New(DateTimeOffset now)
    {
        var random = NextRandom();
        var ms = Math.Max(0, now.ToUnixTimeMilliseconds());
        var counter = NextCounter(ms, ((random[0] & 0x07) << 8) | random[1]);
        Span<byte> uuid = stackalloc byte[16];
        // unix_ts_ms in the first 48 bits, big-endian; the 16 bits after it are overwritten below.
        BinaryPrimitives.WriteUInt64BigEndian(uuid, (ulong)ms << 16);
        uuid[6] = (byte)(0x70 | (counter >> 8)); // version 7, then rand_a's 12 bits: the counter
        uuid[7] = (byte)counter;
        uuid[8] = (byte)(0x80 | (random[2] & 0x3F)); // variant 10, then rand_b's 62 bits
        random[3..].CopyTo(uuid[9..]);
        return Convert.ToHexStringLower(uuid);
    }

    /// <summary>An id that sorts below every id made at or after <paramref name="time"/> and above every id made before it.</summary>
    public static string LowestAt(DateTimeOffset time) =>
        Math.Max(0, time.ToUnixTimeMilliseconds()).ToString("x12", CultureInfo.InvariantCulture) + new string('0', 20);

    private int NextCounter(long ms, int seed)
    {
        while (true)
        {
            var last = Volatile.Read(ref _last);
            var next = (last >> 12) == ms && (last & CounterMask) < CounterMask ? last + 1 : (ms << 12) | (long)seed;
            if (Interlocked.CompareExchange(ref _last, next, last) == last)
            {
                return (int)(next & CounterMask);
            }
        }
    }

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
