namespace Baton.Runs;

/// <summary>
/// Waits for runs to end. A run executed on this node is seen the moment its execution ends (an in-process signal,
/// then one read of the run by id); a run executed by another node is seen by reading it every poll interval.
/// </summary>
public interface IRunCompletions
{
    /// <summary>
    /// Completes with the run once it is in a final state (<see cref="RunStatusExtensions.IsTerminal"/>): at once if it
    /// already is, or null if no run has the id. The run is read again whenever an execution of it on this node ends
    /// and every <paramref name="pollInterval"/> (the default is 1 s) otherwise, on the engine's <see cref="TimeProvider"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pollInterval"/> is not positive.</exception>
    Task<RunInfo?> WaitForEndAsync(string runId, TimeSpan? pollInterval = null, CancellationToken cancellationToken = default);
}
