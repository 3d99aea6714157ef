using System.Net;
using Baton.Server.Tests.Infrastructure;

namespace Baton.Server.Tests.Api;

/// <summary>GET /api/runs/{id} of a parent and of its awaited child: parentRunId, children and the step kind 'child'.</summary>
public sealed class ChildRunJsonTests : IAsyncLifetime
{
    private InProcessServer? _server;

    private InProcessServer Server => _server!;

    public async Task InitializeAsync() =>
        _server = await InProcessServer.StartAsync(configure: (_, baton) =>
        {
            TestWorkflows.AddQuick(baton);
            baton.AddWorkflow<QuickInput, int>("parent", (context, input, cancellationToken) =>
                context.RunChildAsync<int>("quick", input, cancellationToken: cancellationToken));
        });

    public async Task DisposeAsync() => await Server.DisposeAsync();

    [Fact]
    public async Task GetRun_ParentAndChild_ShowParentRunIdAndChildrenNextToExistingFields()
    {
        var (status, started) = await Server.StartRunAsync("parent", """{"n":4}""");
        var parentId = started.GetProperty("id").GetString()!;
        var parent = await Server.WaitForStatusAsync(parentId, "succeeded");

        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal(8, parent.GetProperty("output").GetInt32());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, parent.GetProperty("parentRunId").ValueKind);
        var child = Assert.Single(parent.GetProperty("children").EnumerateArray());
        var childId = child.GetProperty("id").GetString()!;
        Assert.Equal(("quick", "succeeded"), (child.GetProperty("workflow").GetString(), child.GetProperty("status").GetString()));
        Assert.Contains(parent.GetProperty("steps").EnumerateArray(), s => s.GetProperty("kind").GetString() == "child");
        Assert.True(parent.TryGetProperty("events", out _));
        var childRun = await Server.GetRunAsync(childId);
        Assert.Equal(parentId, childRun.GetProperty("parentRunId").GetString());
        Assert.Empty(childRun.GetProperty("children").EnumerateArray());
        Assert.Equal("quick", childRun.GetProperty("workflow").GetString());
    }
}
