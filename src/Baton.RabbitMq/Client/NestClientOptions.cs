namespace Baton.RabbitMq;

/// <summary>Options of a <see cref="INestClient"/>.</summary>
public sealed class NestClientOptions
{
    /// <summary>Declare the service's queue before the first send, as NestJS's ClientRMQ does. The default is true.</summary>
    public bool DeclareQueue { get; set; } = true;

    /// <summary>The queue's durability when it is declared (it must match the server's). The default is true, as in NestJS.</summary>
    public bool DurableQueue { get; set; } = true;

    /// <summary>Mark requests and events persistent (delivery mode 2). The default is true.</summary>
    public bool Persistent { get; set; } = true;

    /// <summary>The largest reply accepted, in bytes; a larger one fails the call. The default is 4 MiB.</summary>
    public int MaxReplyBytes { get; set; } = 4 * 1024 * 1024;
}
