namespace Baton.Scheduling;

/// <summary>What a schedule does with fire times it missed (the node was down or busy).</summary>
public enum MisfirePolicy
{
    /// <summary>Missed fire times are dropped; the next run is the next future fire time. The default.</summary>
    Skip = 0,
    /// <summary>One run is started for all missed fire times together, then the schedule goes on.</summary>
    RunOnce = 1,
}
