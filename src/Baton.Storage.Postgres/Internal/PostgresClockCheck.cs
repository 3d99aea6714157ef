using Microsoft.Extensions.Logging;

namespace Baton.Storage.Postgres.Internal;

/// <summary>
/// Compares a node's clock with the PostgreSQL server's at each heartbeat. Leases, due times and schedule fires are
/// compared with each node's own clock: a node more than about 20 s ahead (the 30 s lease less its 10 s renewal) takes
/// runs that live nodes hold, and one far behind lets its own leases lapse for the others. Nothing else would tell an
/// operator why runs were taken over. A difference beyond <see cref="Tolerance"/> is logged as a warning when it is
/// first seen and again when it moves by more than the tolerance; its return within <see cref="BackWithin"/> is logged once.
/// </summary>
internal sealed class PostgresClockCheck(ILogger logger)
{
    /// <summary>A quarter of the 20 s margin a node's clock has before it takes live nodes' runs.</summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How close a reported clock must come back before it is said to be back: half the tolerance, so a skew that hovers
    /// at the tolerance (each estimate off by a few milliseconds of round trip) is not reported, then back, at every heartbeat.
    /// </summary>
    public static readonly TimeSpan BackWithin = Tolerance / 2;

    private readonly Lock _gate = new();
    private TimeSpan? _reported;

    /// <summary>
    /// Records one comparison: <paramref name="nodeTime"/> is the node's clock at the moment the server read its own,
    /// <paramref name="serverTime"/>, give or take <paramref name="uncertainty"/> (half the round trip: the server read its
    /// clock somewhere in it, after any lock wait and before the commit's flush). A skew is reported only when it passes the
    /// tolerance by more than that, and said to be back only when it is within <see cref="BackWithin"/> by more than that:
    /// a heartbeat stalled 12 s by an overloaded server is no evidence of a wrong clock. Returns the node's clock less the
    /// server's (positive: the node is ahead).
    /// </summary>
    public TimeSpan Observe(string nodeId, DateTimeOffset nodeTime, DateTimeOffset serverTime, TimeSpan uncertainty = default)
    {
        var skew = nodeTime - serverTime;
        lock (_gate)
        {
            var size = skew.Duration();
            if (_reported is not null && size + uncertainty <= BackWithin)
            {
                _reported = null;
                Log.ClockBackInTolerance(logger, nodeId, skew.TotalSeconds);
            }
            else if (size - uncertainty > Tolerance && (_reported is not { } reported || (skew - reported).Duration() > Tolerance))
            {
                _reported = skew;
                Log.ClockSkewed(logger, nodeId, size.TotalSeconds, skew > TimeSpan.Zero ? "ahead of" : "behind", serverTime);
            }
        }

        return skew;
    }
}
