using System.Diagnostics;
using System.Globalization;
using Baton.Hosting;
using Baton.Retries;
using Baton.Runs;
using Baton.Scheduling;
using Baton.Storage;
using Baton.Storage.Sqlite;
using Baton.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Baton.Core.Tests.Support;

/// <summary>Jitter that always draws the same value.</summary>
internal sealed class FixedJitter(double value) : IJitterSource
{
    public double Draw(string runId, string stepKey, int failedAttempt) => value;
}

/// <summary>
/// One Baton node in-process: the real engine on a real SQLite file, with a fake clock advanced by hand.
/// </summary>
internal sealed class EngineHarness : IAsyncDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly List<IHostedService> _hosted;
    private readonly SemaphoreSlim _executionEnded = new(0);
    private bool _stopped;

    private readonly bool _ownsDatabase;

    private EngineHarness(ServiceProvider services, ExactClock time, string databasePath, bool ownsDatabase)
    {
        _ownsDatabase = ownsDatabase;
        Services = services;
        Time = time;
        DatabasePath = databasePath;
        _hosted = services.GetServices<IHostedService>().ToList();
        Worker.ExecutionEnded += _ => _executionEnded.Release();
    }

    public ServiceProvider Services { get; }

    public ExactClock Time { get; }

    public string DatabasePath { get; }

    public IBatonClient Client => Services.GetRequiredService<IBatonClient>();

    public IBatonStore Store => Services.GetRequiredService<IBatonStore>();

    public ISchedules Schedules => Services.GetRequiredService<ISchedules>();

    internal Worker Worker => Services.GetRequiredService<Worker>();

    internal Scheduler Scheduler => Services.GetRequiredService<Scheduler>();

    /// <summary>
    /// Wakes the claim loop, as a store notification would: after the clock moved a pending run's due time or an
    /// expired lease into the past, the next claim takes it without waiting for a poll timer.
    /// </summary>
    public void WakeWorker() => Services.GetRequiredService<WorkSignal>().Notify();

    public static string NewDatabasePath() => Path.Combine(Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}.db");

    public static async Task<EngineHarness> StartAsync(
        Action<BatonBuilder> workflows,
        Action<BatonOptions>? configure = null,
        string? databasePath = null,
        ExactClock? time = null,
        bool startServices = true,
        ILoggerProvider? logs = null,
        IJitterSource? jitter = null,
        Action<IServiceCollection>? configureServices = null)
    {
        time ??= new ExactClock(Start);
        var ownsDatabase = databasePath is null;
        databasePath ??= NewDatabasePath();
        var services = new ServiceCollection();
        services.AddLogging(logging =>
        {
            if (logs is not null)
            {
                logging.AddProvider(logs);
            }
        });
        services.AddSingleton<TimeProvider>(time);
        services.AddSingleton(jitter ?? new FixedJitter(0));
        var builder = services.AddBaton(o =>
        {
            o.NodeId = "node-a";
            o.PollInterval = TimeSpan.FromSeconds(1);
            o.RunScheduler = false;
            configure?.Invoke(o);
        }).UseSqlite(o => o.Path = databasePath);
        workflows(builder);
        configureServices?.Invoke(services);
        var harness = new EngineHarness(services.BuildServiceProvider(), time, databasePath, ownsDatabase);
        if (startServices)
        {
            foreach (var hosted in harness._hosted)
            {
                await hosted.StartAsync(CancellationToken.None);
            }
        }
        else
        {
            await harness.Store.InitializeAsync();
        }

        return harness;
    }

    public async Task<string> StartRunAsync(string workflow, object? input = null, string? idempotencyKey = null)
    {
        var result = await Client.StartRunAsync(new StartRunRequest
        {
            Workflow = workflow,
            Input = input is null ? null : System.Text.Json.JsonSerializer.SerializeToElement(input),
            IdempotencyKey = idempotencyKey,
        });
        Assert.True(result.Outcome is StartRunOutcome.Created or StartRunOutcome.Existing, $"start failed: {result.Outcome} {result.Error}");
        return result.Run!.Id;
    }

    /// <summary>
    /// Waits (up to 60 s of real time) until the stored run satisfies <paramref name="until"/>, re-reading it each time an
    /// execution ends. The clock stays still: a test that needs time to pass moves the clock itself, to the timer the
    /// engine armed (see <see cref="ExactClock.AdvanceToTimerAsync"/>).
    /// </summary>
    public async Task<RunRecord> WaitForAsync(string runId, Func<RunRecord, bool> until)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var run = await Store.Runs.GetRunAsync(runId);
            Assert.NotNull(run);
            if (until(run))
            {
                return run;
            }

            if (watch.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"run {runId} is still {run.Status} (phase {run.Phase}) after 60 s; pending timers: {string.Join(", ", Time.PendingTimers().Select(t => t.ToString("O")))}; {await DescribeAsync(run)}");
            }

            await _executionEnded.WaitAsync(TimeSpan.FromMilliseconds(50));
        }
    }

    /// <summary>What a timed-out wait shows of the run: its state, its steps, its events, and its children's states.</summary>
    private async Task<string> DescribeAsync(RunRecord run)
    {
        var text = new System.Text.StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"now {Time.GetUtcNow():O}, executions {run.Executions}, runAfter {run.RunAfter:O}, lease {run.LeaseOwner ?? "none"}, cancel requested {run.CancelRequested}, executing here {Worker.ActiveCount}");
        foreach (var step in await Store.Steps.GetStepsAsync(run.Id))
        {
            text.Append(CultureInfo.InvariantCulture, $"; step {step.Key} {step.Kind} {step.Status} attempts {step.Attempts}");
        }

        foreach (var e in await Store.Events.GetEventsAsync(run.Id))
        {
            text.Append(CultureInfo.InvariantCulture, $"; event {e.Name} consumed {e.ConsumedAt?.ToString("O", CultureInfo.InvariantCulture) ?? "no"}");
        }

        foreach (var child in (await Store.Runs.ListRunsAsync(new ListRunsRequest { ParentRunId = run.Id })).Runs)
        {
            text.Append(CultureInfo.InvariantCulture, $"; child {child.Id} {child.Status} executions {child.Executions} runAfter {child.RunAfter:O}");
        }

        return text.ToString();
    }

    public Task<RunRecord> WaitForEndAsync(string runId) => WaitForAsync(runId, r => r.Status.IsTerminal());

    /// <summary>
    /// Waits as <see cref="WaitForAsync"/> does, and also until this node executes no run at all. A run is stored as
    /// suspended before its execution ends here: a claim in between (the clock moved past its wake time) finds it still
    /// executing and starts it only once that execution has ended (see <c>ClaimWhileUnwindingTests</c>; before 2026-12-05
    /// it handed the claim back, counting an execution that never ran). Wait for this before moving the clock past a
    /// suspended run's wake time when the test counts executions, so each execution is the one the test means.
    /// </summary>
    public Task<RunRecord> WaitForIdleAsync(string runId, Func<RunRecord, bool> until) =>
        WaitForAsync(runId, r => until(r) && Worker.ActiveCount == 0);

    /// <summary>
    /// Cancels run <paramref name="runId"/> once it is suspended (<paramref name="suspended"/> says when) and waits for its
    /// end: the cancel is requested, then the run is claimed and replayed only to collect its compensations.
    /// </summary>
    public async Task<RunRecord> CancelOnceSuspendedAsync(string runId, Func<RunRecord, bool> suspended)
    {
        await WaitForIdleAsync(runId, r => r.Status == RunStatus.Suspended && suspended(r));
        Assert.Equal(CancelRunOutcome.Requested, (await Client.CancelRunAsync(runId)).Outcome);
        WakeWorker();
        return await WaitForEndAsync(runId);
    }

    /// <summary>
    /// Moves the clock by <paramref name="by"/> once the claim loop waits with nothing waking it. A node that executes
    /// nothing may still be in a claim (a run's end wakes the loop): one that read the clock before the move found nothing
    /// due and armed its next poll after the move, a second after the new time, which nothing reaches (CI 2026-12-06:
    /// <c>ChildRunTests.RetryRunAsync_ParentRetriedTwiceAfterItsChildFailedTwice_NoStaleWakeupWakesItAndItSucceeds</c>,
    /// its child due and unclaimed; waiting for the poll's timer was not enough, it is still armed as the loop wakes).
    /// </summary>
    public async Task AdvanceWhenClaimLoopWaitsAsync(TimeSpan by)
    {
        var signal = Services.GetRequiredService<WorkSignal>();
        var watch = Stopwatch.StartNew();
        while (!signal.Parked)
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException("the claim loop did not come to wait within 60 s");
            }

            await Task.Delay(5);
        }

        Time.Advance(by);
    }

    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        for (var i = _hosted.Count - 1; i >= 0; i--)
        {
            await _hosted[i].StopAsync(CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // A test that failed may leave a run in flight, and the drain timeout runs on the fake clock: move the
        // clock while the node stops, so a failing test fails instead of hanging. (StopAsync leaves the clock alone.)
        using var pumping = new CancellationTokenSource();
        var pump = Task.Run(async () =>
        {
            while (!pumping.IsCancellationRequested)
            {
                await Task.Delay(20, CancellationToken.None);
                Time.Advance(TimeSpan.FromSeconds(1));
            }
        });
        try
        {
            await StopAsync();
        }
        finally
        {
            await pumping.CancelAsync();
            await pump;
        }

        await Services.DisposeAsync();
        if (_ownsDatabase)
        {
            DeleteDatabase(DatabasePath);
        }
    }

    public static void DeleteDatabase(string path)
    {
        // ".lock": the store's owner lock, which the store itself leaves in place.
        foreach (var suffix in new[] { "", "-wal", "-shm", ".lock" })
        {
            try
            {
                File.Delete(path + suffix);
            }
            catch (IOException)
            {
            }
        }
    }
}
