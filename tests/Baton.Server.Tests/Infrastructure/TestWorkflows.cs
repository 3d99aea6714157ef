using System.Globalization;
using Baton.Hosting;
using Baton.Retries;
using Baton.Server.Auth;
using Baton.Steps;
using Baton.Server.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Baton.Server.Tests.Infrastructure;

public sealed record QuickInput(int N);

/// <summary>Workflows and an app the tests add next to the built-in demo.</summary>
internal static class TestWorkflows
{
    /// <summary><c>quick</c>: one step that returns N * 2 at once.</summary>
    public static void AddQuick(BatonBuilder baton) =>
        baton.AddWorkflow<QuickInput, int>("quick", (context, input, cancellationToken) =>
            context.StepAsync("double", _ => Task.FromResult(input.N * 2), cancellationToken: cancellationToken));

    /// <summary><c>awaiting</c>: waits for the event <c>go</c>, so it stays active (suspended) until it comes, then returns N.</summary>
    public static void AddAwaiting(BatonBuilder baton) =>
        baton.AddWorkflow<QuickInput, int>("awaiting", async (context, input, cancellationToken) =>
        {
            await context.WaitForEventAsync<int>("go", cancellationToken: cancellationToken);
            return input.N;
        });

    /// <summary>
    /// <c>partial</c>: a fan-out <c>lines</c> over 1..N in which line 2 fails for good and is dead-lettered,
    /// then a step <c>summarize</c> that reports an error of its own and returns the number of good lines.
    /// </summary>
    public static void AddPartial(BatonBuilder baton) =>
        baton.AddWorkflow<QuickInput, int>("partial", async (context, input, cancellationToken) =>
        {
            var lines = await context.ForEachAsync(
                "lines",
                Enumerable.Range(1, input.N).ToList(),
                line => line.ToString(CultureInfo.InvariantCulture),
                (line, _) => line == 2 ? throw new NonRetryableException($"line {line} is not valid JSON") : Task.FromResult(line),
                new ForEachOptions { OnItemFailure = ItemFailurePolicy.DeadLetter },
                cancellationToken: cancellationToken);
            return await context.StepAsync(
                "summarize",
                _ =>
                {
                    context.ReportError("summary left out 1 dead-lettered line", "summarize");
                    return Task.FromResult(lines.Count(l => l.Succeeded));
                },
                cancellationToken: cancellationToken);
        });

    /// <summary><c>saga</c>: <c>reserve</c> (undone by a compensation), then <c>charge</c>, which fails for good: the run ends compensated.</summary>
    public static void AddSaga(BatonBuilder baton) =>
        baton.AddWorkflow<QuickInput, int>("saga", async (context, input, cancellationToken) =>
        {
            await context.StepAsync("reserve", _ => Task.FromResult(input.N), compensate: (_, _) => Task.CompletedTask, cancellationToken: cancellationToken);
            await context.StepAsync<int>("charge", _ => throw new NonRetryableException("card declined"), cancellationToken: cancellationToken);
            return 0;
        });

    /// <summary><c>flaky</c>: one step <c>call</c> whose first attempt of each run fails; it is retried 10 ms later and succeeds.</summary>
    public static void AddFlaky(BatonBuilder baton)
    {
        var failedRuns = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>();
        baton.AddWorkflow<QuickInput, int>("flaky", (context, input, cancellationToken) =>
            context.StepAsync(
                "call",
                _ => failedRuns.TryAdd(context.RunId, true) ? throw new HttpRequestException("503 from upstream") : Task.FromResult(input.N),
                new StepOptions { Retry = new RetryPolicy { MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(10), JitterFactor = 0 } },
                cancellationToken: cancellationToken));
    }
}

/// <summary>
/// An app as later issues will write them: enabled by <c>Baton:Apps:Probe:Enabled</c>, mapping a
/// seed-000-style <c>GET /probe-sync?key=</c> that accepts the key in the query.
/// </summary>
internal sealed class ProbeApp : IBatonApp
{
    public string Name => "Probe";

    public void ConfigureServices(WebApplicationBuilder builder, BatonBuilder baton)
    {
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/probe-sync", () => TypedResults.Ok(new { message = "Sync started" })).RequireAdminKey(allowQueryKey: true);
        endpoints.MapGet("/probe-status", () => TypedResults.Ok(new { isRunning = false }));
    }
}

/// <summary>
/// An app with its own listener (port from <c>OWN_PORT</c>) whose <c>/health</c> clashes with Baton's,
/// as seed 002's does.
/// </summary>
internal sealed class OwnListenerApp : IBatonApp
{
    public string Name => "OwnListener";

    public int? OwnPort(Microsoft.Extensions.Configuration.IConfiguration configuration) =>
        int.TryParse(configuration["OWN_PORT"], out var port) && port is > 0 and <= 65535
            ? port
            : throw new ArgumentException($"OWN_PORT '{configuration["OWN_PORT"]}' is not a port number");

    public void ConfigureServices(WebApplicationBuilder builder, BatonBuilder baton)
    {
    }

    private static bool AuthenticationRan(HttpContext context) =>
        context.Features.Get<Microsoft.AspNetCore.Authentication.IAuthenticationFeature>() is not null;

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/health", () => TypedResults.Ok(new { service = "own-listener" })).AllowWithoutAdminKey();
        endpoints.MapGet("/own-only", () => TypedResults.Ok(new { own = true })).AllowWithoutAdminKey();
        // Whether UseAuthentication ran for the request: it sets this feature on every request it sees.
        endpoints.MapGet("/own-fast", (HttpContext context) => TypedResults.Ok(new { authenticationRan = AuthenticationRan(context) })).AllowWithoutAdminKeyFromRouting();
        endpoints.MapGet("/own-open", (HttpContext context) => TypedResults.Ok(new { authenticationRan = AuthenticationRan(context) })).AllowWithoutAdminKey();
    }
}

/// <summary>One server for a test class: demo + quick workflows, the probe app on.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private InProcessServer? _server;

    internal InProcessServer Server => _server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() =>
        _server = await InProcessServer.StartAsync(
            new Dictionary<string, string> { ["Baton:Apps:Probe:Enabled"] = "true" },
            (_, baton) => TestWorkflows.AddQuick(baton),
            apps: [new ProbeApp()]);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
