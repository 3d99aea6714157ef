namespace Baton.Testing;

/// <summary>
/// The shared RabbitMQ the test script starts: its URL from <c>BATON_RABBITMQ</c>, or the local default. Tests use
/// queue names of their own (<see cref="NewQueueName"/>) and delete them afterwards. An unreachable broker fails the
/// tests with a message that says how to start one; it never skips them.
/// </summary>
public static class RabbitMqBroker
{
    public const string DefaultUrl = "amqp://guest:guest@127.0.0.1:5672/";

    public static string Url { get; } = Environment.GetEnvironmentVariable("BATON_RABBITMQ") is { Length: > 0 } fromEnv ? fromEnv : DefaultUrl;

    /// <summary>A queue name no other test uses: <c>{prefix}-{guid}</c>.</summary>
    public static string NewQueueName(string prefix = "t") => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>The message a test fails with when the broker cannot be reached.</summary>
    public static string Unreachable(string reason)
    {
        var source = Environment.GetEnvironmentVariable("BATON_RABBITMQ") is { Length: > 0 } ? "BATON_RABBITMQ" : "the default (BATON_RABBITMQ is not set)";
        var address = Uri.TryCreate(Url, UriKind.Absolute, out var uri) ? $"{uri.Host}:{(uri.IsDefaultPort ? 5672 : uri.Port)}" : "(invalid URL)";
        return $"These tests need RabbitMQ: {address} from {source} is not reachable ({reason}). Run them through scripts/test.sh, " +
            "or start rabbitmq-server (see DEPENDENCIES.md) and set BATON_RABBITMQ.";
    }
}
