using System.Text.Json;
using Baton.Inbox;
using Baton.RabbitMq.Wire;
using Baton.Runs;
using Microsoft.Extensions.Logging;

namespace Baton.RabbitMq.Server;

/// <summary>
/// Starts the run of a run-starting pattern through the inbox (message id = the NestJS id) and hands the reply to
/// <see cref="RunReplies"/>. The delivery is acknowledged only after the run is stored; a store that cannot be reached
/// leaves it unacknowledged (delivered again). A repeated id finds the same run: an ended run is answered at once with
/// its outcome, a running one when it ends.
/// </summary>
internal sealed class RunStarter(IBatonInbox inbox, IBatonClient client, RunReplies replies, ILogger<RunStarter> logger)
{
    public async Task<(Settle, string)> StartAsync(string queue, RunRoute route, NestRequest request, CancellationToken cancellationToken)
    {
        JsonElement input;
        try
        {
            input = route.ToInput(request);
        }
        catch (NestRpcException ex)
        {
            // The pattern's own error, as a read pattern's handler answers it (its statusCode, errors, ...), not a flattened message.
            return await RefuseAsync(queue, request, NestWire.ErrorReply(request.Id, ex.Error), ex.Message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return await RefuseAsync(queue, request, NestWire.ErrorReply(request.Id, $"Invalid request: {ex.Message}"), ex.Message, cancellationToken).ConfigureAwait(false);
        }

        var target = request.ReplyTo is { Length: > 0 } replyTo ? new ReplyTarget(replyTo, request.CorrelationId ?? request.Id) : null;
        InboxResult result;
        try
        {
            result = await inbox.AcceptAsync(
                new InboxMessage { MessageId = request.Id, Workflow = route.Workflow, Input = input, CorrelationId = target?.Encode() },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.Requeued(logger, request.Id, request.Pattern, queue, ex.Message);
            return (Settle.Requeue, "requeued");
        }

        switch (result.Outcome)
        {
            case InboxOutcome.Created:
                if (target is not null)
                {
                    replies.Watch(result.RunId!, route, target, request.Id);
                }

                return (Settle.Ack, "run_started");
            case InboxOutcome.Duplicate:
                if (target is not null)
                {
                    await AnswerDuplicateAsync(result.RunId!, route, target, request.Id, cancellationToken).ConfigureAwait(false);
                }

                return (Settle.Ack, "duplicate");
            default:
                // Rejected (bad input: nothing stored) or Conflict (the workflow's concurrency key is at its limit): a
                // request/reply caller is told now rather than kept waiting behind a redelivery loop.
                var reason = result.Reason ?? result.Outcome.ToString();
                return await RefuseAsync(queue, request, NestWire.ErrorReply(request.Id, reason), reason, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A run request refused with nothing stored: the error reply goes to a request's caller; an event (no <c>replyTo</c>) has
    /// none, so the refusal is logged (before: acknowledged without a word, the event lost unseen). Acknowledged either way.
    /// </summary>
    private async Task<(Settle, string)> RefuseAsync(string queue, NestRequest request, byte[] errorReply, string reason, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.ReplyTo))
        {
            Log.EventRefused(logger, request.Id, request.Pattern, queue, reason);
        }
        else
        {
            await replies.PublishAsync(request.ReplyTo, request.CorrelationId, errorReply, cancellationToken).ConfigureAwait(false);
        }

        return (Settle.Ack, "rejected");
    }

    private async Task AnswerDuplicateAsync(string runId, RunRoute route, ReplyTarget target, string requestId, CancellationToken cancellationToken)
    {
        var details = await client.GetRunAsync(runId, cancellationToken).ConfigureAwait(false);
        if (details is { Run.Status: var status } && status.IsTerminal())
        {
            await replies.ReplyAsync(details.Run, route, target, requestId, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            replies.Watch(runId, route, target, requestId);
        }
    }
}
