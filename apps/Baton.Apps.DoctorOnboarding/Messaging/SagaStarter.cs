using System.Text.Json;
using Baton.Apps.DoctorOnboarding.Saga;
using Baton.RabbitMq;
using Baton.Runs;

namespace Baton.Apps.DoctorOnboarding.Messaging;

/// <summary>
/// Starts a saga for a NestJS request and answers when it ends. The run's idempotency key is the request's NestJS id,
/// so a redelivered or repeated request finds the run it started and gets the same outcome; the request stays
/// unacknowledged until the reply is sent (the transport acks after the handler returns), so a crash or a broker
/// restart mid-saga redelivers it, the restarted server finds the same run (resumed by the engine) and replies when it
/// ends. A bad payload is answered with a validation error before anything is stored.
/// </summary>
internal sealed class SagaStarter(IBatonClient client, TimeProvider time)
{
    /// <summary>The prefix of a saga's idempotency key before the NestJS request id.</summary>
    public const string KeyPrefix = "nest:";

    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan MaxPoll = TimeSpan.FromMilliseconds(100);

    public async Task<JsonElement?> RunAsync<TInput>(NestRequest request, string workflow, TInput input, CancellationToken cancellationToken)
    {
        var started = await client.StartRunAsync(new StartRunRequest
        {
            Workflow = workflow,
            Input = JsonSerializer.SerializeToElement(input, JsonSerializerOptions.Web),
            IdempotencyKey = KeyPrefix + request.Id,
            CorrelationId = request.CorrelationId ?? request.Id,
        }, cancellationToken).ConfigureAwait(false);
        if (started.Run is not { } run || started.Outcome is not (StartRunOutcome.Created or StartRunOutcome.Existing))
        {
            throw new NestRpcException(started.Error ?? $"the saga could not be started ({started.Outcome})");
        }

        var delay = FirstPoll;
        while (!IsEnded(run.Status))
        {
            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxPoll.Ticks));
            run = (await client.GetRunAsync(run.Id, cancellationToken).ConfigureAwait(false))?.Run ?? run;
        }

        return run.Status == RunStatus.Succeeded && run.Output is { } output
            ? JsonDocument.Parse(output).RootElement.Clone()
            : throw new NestRpcException(SagaReplies.Error(run));
    }

    private static bool IsEnded(RunStatus status) =>
        status is RunStatus.Succeeded or RunStatus.Failed or RunStatus.Compensated or RunStatus.CompensationFailed or RunStatus.Cancelled;
}
