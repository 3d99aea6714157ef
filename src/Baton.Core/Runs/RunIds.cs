namespace Baton.Runs;

/// <summary>
/// Run ids: UUIDv7 as 32 lower-case hex digits. The first 12 digits are the creation time in Unix
/// milliseconds, so ids sort by creation time: listing newest first walks the primary key, and
/// <see cref="LowestAt"/> gives a bound for "created before".
/// </summary>
internal static class RunIds
{
    public static string New(DateTimeOffset now) => Guid.CreateVersion7(now).ToString("N");

    /// <summary>An id that sorts below every id made at or after <paramref name="time"/> and above every id made before it.</summary>
    public static string LowestAt(DateTimeOffset time) =>
        Math.Max(0, time.ToUnixTimeMilliseconds()).ToString("x12", System.Globalization.CultureInfo.InvariantCulture) + new string('0', 20);
}
