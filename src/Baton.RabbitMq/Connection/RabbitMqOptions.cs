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

    /// <summary>
    /// How often runs started by run-starting patterns are checked for their end when no local signal came (runs executed
    /// by another node). The default is 1 s.
    /// </summary>
    public TimeSpan ReplyPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a publish waits for the broker's confirm before it fails with <see cref="RabbitMqUnavailableException"/>
    /// (replies, events, and the request of a call, which its own timeout also bounds). Without a bound, a publish under
    /// way when the broker restarts can wait for good (RabbitMQ.Client 7.2 issue #1930); inside a consumer's handler it
    /// also holds up the connection's recovery, which waits for the handler to return. The default is 5 s.
    /// </summary>
    public TimeSpan PublishConfirmTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How old an active run may be and still be found at start to get its reply. The default is 1 day.</summary>
    public TimeSpan ReplyRecoveryWindow { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// Runs created this recently that had already ended at start get their reply again (a crash may have cut it off;
    /// a NestJS client drops a reply it no longer waits for). The default is 1 minute.
    /// </summary>
    public TimeSpan ReplyResendWindow { get; set; } = TimeSpan.FromMinutes(1);
}
