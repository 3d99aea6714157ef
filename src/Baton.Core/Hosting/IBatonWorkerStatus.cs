namespace Baton.Hosting;

/// <summary>What a host's readiness probe needs to know about this node's worker.</summary>
public interface IBatonWorkerStatus
{
    /// <summary>Whether this node executes runs (<see cref="BatonOptions.RunWorker"/>).</summary>
    bool Enabled { get; }

    /// <summary>True while the claim loop runs: after start, before shutdown begins.</summary>
    bool IsRunning { get; }

    /// <summary>Runs executing on this node now.</summary>
    int ActiveRuns { get; }
}
