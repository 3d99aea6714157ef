using System.Text.Json;
using Baton.Events;
using Baton.Runs;
using Baton.Storage;
using Baton.Workers;
using Baton.Workflows;

namespace Baton.Inbox;

/// <summary>
/// Validates messages as the client validates starts, then creates their runs through the worker's admission (one
/// store write per batch), so runs started by messages are claimed, or started at once on this node, like any other.
/// </summary>
internal sealed class BatonInbox(WorkflowRegistry registry, EngineServices engine, Worker worker, IBatonClient client) : IBatonInbox
{
    public async Task<InboxResult> AcceptAsync(InboxMessage message, CancellationToken cancellationToken = default) =>
        (await AcceptManyAsync([message], cancellationToken).ConfigureAwait(false))[0];

    public async Task<IReadOnlyList<InboxResult>> AcceptManyAsync(IReadOnlyList<InboxMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count > InboxLimits.MaxBatchSize)
        {
            throw new ArgumentOutOfRangeException(nameof(messages), messages.Count, $"At most {InboxLimits.MaxBatchSize} messages are accepted at once.");
        }

        var results = new InboxResult?[messages.Count];
        var admissions = new List<Admission>(messages.Count);
        var positions = new List<int>(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(messages[i], $"{nameof(messages)}[{i}]");
            if (Refusal(messages[i], out var admission) is { } reason)
            {
                Log.InboxMessageRejected(engine.Logger, messages[i].MessageId, messages[i].Workflow, reason);
                results[i] = new InboxResult(InboxOutcome.Rejected, null, reason);
            }
            else
            {
                admissions.Add(admission);
                positions.Add(i);
            }
        }

        if (admissions.Count > 0)
        {
            var created = await worker.AdmitManyAsync(admissions, cancellationToken).ConfigureAwait(false);
            for (var j = 0; j < created.Count; j++)
            {
                results[positions[j]] = created[j] switch
                {
                    { Outcome: CreateRunOutcome.Created, Run: var run } => new InboxResult(InboxOutcome.Created, run.Id),
                    { Outcome: CreateRunOutcome.Existing, Run: var run } => new InboxResult(InboxOutcome.Duplicate, run.Id),
                    { Run: var holder } => new InboxResult(InboxOutcome.Conflict, null, BatonClient.ConflictError(holder.Id)),
                };
            }
        }

        return results!;
    }

    public async Task<InboxResult> AcceptEventAsync(
        string messageId, string runId, string name, JsonElement? payload, CancellationToken cancellationToken = default)
    {
        if (MessageIdError(messageId) is { } invalid)
        {
            return new InboxResult(InboxOutcome.Rejected, null, invalid);
        }

        if (string.IsNullOrEmpty(runId))
        {
            return new InboxResult(InboxOutcome.Rejected, null, "an event message names the run it is for");
        }

        var sent = await client.SendEventAsync(runId, name, payload, messageId, cancellationToken).ConfigureAwait(false);
        return sent.Outcome switch
        {
            EventSendOutcome.Stored => new InboxResult(InboxOutcome.Created, runId),
            EventSendOutcome.Existing => new InboxResult(InboxOutcome.Duplicate, runId),
            _ => new InboxResult(InboxOutcome.Rejected, null, sent.Error),
        };
    }

    private string? Refusal(InboxMessage message, out Admission admission)
    {
        admission = default;
        if (MessageIdError(message.MessageId) is { } invalid)
        {
            return invalid;
        }

        if (message.Workflow is null)
        {
            // A mapper that reads the workflow from the message (a JSON null, a missing field) hands over null: refused, not
            // thrown, since a transport takes an exception for a store failure and delivers the message (its batch) again for ever.
            return "a message names the workflow it starts; this one names none";
        }

        var request = new StartRunRequest
        {
            Workflow = message.Workflow, Input = message.Input, IdempotencyKey = message.MessageId, CorrelationId = message.CorrelationId,
        };
        return BatonClient.Refusal(registry, engine, request, out admission)?.Error;
    }

    private static string? MessageIdError(string? messageId) =>
        messageId is not { Length: > 0 and <= InboxLimits.MaxMessageIdLength }
            ? $"a message id has 1 to {InboxLimits.MaxMessageIdLength} characters"
            : StoredText.HasNul(messageId) ? "a message id cannot hold the character U+0000"
            : StoredText.HasHalfSurrogatePair(messageId) ? "a message id cannot hold half a surrogate pair (\\uD800-\\uDFFF without its other half), which is not text"
            : null;
}
