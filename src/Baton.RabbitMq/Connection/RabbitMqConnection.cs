using Baton.Diagnostics;
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

    public string DisplayAddress { get; } = UrlText.WithoutPassword(options.Value.Url);

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

    /// <summary><paramref name="text"/> with the configured URL, or its user info, shown as <see cref="DisplayAddress"/> shows them.</summary>
    private string Redacted(string text)
    {
        text = text.Replace(_options.Url, DisplayAddress, StringComparison.Ordinal);
        return Uri.TryCreate(_options.Url, UriKind.Absolute, out var uri) && uri.UserInfo.Split(':', 2) is [var user, _]
            ? text.Replace(uri.UserInfo, user + ":" + UrlText.Mask, StringComparison.Ordinal)
            : text;
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
