using Microsoft.Extensions.Logging;

namespace Baton;

/// <summary>The inbox's log events (EventIds 10xx).</summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Warning, "Inbox: message {MessageId} for workflow {Workflow} rejected: {Reason}")]
    public static partial void InboxMessageRejected(ILogger logger, string? messageId, string? workflow, string? reason);
}
