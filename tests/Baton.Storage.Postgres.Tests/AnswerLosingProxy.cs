using System.Net.Sockets;
using System.Text;
using Baton.Storage.Postgres.Internal;
using Baton.Testing;
using Npgsql;

namespace Baton.Storage.Postgres.Tests;

/// <summary>
/// A TCP relay between a store and the test's PostgreSQL that can lose one answer: once <see cref="CutAfterCommit"/> is
/// armed, the first connection that sends the marker (a run id in a statement's parameters) has its traffic relayed
/// until the server ends a transaction (ReadyForQuery with status idle: the commit is done), and that answer is dropped
/// with the connection. The client sees its connection break; the server has committed: an outcome the client cannot
/// know. TLS is off on the relayed connections so the marker can be seen.
/// </summary>
internal sealed class AnswerLosingProxy : TcpRelay
{
    // ReadyForQuery, length 5, transaction status 'I' (idle): what the server sends last after a commit.
    private static readonly byte[] Committed = [(byte)'Z', 0, 0, 0, 5, (byte)'I'];

    private byte[]? _marker;

    public AnswerLosingProxy(string connectionString)
        : this(new NpgsqlConnectionStringBuilder(connectionString))
    {
    }

    private AnswerLosingProxy(NpgsqlConnectionStringBuilder target)
        : base(target.Host ?? "127.0.0.1", target.Port)
    {
        ConnectionString = new NpgsqlConnectionStringBuilder(target.ConnectionString)
        {
            Host = "127.0.0.1",
            Port = Port,
            SslMode = SslMode.Disable,
        }.ConnectionString;
    }

    /// <summary>The target's connection string with the relay as its server.</summary>
    public string ConnectionString { get; }

    /// <summary>An initialized store in <paramref name="schema"/> whose connections go through this relay.</summary>
    public async Task<PostgresBatonStore> NewStoreAsync(string schema)
    {
        var store = new PostgresBatonStore(
            new PostgresStoreOptions
            {
                ConnectionString = new NpgsqlConnectionStringBuilder(ConnectionString) { MaxPoolSize = 8 }.ConnectionString,
                Schema = schema,
            },
            TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await store.InitializeAsync();
        return store;
    }

    /// <summary>Completes once an answer has been dropped.</summary>
    public TaskCompletionSource Cut { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Drops the commit answer of the first connection to send <paramref name="marker"/> from now on.</summary>
    public void CutAfterCommit(string marker) => Volatile.Write(ref _marker, Encoding.UTF8.GetBytes(marker));

    protected override async ValueTask<bool> ForwardAsync(RelayedConnection connection, bool toServer, ReadOnlyMemory<byte> chunk, NetworkStream to, CancellationToken cancellationToken)
    {
        if (toServer && Volatile.Read(ref _marker) is { } marker && chunk.Span.IndexOf(marker) >= 0
            && Interlocked.CompareExchange(ref _marker, null, marker) == marker)
        {
            connection.Triggered = true;
        }

        if (!toServer && connection.Triggered && chunk.Span.EndsWith(Committed))
        {
            // The server has committed; its answer is dropped with the connection.
            Cut.TrySetResult();
            return false;
        }

        await to.WriteAsync(chunk, cancellationToken);
        return true;
    }
}
