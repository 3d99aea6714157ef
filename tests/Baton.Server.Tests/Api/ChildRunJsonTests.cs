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
            // A parent of many children, started side by side (each step key child:quick#n names one child).
            baton.AddWorkflow<QuickInput, int>("fan-parent", async (context, input, cancellationToken) =>
                (await Task.WhenAll(Enumerable.Range(0, input.N).Select(i =>
                    context.RunChildAsync<int>("quick", new QuickInput(i), cancellationToken: cancellationToken)))).Sum());
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

    [Fact]
    public async Task GetRun_ParentOf520Children_ListsTheNewest500AndLinksToTheRestWhichTheListFilterPages()
    {
        // Before: 500 children and nothing saying there were more, nor any way to list the other 20.
        var (_, started) = await Server.StartRunAsync("fan-parent", """{"n":520}""");
        var parentId = started.GetProperty("id").GetString()!;
        var parent = await Server.WaitForStatusAsync(parentId, "succeeded");

        Assert.Equal(500, parent.GetProperty("children").GetArrayLength());
        var more = parent.GetProperty("moreChildren").GetString()!;
        Assert.StartsWith($"/api/runs?parentRunId={parentId}&cursor=", more, StringComparison.Ordinal);
        using var rest = await Server.Client.GetAsync(more + "&limit=500");
        var page = await InProcessServer.ReadJsonAsync(rest);
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        Assert.Equal(20, page.GetProperty("runs").GetArrayLength());
        var all = parent.GetProperty("children").EnumerateArray().Select(c => c.GetProperty("id").GetString())
            .Concat(page.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetString())).ToHashSet();
        Assert.Equal(520, all.Count);

        using var bad = await Server.Client.GetAsync("/api/runs?parentRunId=nope");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }
}
