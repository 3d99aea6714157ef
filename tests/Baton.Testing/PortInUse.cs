namespace Baton.Testing;

/// <summary>
/// A private server's start refused because a port it was given is in use, as the server's own output says (its bind
/// error), never guessed from a timeout. <see cref="PortsTried"/> are the ports of the refused start (all attempts' ports
/// when thrown by <see cref="PortInUse.RetryOnNewPortsAsync{T}"/> after its last attempt).
/// </summary>
public sealed class PortInUseException(string message, IReadOnlyList<int> portsTried, Exception? innerException = null)
    : InvalidOperationException(message, innerException)
{
    public IReadOnlyList<int> PortsTried { get; } = portsTried;
}

/// <summary>
/// The start of a private server (<see cref="PrivateRedis"/>, <see cref="PostgresCluster"/>, <see cref="PrivateRabbitMq"/>)
/// on ports from <see cref="Ports.Free"/>. Those were free when chosen, but they come from the ephemeral range, so
/// another process's outgoing connection can take one before the server binds it (CI 2026-12-07, a RabbitMQ node:
/// "dist_port_already_used ... not_erlang"): a start refused for a port in use is tried again on new ports.
/// </summary>
public static class PortInUse
{
    /// <summary>Starts in all: the first and two more on new ports.</summary>
    public const int Attempts = 3;

    /// <summary>
    /// Runs <paramref name="startOnNewPorts"/> (which chooses its ports anew each time and cleans up what a refused start
    /// left) until it does not throw <see cref="PortInUseException"/>, <see cref="Attempts"/> times at most; after the
    /// last refusal throws a <see cref="PortInUseException"/> naming every port tried. Any other failure is thrown at once.
    /// </summary>
    public static async Task<T> RetryOnNewPortsAsync<T>(string server, Func<Task<T>> startOnNewPorts)
    {
        var refused = new List<PortInUseException>();
        while (true)
        {
            try
            {
                return await startOnNewPorts();
            }
            catch (PortInUseException ex)
            {
                refused.Add(ex);
                if (refused.Count == Attempts)
                {
                    var tried = string.Join("; ", refused.Select(r => string.Join(", ", r.PortsTried)));
                    throw new PortInUseException(
                        $"{server} did not start: each of its {Attempts} starts was refused for a port in use (ports tried: {tried}). The last: {ex.Message}",
                        [.. refused.SelectMany(r => r.PortsTried)],
                        ex);
                }
            }
        }
    }
}
