using System.Net.Sockets;
using System.Text;

namespace Baton.Testing;

/// <summary>
/// A TCP relay between a client under test (a server process, an in-process node) and a test's Redis that can lose
/// replies: once <see cref="LoseRepliesAfter"/> is armed, the first connection that sends the marker has that command
/// relayed to Redis (which carries it out) and every reply from then on dropped, until <see cref="Cut"/> closes the
/// connection. The client sees its call fail; Redis has
/// done it: an outcome the client cannot know.
/// </summary>
public sealed class ReplyLosingRedisProxy(int redisPort) : TcpRelay("127.0.0.1", redisPort)
{
    private readonly TaskCompletionSource _triggered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[]? _marker;
    private volatile bool _dropMarked;
    private RelayedConnection? _silenced;

    /// <summary>The relay as a <c>REDIS_URL</c>.</summary>
    public string Url => $"redis://127.0.0.1:{Port}";

    /// <summary>The relay in StackExchange.Redis form.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Completes once a command with the marker was relayed (its reply and every later one are being dropped).</summary>
    public Task Triggered => _triggered.Task;

    public void LoseRepliesAfter(string marker) => Arm(marker, dropMarked: false);

    /// <summary>As <see cref="LoseRepliesAfter"/>, but the command with the marker is dropped too: Redis never carries it out.</summary>
    public void LoseCommand(string marker) => Arm(marker, dropMarked: true);

    private void Arm(string marker, bool dropMarked)
    {
        _dropMarked = dropMarked;
        Volatile.Write(ref _marker, Encoding.UTF8.GetBytes(marker));
    }

    /// <summary>Closes the connection whose replies are being dropped.</summary>
    public void Cut()
    {
        if (Volatile.Read(ref _silenced) is { } silenced)
        {
            silenced.Client.Dispose();
            silenced.Server.Dispose();
        }
    }

    protected override async ValueTask<bool> ForwardAsync(RelayedConnection connection, bool toServer, ReadOnlyMemory<byte> chunk, NetworkStream to, CancellationToken cancellationToken)
    {
        if (toServer && Volatile.Read(ref _marker) is { } marker && chunk.Span.IndexOf(marker) >= 0
            && Interlocked.CompareExchange(ref _marker, null, marker) == marker)
        {
            connection.Triggered = true;
            Volatile.Write(ref _silenced, connection);
            if (!_dropMarked)
            {
                await to.WriteAsync(chunk, cancellationToken);
            }

            _triggered.TrySetResult();
            return true;
        }

        if (!toServer && connection.Triggered)
        {
            return true; // dropped
        }

        await to.WriteAsync(chunk, cancellationToken);
        return true;
    }
}
