namespace Baton.Server.Views;

/// <summary>The doctor onboarding app's composite cache, counted by this process since it started.</summary>
/// <param name="Hits">Composite reads answered from Redis.</param>
/// <param name="Misses">Composite reads that went to the services (including every read while Redis is down).</param>
/// <param name="RedisDown">Whether the last Redis call failed.</param>
public sealed record DoctorCacheView(long Hits, long Misses, bool RedisDown);

/// <summary>The doctor onboarding app's state for the dashboard (registered by the app when it is enabled; absent otherwise).</summary>
public interface IDoctorOnboardingView
{
    /// <summary>The cache's hits and misses.</summary>
    DoctorCacheView Cache();
}
