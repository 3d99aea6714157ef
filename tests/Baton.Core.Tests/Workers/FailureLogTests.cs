using Baton.Core.Tests.Support;
using Baton.Retries;
using Baton.Runs;
using Baton.Steps;
using Baton.Testing;

namespace Baton.Core.Tests.Workers;

/// <summary>A failure is logged with the exception itself, so its type and stack trace reach the log.</summary>
public sealed class FailureLogTests
{
    [Fact]
    public async Task ExecuteAsync_WorkflowThrows_RunFailureLoggedWithItsException()
    {
        var logs = new CapturingLoggerProvider();
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("broken", (_, _, _) => throw new InvalidOperationException("boom")), logs: logs);

        var id = await node.StartRunAsync("broken");
        var run = await node.WaitForEndAsync(id);

        Assert.Equal(RunStatus.Failed, run.Status);
        var entry = Assert.Single(logs.Entries, e => e.EventId == 102);
        Assert.Contains(id, entry.Message);
        Assert.NotNull(entry.Exception);
        Assert.StartsWith("System.InvalidOperationException: boom", entry.Exception);
        Assert.Contains(" at ", entry.Exception);
    }

    [Fact]
    public async Task StepAsync_AttemptFailsThenFailsForGood_RetryNamesTheErrorFailureCarriesTheException()
    {
        var logs = new CapturingLoggerProvider();
        await using var node = await EngineHarness.StartAsync(
            b => b.AddWorkflow<int, int>("down", async (ctx, _, ct) => await ctx.StepAsync<int>(
                "call", _ => throw new HttpRequestException("connection refused"),
                new StepOptions { Retry = new RetryPolicy { MaxAttempts = 2, BaseDelay = TimeSpan.FromSeconds(1) } }, cancellationToken: ct)),
            o => o.RetrySuspendThreshold = TimeSpan.FromHours(1), // the 1 s backoff waits in memory, on the Delay timer below
            logs: logs);

        var id = await node.StartRunAsync("down");
        await node.Time.AdvanceToTimerAsync(EngineHarness.Start.AddSeconds(1), TimerKind.Delay);
        await node.WaitForEndAsync(id);

        var retry = Assert.Single(logs.Entries, e => e.EventId == 200);
        var failed = Assert.Single(logs.Entries, e => e.EventId == 201);
        // The retry line names the error without its stack trace (a routine retry; 3.6 KB a line during a worker outage).
        Assert.Null(retry.Exception);
        Assert.Contains("System.Net.Http.HttpRequestException: connection refused", retry.Message, StringComparison.Ordinal);
        Assert.StartsWith("System.Net.Http.HttpRequestException: connection refused", failed.Exception);
        Assert.Contains("call", failed.Message);
    }
}
