using Baton.Apps.CatalogSync.Processing;
using Baton.Scheduling;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Baton.Apps.CatalogSync.Hosting;

/// <summary>
/// At start (after the server's store initialisation, before the worker and scheduler run): creates the
/// catalog database and puts the daily schedule into Baton's schedules (or removes it when disabled), keeping the
/// stored schedule's on/off switch and misfire policy, which an operator may have changed through the API.
/// </summary>
internal sealed class CatalogSyncStartup(
    IProductStore store, ISchedules schedules, IOptions<CatalogSyncOptions> options, ILogger<CatalogSyncStartup> logger)
    : IHostedLifecycleService
{
    public const string ScheduleName = "catalog-sync-daily";

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        Log.CatalogDatabase(logger, store.Description);
        var schedule = options.Value.Schedule;
        if (!schedule.Enabled)
        {
            await schedules.DeleteAsync(ScheduleName, cancellationToken).ConfigureAwait(false);
            return;
        }

        using var input = System.Text.Json.JsonDocument.Parse("""{"trigger":"schedule"}""");
        // The configuration owns the cron and time zone; an operator owns the switch and the misfire policy (PUT
        // /api/schedules/catalog-sync-daily, the CLI, the dashboard): a schedule switched off there stays off across restarts.
        var stored = await schedules.GetAsync(ScheduleName, cancellationToken).ConfigureAwait(false);
        try
        {
            var info = (await schedules.PutAsync(
                new ScheduleDefinition
                {
                    Name = ScheduleName,
                    Workflow = CatalogSyncWorkflow.Name,
                    Cron = schedule.Cron,
                    TimeZone = schedule.TimeZone,
                    Input = input.RootElement.Clone(),
                    Enabled = stored?.Enabled ?? true,
                    Misfire = stored?.Misfire ?? MisfirePolicy.Skip,
                },
                cancellationToken).ConfigureAwait(false)).Schedule;
            if (info.Enabled)
            {
                Log.ScheduleApplied(logger, ScheduleName, schedule.Cron, schedule.TimeZone, info.NextFireAt);
            }
            else
            {
                Log.ScheduleKeptDisabled(logger, ScheduleName, schedule.Cron, schedule.TimeZone);
            }
        }
        catch (ScheduleValidationException ex)
        {
            throw new OptionsValidationException(nameof(CatalogSyncOptions), typeof(CatalogSyncOptions), [$"{CatalogSyncApp.SectionName}:Schedule: {ex.Message}"]);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
