using System.Text.Json;
using Baton.RabbitMq;
using Baton.Retries;
using Baton.Steps;
using Baton.Workflows;
using Microsoft.Extensions.Logging;

namespace Baton.Apps.DoctorOnboarding.Saga;

/// <summary>
/// What the three sagas share: a step's call with the per-call timeout and no retry (a failed step goes straight to
/// compensation: retrying "email already exists" helps nobody), and a compensation call with its own timeout that
/// counts "not found" as done, so a compensation that ran before a crash and runs again succeeds.
/// </summary>
internal sealed class SagaCalls(IDoctorServices services, DoctorOptions options, TimeProvider time, ILogger<SagaCalls> logger)
{
    /// <summary>
    /// The compensations' retries (they run in memory): 10 attempts, from 500 ms doubling to at most 10 s apart (about
    /// 55 s of retrying), so an undo outlasts a broker restart instead of leaving an account behind as compensation_failed.
    /// </summary>
    public static readonly RetryPolicy CompensationRetry = new() { MaxAttempts = 10, BaseDelay = TimeSpan.FromMilliseconds(500), MaxDelay = TimeSpan.FromSeconds(10) };

    public DoctorOptions Options => options;

    public DoctorPatterns Patterns => options.Patterns;

    /// <summary>
    /// A saga step's retries: only a call whose reply can never arrive because the broker connection went away
    /// (<see cref="RabbitMqUnavailableException"/>: a broker restart, or a send during the outage) is tried again, 6
    /// attempts from 1 s doubling to at most 5 s apart (durable: the run suspends in between). The repeated call carries
    /// the same idempotency key, so a call the service had carried out returns what it made instead of leaving it behind
    /// uncompensated. A service's error reply and a call past its 12 s timeout are not retried: the saga compensates.
    /// </summary>
    public static readonly RetryPolicy StepRetry = new()
    {
        MaxAttempts = 6, BaseDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(5),
        ShouldRetry = ex => ex is RabbitMqUnavailableException,
    };

    /// <summary>A saga step: the per-call timeout, retried only when the broker connection was lost (<see cref="StepRetry"/>).</summary>
    public StepOptions Step { get; } = new() { Timeout = options.CallTimeout, Retry = StepRetry };

    /// <summary>Calls a service; an empty reply becomes JSON null.</summary>
    public async Task<JsonElement> CallAsync(DoctorService service, string pattern, object? data, CancellationToken cancellationToken) =>
        await services.SendAsync(service, pattern, data, options.CallTimeout, cancellationToken).ConfigureAwait(false)
        ?? JsonSerializer.SerializeToElement<object?>(null);

    /// <summary>A compensating call: cancelled after <see cref="DoctorOptions.CompensationTimeout"/>; "not found" counts as done.</summary>
    public async Task CompensateAsync(IWorkflowContext context, string step, DoctorService service, string pattern, object? data, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(options.CompensationTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await services.SendAsync(service, pattern, data, options.CompensationTimeout, linked.Token).ConfigureAwait(false);
        }
        catch (ServiceCallException ex) when (ex.IsNotFound)
        {
            Log.CompensationNothingToDo(logger, context.RunId, step, ex.Message);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"compensation of {step} timed out after {options.CompensationTimeout.TotalSeconds:0.###} s");
        }
    }

    /// <summary>
    /// Removes the profile of account <paramref name="accountId"/> if there is one (<c>getByAccountId</c>, then
    /// <c>remove</c>), under one <see cref="DoctorOptions.CompensationTimeout"/>: for a <c>createProfile</c> that failed
    /// (timed out) after the directory had carried it out, whose reply (and so its id) never arrived. "Not found" or an
    /// empty reply is nothing to do.
    /// </summary>
    public async Task RemoveProfileOfAccountAsync(IWorkflowContext context, string accountId, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(options.CompensationTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var profile = await services.SendAsync(
                DoctorService.ProviderDirectory, Patterns.ProfileGetByAccountId, new { accountId }, options.CompensationTimeout, linked.Token).ConfigureAwait(false);
            if (profile is { ValueKind: JsonValueKind.Object } found && found.TryGetProperty("id", out var id)
                && id.ValueKind is JsonValueKind.String or JsonValueKind.Number)
            {
                Log.OrphanProfileRemoved(logger, context.RunId, id.ToString());
                await services.SendAsync(
                    DoctorService.ProviderDirectory, Patterns.ProfileRemove, new { id = id.ToString() }, options.CompensationTimeout, linked.Token).ConfigureAwait(false);
            }
        }
        catch (ServiceCallException ex) when (ex.IsNotFound)
        {
            Log.NoOrphanProfile(logger, context.RunId, ex.Message);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"compensation of createProfile timed out after {options.CompensationTimeout.TotalSeconds:0.###} s");
        }
    }

    /// <summary>Records how many of the saga's steps completed (read by <see cref="SagaReplies"/> when the saga fails).</summary>
    public void Executed(IWorkflowContext context, string step, int count)
    {
        context.SetProgress(SagaReplies.ExecutedCounter, count);
        Log.StepDone(logger, context.RunId, step);
    }

    /// <summary>The <c>id</c> of a service's reply.</summary>
    public static string IdOf(JsonElement reply, string what) =>
        reply.ValueKind == JsonValueKind.Object && reply.TryGetProperty("id", out var id) && id.ValueKind is JsonValueKind.String or JsonValueKind.Number
            ? id.ToString()
            : throw new NonRetryableException($"{what} reply has no id");

    public long DurationMs(DateTimeOffset receivedAt) => Math.Max(0, (long)(time.GetUtcNow() - receivedAt).TotalMilliseconds);
}
