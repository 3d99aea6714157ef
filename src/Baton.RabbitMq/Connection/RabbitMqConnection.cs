using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Baton.RabbitMq.Connection;

/// <summary>
/// Opens the shared connection once (a failed first attempt is retried by the next caller) and logs outages once each:
/// one line when the connection is lost, one when it has recovered, whatever the number of messages in between.
/// </summary>
internal sealed class RabbitMqConnection(IOptions<RabbitMqOptions> options, ILogger<RabbitMqConnection> logger) : IRabbitMqConnection, IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly RabbitMqOptions _options = options.Value;
    private IConnection? _connection;
    private int _down;
    private int _unreachableLogged;
    private bool _disposed;

    public string DisplayAddress { get; } = Redact(options.Value.Url);

    public async Task<IConnection> GetAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _connection) is { } open)
        {
            return open;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_connection is not null)
            {
                return _connection;
            }

            var factory = new ConnectionFactory
            {
                Uri = new Uri(_options.Url),
                AutomaticRecoveryEnabled = true,
                TopologyRecoveryEnabled = true,
                NetworkRecoveryInterval = _options.RecoveryInterval,
                RequestedHeartbeat = TimeSpan.FromSeconds(10),
                ClientProvidedName = _options.ClientName,
            };
            IConnection connection;
            try
            {
                connection = await factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                if (Interlocked.Exchange(ref _unreachableLogged, 1) == 0)
                {
                    Log.BrokerUnreachable(logger, DisplayAddress, ex.Message);
                }

                // The exception text may quote the URL: rethrow without it.
                throw new RabbitMqUnavailableException($"RabbitMQ at {DisplayAddress} cannot be reached: {Redacted(ex.Message)}");
            }

            Interlocked.Exchange(ref _unreachableLogged, 0);
            connection.ConnectionShutdownAsync += OnShutdownAsync;
            connection.RecoverySucceededAsync += OnRecoveredAsync;
            Log.Connected(logger, DisplayAddress);
            Volatile.Write(ref _connection, connection);
            return connection;
        }
        finally
        {
            _gate.Release();
        }
    }

    private Task OnShutdownAsync(object sender, ShutdownEventArgs args)
    {
        if (!_disposed && Interlocked.Exchange(ref _down, 1) == 0)
        {
            Log.ConnectionLost(logger, DisplayAddress, args.ReplyText);
        }

        return Task.CompletedTask;
    }

    private Task OnRecoveredAsync(object sender, AsyncEventArgs args)
    {
        if (Interlocked.Exchange(ref _down, 0) == 1)
        {
            Log.ConnectionRecovered(logger, DisplayAddress);
        }

        return Task.CompletedTask;
    }

    private string Redacted(string text)
    {
        var uri = new Uri(_options.Url);
        return uri.UserInfo is { Length: > 0 } info ? text.Replace(info, uri.UserInfo.Split(':')[0], StringComparison.Ordinal) : text;
    }

    /// <summary><c>amqp://user@host:port/vhost</c>: the URL without its password.</summary>
    internal static string Redact(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return "(invalid RabbitMQ URL)";
        }

        var user = uri.UserInfo.Split(':')[0];
        var port = uri.IsDefaultPort ? 5672 : uri.Port;
        return $"{uri.Scheme}://{(user.Length > 0 ? user + "@" : "")}{uri.Host}:{port}{uri.AbsolutePath}";
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        if (_connection is { } connection)
        {
            try
            {
                await connection.CloseAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Closing a connection whose broker is gone: nothing left to release.
            }

            connection.Dispose();
        }
    }
}
