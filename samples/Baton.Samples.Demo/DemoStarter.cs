using System.Text.Json;
using Baton.Runs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Baton.Samples.Demo;

/// <summary>
/// With <c>Baton:Demo:RunOnStart</c> (on in Development), starts one <c>demo</c> run when the server is up
/// and logs its progress every second until it ends, so a first <c>dotnet run</c> shows the engine working.
/// </summary>
/// <param name="baseUrl">The server's URL, for the curl command the log line suggests.</param>
internal sealed class DemoStarter(
    IBatonClient client, IHostApplicationLifetime lifetime, string baseUrl, TimeProvider time, ILogger<DemoStarter> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await HostStarted.WaitAsync(lifetime, stoppingToken).ConfigureAwait(false))
        {
            return;
        }

        try
        {
            using var input = JsonDocument.Parse("""{"items":20,"delayMs":500,"parallelism":2}""");
            var result = await client.StartRunAsync(new StartRunRequest { Workflow = DemoWorkflow.Name, Input = input.RootElement }, stoppingToken).ConfigureAwait(false);
            if (result.Run is null)
            {
                return;
            }

            var id = result.Run.Id;
            Log.DemoStarted(logger, id, baseUrl);
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (await client.GetRunAsync(id, stoppingToken).ConfigureAwait(false) is not { } details)
                {
                    return;
                }

                var run = details.Run;
                Log.DemoProgress(logger, id, run.Status.ToWireName(), run.Phase ?? "-", run.Progress.GetValueOrDefault("items.done"), run.Progress.GetValueOrDefault("items.total"));
                if (run.Status.IsTerminal())
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
