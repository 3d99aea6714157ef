using Baton.Server.Tests.Infrastructure;
using Baton.Workflows;
using Microsoft.Extensions.Logging;

namespace Baton.Server.Tests.Logging;

public sealed partial class LogScopeTests
{
    [Fact]
    public async Task Logs_LineWrittenInsideAStep_CarriesRunWorkflowStepAndCorrelationScopes()
    {
        await using var server = await InProcessServer.StartAsync(configure: (_, baton) => baton.AddWorkflow<ChattyWorkflow>("chatty"));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/workflows/chatty/runs") { Content = InProcessServer.Json("""{"n":7}""") };
        request.Headers.Add("X-Correlation-ID", "scope-check-1");
        using var response = await server.Client.SendAsync(request);
        var id = (await InProcessServer.ReadJsonAsync(response)).GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(id, "succeeded");

        var inStep = Assert.Single(server.Logs.Entries, e => e.Message == "fetching page 7");
        Assert.Contains("Workflow=chatty", inStep.Scopes);
        Assert.Contains("Step=fetch-page", inStep.Scopes);
        Assert.Contains($"RunId={id}", inStep.Scopes);
        Assert.Contains("CorrelationId=scope-check-1", inStep.Scopes);
        var betweenSteps = Assert.Single(server.Logs.Entries, e => e.Message == "page 7 fetched");
        Assert.Contains("Workflow=chatty", betweenSteps.Scopes);
        Assert.DoesNotContain(betweenSteps.Scopes, s => s.StartsWith("Step=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Logs_EngineRetryWarning_CarriesWorkflowAndStepScopes()
    {
        await using var server = await InProcessServer.StartAsync(configure: (_, baton) => TestWorkflows.AddFlaky(baton));

        var (_, started) = await server.StartRunAsync("flaky", """{"n":1}""");
        var id = started.GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(id, "succeeded");

        var retrying = Assert.Single(server.Logs.Entries, e => e.EventId == 200);
        Assert.Equal(LogLevel.Warning, retrying.Level);
        Assert.Contains("503 from upstream", retrying.Message, StringComparison.Ordinal);
        Assert.Contains("Workflow=flaky", retrying.Scopes);
        Assert.Contains("Step=call", retrying.Scopes);
        Assert.Contains($"RunId={id}", retrying.Scopes);
    }

    /// <summary>Logs once inside its one step and once after it, through its own injected logger.</summary>
    private sealed partial class ChattyWorkflow(ILogger<ChattyWorkflow> logger) : Workflow<QuickInput, int>
    {
        public override async Task<int> RunAsync(IWorkflowContext context, QuickInput input, CancellationToken cancellationToken)
        {
            var page = await context.StepAsync(
                "fetch-page",
                _ =>
                {
                    FetchingPage(logger, input.N);
                    return Task.FromResult(input.N);
                },
                cancellationToken: cancellationToken);
            PageFetched(logger, page);
            return page;
        }

        [LoggerMessage(9001, LogLevel.Information, "fetching page {Page}")]
        private static partial void FetchingPage(ILogger logger, int page);

        [LoggerMessage(9002, LogLevel.Information, "page {Page} fetched")]
        private static partial void PageFetched(ILogger logger, int page);
    }
}
