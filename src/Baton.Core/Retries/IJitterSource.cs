namespace Baton.Retries;

/// <summary>Where retry jitter comes from; injected so tests can fix it.</summary>
public interface IJitterSource
{
    /// <summary>A value in [0, 1).</summary>
    double Next();
}

internal sealed class SharedRandomJitter : IJitterSource
{
    public double Next() => Random.Shared.NextDouble();
}
