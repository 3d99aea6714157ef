using System.Text.Json;
using Baton.Scheduling;
using Baton.Storage;

namespace Baton.Server.Configuration;

/// <summary>
/// Work that must finish before the engine's worker and scheduler start: the store's schema, then the
/// schedules written in configuration. Runs in <see cref="IHostedLifecycleService.StartingAsync"/>, which the
/// host calls before any hosted service's <c>StartAsync</c>.
/// </summary>
internal sealed class StartupTasks(IBatonStore store, ISchedules schedules, BatonServerOptions options, ILogger<StartupTasks> logger)
    : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        HostLog.StoreReady(logger, options.StoreDescription);
        foreach (var schedule in options.Schedules)
        {
            using var input = schedule.Input is null ? null : JsonDocument.Parse(schedule.Input);
            try
            {
                var put = await schedules.PutAsync(
                    new ScheduleDefinition
                    {
                        Name = schedule.Name,
                        Workflow = schedule.Workflow,
                        Cron = schedule.Cron,
                        TimeZone = schedule.TimeZone,
                        Input = input?.RootElement.Clone(),
                        Enabled = schedule.Enabled,
                        Misfire = schedule.Misfire,
                    },
                    cancellationToken).ConfigureAwait(false);
                HostLog.ConfiguredScheduleApplied(logger, schedule.Name, put.Schedule.NextFireAt);
            }
            catch (ScheduleValidationException ex)
            {
                throw new BatonConfigurationException($"invalid configuration:{Environment.NewLine}  - Baton:Schedules:{schedule.Name}: {ex.Message}");
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
