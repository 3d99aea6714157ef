namespace Baton.RabbitMq;

/// <summary>Options of a NestJS-compatible server on one queue.</summary>
public sealed class NestServerOptions
{
    /// <summary>Declare the queue durable, as NestJS's default queueOptions do. The default is true.</summary>
    public bool DurableQueue { get; set; } = true;

    /// <summary>Unacknowledged messages the broker hands this server at once (basic.qos). The default is 64.</summary>
    public ushort Prefetch { get; set; } = 64;

    /// <summary>Messages handled at once (the consumer's dispatch concurrency). The default is 16.</summary>
    public ushort Concurrency { get; set; } = 16;

    /// <summary>The largest body accepted, in bytes; a larger one is answered with an error and acknowledged. The default is 1 MiB.</summary>
    public int MaxMessageBytes { get; set; } = 1024 * 1024;
}
