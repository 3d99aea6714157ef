using Baton.Hosting;
using Baton.Retries;
using Baton.Steps;
using Baton.Workflows;
using Npgsql;

namespace Baton.MultiNode.Host;

/// <param name="Steps">How many steps the run has.</param>
/// <param name="StepMs">How long each step's body takes (the window in which a kill lands mid-step).</param>
public sealed record ChainInput(int Steps = 3, int StepMs = 100);

/// <summary>
/// The side table (<c>effects.attempts</c>, <c>effects.done</c>, created by the tests): every step body inserts a
/// row when it starts and another when its work is done, with the node and the database's clock, so the tests can
/// count how often each step ran and when, and compare that with the step results Baton stored.
/// </summary>
public sealed class Effects(NpgsqlDataSource dataSource, string nodeId)
{
    public async Task<int> StepAsync(string runId, string step, int workMs, CancellationToken cancellationToken)
    {
        await InsertAsync("attempts", runId, step, cancellationToken);
        if (workMs > 0)
        {
            await Task.Delay(workMs, cancellationToken);
        }

        await InsertAsync("done", runId, step, cancellationToken);
        return step.Length;
    }

    private async Task InsertAsync(string table, string runId, string step, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"INSERT INTO effects.{table} (run_id, step, node) VALUES ($1, $2, $3)");
        command.Parameters.AddWithValue(runId);
        command.Parameters.AddWithValue(step);
        command.Parameters.AddWithValue(nodeId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

internal static class TestWorkflows
{
    /// <summary>Adds <c>chain</c> (N steps one after another) and <c>singleton</c> (concurrency limit 1, holds for a minute).</summary>
    public static void Add(WebApplicationBuilder builder, BatonBuilder baton)
    {
        var connectionString = builder.Configuration["MULTINODE_EFFECTS"]
            ?? throw new InvalidOperationException("MULTINODE_EFFECTS (the side table's connection string) is not set");
        var nodeId = builder.Configuration["Baton:Engine:NodeId"] ?? "unnamed";
        builder.Services.AddSingleton(new Effects(NpgsqlDataSource.Create(connectionString), nodeId));

        baton.AddWorkflow<ChainWorkflow>("chain");
        baton.AddWorkflow<SingletonWorkflow>("singleton", o =>
        {
            o.ConcurrencyKey = "the-one";
            o.ConcurrencyLimit = 1;
        });
    }
}

internal sealed class ChainWorkflow(Effects effects) : Workflow<ChainInput, int>
{
    /// <summary>The side table lives in the same PostgreSQL as the store, so an outage fails step bodies too: retry fast and long enough to ride out 10 s.</summary>
    private static readonly StepOptions Step = new()
    {
        Retry = new RetryPolicy { MaxAttempts = 15, BaseDelay = TimeSpan.FromMilliseconds(500), MaxDelay = TimeSpan.FromSeconds(2) },
    };

    public override async Task<int> RunAsync(IWorkflowContext context, ChainInput input, CancellationToken cancellationToken)
    {
        var total = 0;
        for (var i = 1; i <= input.Steps; i++)
        {
            var name = $"s{i}";
            total += await context.StepAsync(name, ct => effects.StepAsync(context.RunId, name, input.StepMs, ct), Step, cancellationToken: cancellationToken);
        }

        return total;
    }
}

internal sealed class SingletonWorkflow(Effects effects) : Workflow<ChainInput, int>
{
    public override Task<int> RunAsync(IWorkflowContext context, ChainInput input, CancellationToken cancellationToken) =>
        context.StepAsync("hold", ct => effects.StepAsync(context.RunId, "hold", 60_000, ct), cancellationToken: cancellationToken);
}
