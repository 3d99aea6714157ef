using System.Net;
using Baton.Server.Tests.Infrastructure;

namespace Baton.Server.Tests.Api;

/// <summary>GET /api/runs/{id} and the run list show the workflow version that started each run.</summary>
public sealed class WorkflowVersionJsonTests : IAsyncLifetime
{
    private InProcessServer? _server;

    private InProcessServer Server => _server!;

    public async Task InitializeAsync() =>
        _server = await InProcessServer.StartAsync(configure: (_, baton) =>
        {
            TestWorkflows.AddQuick(baton);
            baton.AddWorkflow<QuickInput, int>("quick-v3", (context, input, cancellationToken) =>
                context.StepAsync("double", _ => Task.FromResult(input.N * 2), cancellationToken: cancellationToken), o => o.Version = 3);
        });

    public async Task DisposeAsync() => await Server.DisposeAsync();

    [Fact]
    public async Task GetRunAndListRuns_RunsOfVersion1And3_ShowWorkflowVersion()
    {
        var (status, started) = await Server.StartRunAsync("quick-v3", """{"n":2}""");
        var v3Id = started.GetProperty("id").GetString()!;
        var (_, plain) = await Server.StartRunAsync("quick", """{"n":2}""");
        var v1Id = plain.GetProperty("id").GetString()!;
        var v3 = await Server.WaitForStatusAsync(v3Id, "succeeded");
        var v1 = await Server.WaitForStatusAsync(v1Id, "succeeded");
        using var listResponse = await Server.Client.GetAsync("/api/runs?workflow=quick-v3");
        var list = await InProcessServer.ReadJsonAsync(listResponse);

        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal(3, started.GetProperty("workflowVersion").GetInt32());
        Assert.Equal(3, v3.GetProperty("workflowVersion").GetInt32());
        Assert.Equal(1, v1.GetProperty("workflowVersion").GetInt32());
        Assert.Equal(HttpStatusCode.OK, listResponse.StatusCode);
        var listed = Assert.Single(list.GetProperty("runs").EnumerateArray());
        Assert.Equal((v3Id, 3), (listed.GetProperty("id").GetString(), listed.GetProperty("workflowVersion").GetInt32()));
    }
}
