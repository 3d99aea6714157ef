using System.Reflection;
using System.Text.Json;
using Baton.Core.Tests.Support;
using Baton.Runs;
using Baton.Storage;

namespace Baton.Core.Tests.Runs;

/// <summary>The client hands out views of the store's records: every field a user needs, none of the lease's.</summary>
public sealed class RunViewsTests
{
    private static readonly string[] LeaseInternals = [nameof(RunRecord.LeaseOwner), nameof(RunRecord.LeaseExpiresAt), nameof(RunRecord.TakenOver)];

    [Fact]
    public void RunInfo_Properties_AreTheRecordsWithoutLeaseInternals()
    {
        var record = typeof(RunRecord).GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name).Except(LeaseInternals);
        var view = typeof(RunInfo).GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name);

        Assert.Equal(record.Order(), view.Order());
    }

    [Theory]
    [InlineData(typeof(StepRecord), typeof(StepInfo), new[] { nameof(StepRecord.RunId) })]
    [InlineData(typeof(StepAttemptRecord), typeof(StepAttemptInfo), new[] { nameof(StepAttemptRecord.RunId) })]
    public void StepViews_Properties_AreTheRecordsWithoutTheRunId(Type recordType, Type viewType, string[] left)
    {
        var record = recordType.GetProperties().Select(p => p.Name).Except(left);

        Assert.Equal(record.Order(), viewType.GetProperties().Select(p => p.Name).Order());
    }

    [Fact]
    public async Task GetRunAsync_FinishedRun_ViewsHoldTheStoredValues()
    {
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("double", async (ctx, n, ct) =>
            await ctx.StepAsync("work", _ => Task.FromResult(n * 2), cancellationToken: ct)));
        var id = await node.StartRunAsync("double", 21);
        await node.WaitForEndAsync(id);

        var details = (await node.Client.GetRunAsync(id))!;
        var run = (await node.Store.Runs.GetRunAsync(id))!;
        var steps = await node.Store.Steps.GetStepsAsync(id);
        var attempts = await node.Store.Steps.GetAttemptsAsync(id);

        Assert.Equal("42", details.Run.Output);
        Assert.Equal(Json(run, LeaseInternals), Json(details.Run));
        Assert.Equal(steps.Select(s => Json(s, ["RunId"])), details.Steps.Select(s => Json(s)));
        Assert.Equal(attempts.Select(a => Json(a, ["RunId"])), details.Attempts.Select(a => Json(a)));
    }

    [Fact]
    public async Task CountRunsAsync_PendingRunsOfTwoWorkflows_CountsByWorkflowAndStatus()
    {
        await using var node = await EngineHarness.StartAsync(
            b =>
            {
                b.AddWorkflow<int, int>("a", (_, n, _) => Task.FromResult(n));
                b.AddWorkflow<int, int>("b", (_, n, _) => Task.FromResult(n));
            },
            o => o.RunWorker = false);
        await node.StartRunAsync("a", 1);
        await node.StartRunAsync("a", 2);
        await node.StartRunAsync("b", 3);

        var all = await node.Client.CountRunsAsync(new CountRunsRequest());
        var a = await node.Client.CountRunsAsync(new CountRunsRequest { Workflow = "a", Statuses = [RunStatus.Pending, RunStatus.Running] });

        Assert.Equal(3, all[RunStatus.Pending]);
        Assert.Equal(3, all.Total);
        Assert.Equal(2, a[RunStatus.Pending]);
        Assert.Equal(0, a[RunStatus.Running]);
    }

    /// <summary>The object's public properties as JSON, without <paramref name="leave"/>, in name order.</summary>
    private static string Json(object value, IEnumerable<string>? leave = null)
    {
        var skip = (leave ?? []).ToHashSet();
        var properties = value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => !skip.Contains(p.Name))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ToDictionary(p => p.Name, p => p.GetValue(value));
        return JsonSerializer.Serialize(properties);
    }
}
