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

    /// <summary>The patch that added the guard steps of the update and delete sagas (<see cref="GuardAsync"/>).</summary>
    public const string LostReplyPatch = "undo-of-a-lost-reply";

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

    /// <summary>
    /// A remove whose "not found" counts as done (the delete's last step): as <see cref="Step"/>, and also retried after a
    /// call past its timeout, within the saga's timeout. A remove the service carried out with its reply lost then ends done
    /// at the next attempt; before, the saga compensated a delete whose account was already gone, putting back a profile
    /// of no account and answering "compensated".
    /// </summary>
    public StepOptions RemoveStep { get; } = new()
    {
        Timeout = options.CallTimeout,
        Retry = StepRetry with { ShouldRetry = ex => ex is RabbitMqUnavailableException or (TimeoutException and not RunTimeoutException) },
    };

    /// <summary>Calls a service; an empty reply becomes JSON null.</summary>
    public async Task<JsonElement> CallAsync(DoctorService service, string pattern, object? data, CancellationToken cancellationToken) =>
        await services.SendAsync(service, pattern, data, options.CallTimeout, cancellationToken).ConfigureAwait(false)
        ?? JsonSerializer.SerializeToElement<object?>(null);

    /// <summary>A compensating call: cancelled after <see cref="DoctorOptions.CompensationTimeout"/>; "not found" counts as done.</summary>
    public Task CompensateAsync(IWorkflowContext context, string step, DoctorService service, string pattern, object? data, CancellationToken cancellationToken) =>
        UnderCompensationTimeoutAsync(
            step,
            async token => await services.SendAsync(service, pattern, data, options.CompensationTimeout, token).ConfigureAwait(false),
            ex => Log.CompensationNothingToDo(logger, context.RunId, step, ex.Message),
            cancellationToken);

    /// <summary>
    /// Removes the profile of account <paramref name="accountId"/> if there is one, under one
    /// <see cref="DoctorOptions.CompensationTimeout"/>: for a <c>createProfile</c> that failed (timed out) after the
    /// directory had carried it out, whose reply (and so its id) never arrived, or that the directory carries out only
    /// later (its consumers run in parallel, so the undo's calls can overtake it). With <paramref name="createCall"/> (the
    /// create, when its outcome is unknown) the create is sent again with the same <c>idempotencyKey</c> and the profile
    /// it answers is removed: a directory that carried the first out answers with that profile, one that has not yet makes
    /// it now, and the first, arriving late, finds its key used and makes nothing (a look-up alone found nothing then, and
    /// the late create left a profile of no account). A refusal means none was made under the key. Then
    /// <c>getByAccountId</c> and <c>remove</c>, for a directory that does not keep keys. "Not found" or an empty reply is
    /// nothing to do.
    /// </summary>
    public Task RemoveProfileOfAccountAsync(IWorkflowContext context, string accountId, object? createCall, CancellationToken cancellationToken) =>
        UnderCompensationTimeoutAsync(
            "createProfile",
            async token =>
            {
                if (createCall is not null)
                {
                    await RemoveProfileOfCreateAsync(context, createCall, token).ConfigureAwait(false);
                }

                var profile = await services.SendAsync(
                    DoctorService.ProviderDirectory, Patterns.ProfileGetByAccountId, new { accountId }, options.CompensationTimeout, token).ConfigureAwait(false);
                if (profile is { } found && TryIdOf(found, out var id))
                {
                    Log.OrphanProfileRemoved(logger, context.RunId, id);
                    await services.SendAsync(
                        DoctorService.ProviderDirectory, Patterns.ProfileRemove, new { id }, options.CompensationTimeout, token).ConfigureAwait(false);
                }
            },
            ex => Log.NoOrphanProfile(logger, context.RunId, ex.Message),
            cancellationToken);

    /// <summary>Sends <c>createEmpty</c> again and removes the profile it answers; a refusal made none under the key.</summary>
    private async Task RemoveProfileOfCreateAsync(IWorkflowContext context, object createCall, CancellationToken cancellationToken)
    {
        JsonElement? profile;
        try
        {
            profile = await services.SendAsync(
                DoctorService.ProviderDirectory, Patterns.ProfileCreateEmpty, createCall, options.CompensationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (ServiceCallException ex)
        {
            Log.NoLostProfile(logger, context.RunId, ex.Message);
            return;
        }

        if (profile is { } found && TryIdOf(found, out var id))
        {
            Log.LostProfileRemoved(logger, context.RunId, id);
            await services.SendAsync(DoctorService.ProviderDirectory, Patterns.ProfileRemove, new { id }, options.CompensationTimeout, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Removes the account a <c>createAccount</c> call may have made though its reply never arrived (its timeout, a cancel,
    /// a crash), under one <see cref="DoctorOptions.CompensationTimeout"/>: the create is sent again with the same
    /// <c>idempotencyKey</c>, so a service that carried the first out answers with that account (one that never got it
    /// makes it now), and that account is removed; a refusal ("email already exists": another account has the email) means
    /// none was made under the key. The accounts service has no look-up by email; this relies on the key, as the saga's
    /// retries do. Sets <see cref="SagaReplies.UndoneCounter"/>, so the reply lists the undo. Returns the removed account's
    /// id, or null when there was none to remove.
    /// </summary>
    public async Task<string?> RemoveAccountOfLostCreateAsync(IWorkflowContext context, object createCall, CancellationToken cancellationToken)
    {
        string? removed = null;
        await UnderCompensationTimeoutAsync(
            "createAccount",
            async token =>
            {
                JsonElement? account;
                try
                {
                    account = await services.SendAsync(DoctorService.Accounts, Patterns.AccountsCreate, createCall, options.CompensationTimeout, token).ConfigureAwait(false);
                }
                catch (ServiceCallException ex)
                {
                    // Refused ("email already exists": another account has it): the service made none under this key.
                    Log.NoLostAccount(logger, context.RunId, ex.Message);
                    return;
                }

                if (account is { } found && TryIdOf(found, out var id))
                {
                    Log.LostAccountRemoved(logger, context.RunId, id);
                    removed = id;
                    await services.SendAsync(DoctorService.Accounts, Patterns.AccountsRemove, new { id }, options.CompensationTimeout, token).ConfigureAwait(false);
                    context.SetProgress(SagaReplies.UndoneCounter("createAccount"), 1);
                }
            },
            ex => Log.CompensationNothingToDo(logger, context.RunId, "createAccount", ex.Message),
            cancellationToken).ConfigureAwait(false);
        return removed;
    }

    /// <summary>
    /// A no-op step registered before a call whose outcome the saga may never hear (a timeout or a cancel after the service
    /// carried it out, its reply lost): a step that fails has no compensation of its own, so this step's compensation runs
    /// <paramref name="undo"/> when <paramref name="call"/> ended neither done nor refused.
    /// </summary>
    public static Task GuardAsync(IWorkflowContext context, string step, CallOutcome call, Func<CancellationToken, Task> undo, CancellationToken cancellationToken) =>
        context.StepAsync(SagaReplies.GuardOf(step), _ => Task.CompletedTask, compensate: ct => call.Unknown ? undo(ct) : Task.CompletedTask, cancellationToken: cancellationToken);

    /// <summary>Whether the directory has a profile of <paramref name="accountId"/> (<c>getByAccountId</c>), under one <see cref="DoctorOptions.CompensationTimeout"/>.</summary>
    public async Task<bool> HasProfileAsync(string accountId, CancellationToken cancellationToken)
    {
        var found = false;
        await UnderCompensationTimeoutAsync(
            "removeProfile",
            async token => found = await services.SendAsync(
                DoctorService.ProviderDirectory, Patterns.ProfileGetByAccountId, new { accountId }, options.CompensationTimeout, token).ConfigureAwait(false) is { ValueKind: JsonValueKind.Object },
            _ => { },
            cancellationToken).ConfigureAwait(false);
        return found;
    }

    /// <summary>Records that <paramref name="step"/> had nothing to change when <paramref name="changed"/> is false (<see cref="SagaReplies.SkippedCounter"/>).</summary>
    public static void Skipped(IWorkflowContext context, string step, bool changed)
    {
        if (!changed)
        {
            context.SetProgress(SagaReplies.SkippedCounter(step), 1);
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
        TryIdOf(reply, out var id) ? id : throw new NonRetryableException($"{what} reply has no id");

    /// <summary>The <c>id</c> (a string or a number) of a reply that is an object with one.</summary>
    private static bool TryIdOf(JsonElement reply, out string id)
    {
        if (reply.ValueKind == JsonValueKind.Object && reply.TryGetProperty("id", out var value) && value.ValueKind is JsonValueKind.String or JsonValueKind.Number)
        {
            id = value.ToString();
            return true;
        }

        id = "";
        return false;
    }

    /// <summary>
    /// Runs a compensation's calls under one <see cref="DoctorOptions.CompensationTimeout"/>: past it, a
    /// <see cref="TimeoutException"/> naming <paramref name="step"/>; a "not found" reply counts as done
    /// (<paramref name="notFound"/> logs it).
    /// </summary>
    private async Task UnderCompensationTimeoutAsync(
        string step, Func<CancellationToken, Task> calls, Action<ServiceCallException> notFound, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(options.CompensationTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await calls(linked.Token).ConfigureAwait(false);
        }
        catch (ServiceCallException ex) when (ex.IsNotFound)
        {
            notFound(ex);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"compensation of {step} timed out after {options.CompensationTimeout.TotalSeconds:0.###} s");
        }
    }

    public long DurationMs(DateTimeOffset receivedAt) => Math.Max(0, (long)(time.GetUtcNow() - receivedAt).TotalMilliseconds);
}

/// <summary>
/// How a saga's call ended, as far as this execution saw: done (the step returned), refused (the service answered with an
/// error, so it changed nothing), or neither (a timeout, a cancel, a crash: it may have been carried out).
/// </summary>
internal sealed class CallOutcome
{
    public bool Done { get; set; }

    public bool Refused { get; set; }

    public bool Unknown => !Done && !Refused;

    /// <summary>Runs <paramref name="call"/>, marking the outcome refused when the service answers it with an error.</summary>
    public async Task<T> WatchAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (ServiceCallException)
        {
            Refused = true;
            throw;
        }
    }
}
