using RabbitMQ.Client;

namespace Baton.RabbitMq;

/// <summary>
/// The one RabbitMQ connection of the process, shared by every Nest server and client (registered by
/// <see cref="BatonRabbitMqExtensions.AddRabbitMq"/>). Automatic recovery and topology recovery are on: after a broker
/// restart the connection, its channels, the queues declared through it and their consumers come back by themselves.
/// </summary>
public interface IRabbitMqConnection
{
    /// <summary>
    /// The open connection, opened on first use. While the broker cannot be reached the first time this throws
    /// (<c>BrokerUnreachableException</c>); callers retry. Once opened, the connection recovers by itself.
    /// </summary>
    Task<IConnection> GetAsync(CancellationToken cancellationToken = default);

    /// <summary>The broker's address without the password, for logs and errors.</summary>
    string DisplayAddress { get; }
}
