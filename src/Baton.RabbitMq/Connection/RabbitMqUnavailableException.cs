namespace Baton.RabbitMq;

/// <summary>The broker cannot be reached (first connection) or a publish was not confirmed. The message never holds a password.</summary>
public sealed class RabbitMqUnavailableException(string message, Exception? innerException = null) : Exception(message, innerException);
