using System.Text.Json;
using Baton.Apps.CatalogSync;
using Baton.Demo.CatalogFeed;
using Baton.Runs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Baton.Samples.Demo;

/// <summary>
/// With <c>Baton:Apps:CatalogSync:Demo:Enabled</c> (on in Development): starts the catalog-feed simulator
/// in-process on a free 127.0.0.1 port, points the sync at it, starts one sync when the server is up (or
/// follows the one already running, e.g. resumed after a restart), logs its progress every second and its
/// summary at the end.
/// </summary>
internal sealed class CatalogFeedDemo(
    IBatonClient client, IHostApplicationLifetime lifetime, IOptions<CatalogSyncOptions> options, TimeProvider time, ILogger<CatalogFeedDemo> logger)
    : BackgroundService, IHostedLifecycleService
{
    private CatalogFeedServer? _feed;

    /// <summary>
    /// Starts the simulated feed before any hosted service starts (the worker may resume a sync at once); the
    /// options are one instance per process, so the URL set here is the one the sync reads.
    /// </summary>
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var secret = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        _feed = await CatalogFeedServer.StartAsync(
            new CatalogFeedOptions { Products = settings.Demo.Products, User = "demo", Password = secret, Day = DateTime.UtcNow.DayOfYear },
            cancellationToken: cancellationToken).ConfigureAwait(false);
        settings.ApiUrl = _feed.Url.ToString();
        settings.ApiKeyId = "demo";
        settings.ApiKeySecret = secret;
        Log.DemoFeed(logger, settings.Demo.Products, settings.ApiUrl);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await HostStarted.WaitAsync(lifetime, stoppingToken).ConfigureAwait(false))
        {
            return;
        }

        try
        {
            using var input = JsonDocument.Parse("""{"trigger":"demo"}""");
            var result = await client.StartRunAsync(new StartRunRequest { Workflow = CatalogSyncApp.WorkflowName, Input = input.RootElement }, stoppingToken).ConfigureAwait(false);
            if (result.Run is not { } run)
            {
                return;
            }

            Log.SyncStarted(logger, run.Id, result.Outcome == StartRunOutcome.Conflict ? "demo, following the sync already running" : "demo");
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (await client.GetRunAsync(run.Id, stoppingToken).ConfigureAwait(false) is not { } details)
                {
                    return;
                }

                var r = details.Run;
                long Get(string counter) => r.Progress.GetValueOrDefault(counter);
                Log.Progress(logger, r.Id, r.Status.ToWireName(), r.Phase ?? "-", Get("bytes"), Get("chunks.done"), Get("chunks.total"), Get("records"), Get("inserted"), Get("updated"), Get("skipped"), Get("failed"));
                if (r.Status.IsTerminal())
                {
                    if (r.Output is { } output)
                    {
                        using var summary = JsonDocument.Parse(output);
                        var elapsed = (r.CompletedAt ?? time.GetUtcNow()) - (r.StartedAt ?? r.CreatedAt);
                        Log.DemoSummary(logger, r.Id, summary.RootElement.GetProperty("summary").GetString() ?? "", elapsed.TotalSeconds);
                    }
                    else
                    {
                        Log.DemoFailed(logger, r.Id, r.Status.ToWireName(), r.Failure?.Message ?? "-");
                    }

                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_feed is not null)
        {
            await _feed.DisposeAsync().ConfigureAwait(false);
        }
    }
}
