namespace Baton.RabbitMq;

/// <summary>Options of the shared RabbitMQ connection.</summary>
public sealed class RabbitMqOptions
{
    /// <summary><c>amqp://user:pass@host:port/vhost</c>. Required. The password never reaches a log line or an error.</summary>
    public string Url { get; set; } = "";

    /// <summary>Wait between reconnection attempts after the broker went away (and between first-connect attempts). The default is 1 s.</summary>
    public TimeSpan RecoveryInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The connection's name as the broker's management UI shows it. The default is "baton".</summary>
    public string ClientName { get; set; } = "baton";
}
