using System.Text.Json;

namespace Baton.Inbox;

/// <summary>
/// The entry point for transports (a Redis list, a RabbitMQ queue, anything that acknowledges messages): hand a
/// message to Baton and acknowledge it only after the call returns. A returned result means the run or event it
/// causes is stored, so a crash between receive and acknowledgement loses nothing; the message id is the run's
/// idempotency key (or the event's), so a redelivered message finds the run it started before and starts nothing
/// twice. An exception (the store cannot be reached) means nothing is known to be stored: do not acknowledge, let
/// the message be delivered again.
/// </summary>
public interface IBatonInbox
{
    /// <summary>
    /// Starts a run of <see cref="InboxMessage.Workflow"/> for the message, keyed by its id: <see cref="InboxOutcome.Created"/>
    /// the first time, <see cref="InboxOutcome.Duplicate"/> with the same run id for a redelivery,
    /// <see cref="InboxOutcome.Conflict"/> when the workflow's concurrency key is at its limit (nothing stored; deliver
    /// it again later), <see cref="InboxOutcome.Rejected"/> with a reason for a message that can never be stored
    /// (dead-letter it).
    /// </summary>
    Task<InboxResult> AcceptAsync(InboxMessage message, CancellationToken cancellationToken = default);

    /// <summary>
    /// Accepts many messages with one store write (one transaction) for all those that are not rejected. One result
    /// per message, in order; a message id repeated in the batch is a <see cref="InboxOutcome.Duplicate"/> of the
    /// first. At most <see cref="InboxLimits.MaxBatchSize"/> messages.
    /// </summary>
    Task<IReadOnlyList<InboxResult>> AcceptManyAsync(IReadOnlyList<InboxMessage> messages, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores the event <paramref name="name"/> for run <paramref name="runId"/>, with the message id as the event's
    /// idempotency key (see <c>IBatonClient.SendEventAsync</c>): <see cref="InboxOutcome.Created"/> when stored (a run
    /// waiting for it resumes), <see cref="InboxOutcome.Duplicate"/> for a redelivery, <see cref="InboxOutcome.Rejected"/>
    /// for an unknown or finished run, a bad name, or a too large payload. <see cref="InboxResult.RunId"/> is the run's id.
    /// </summary>
    Task<InboxResult> AcceptEventAsync(
        string messageId, string runId, string name, JsonElement? payload, CancellationToken cancellationToken = default);
}

/// <summary>A message that starts a run.</summary>
public sealed record InboxMessage
{
    /// <summary>The transport's id of the message, stable across redeliveries; 1 to <see cref="InboxLimits.MaxMessageIdLength"/> characters.</summary>
    public required string MessageId { get; init; }

    /// <summary>The name of a registered workflow.</summary>
    public required string Workflow { get; init; }

    /// <summary>The run's input; null or <c>JsonValueKind.Undefined</c> for none.</summary>
    public JsonElement? Input { get; init; }

    public string? CorrelationId { get; init; }
}

public enum InboxOutcome
{
    /// <summary>The run (or event) was stored for this message: acknowledge it.</summary>
    Created,

    /// <summary>The message id was accepted before; <see cref="InboxResult.RunId"/> is the run it started: acknowledge it.</summary>
    Duplicate,

    /// <summary>The workflow's concurrency key is at its limit; nothing was stored: deliver the message again later.</summary>
    Conflict,

    /// <summary>The message can never be stored as it is (<see cref="InboxResult.Reason"/> says why); nothing was stored: dead-letter it.</summary>
    Rejected,
}

/// <summary>How a message was taken: its outcome, the run's id (null when rejected or in conflict) and, unless created or duplicate, why.</summary>
public sealed record InboxResult(InboxOutcome Outcome, string? RunId, string? Reason = null);

public static class InboxLimits
{
    /// <summary>The longest message id, in characters (a run's idempotency key and an event's have the same limit).</summary>
    public const int MaxMessageIdLength = 200;

    /// <summary>The most messages one <see cref="IBatonInbox.AcceptManyAsync"/> takes.</summary>
    public const int MaxBatchSize = 1000;
}
