using Baton.Runs;
using Baton.Storage;
using Baton.Workers;
using Microsoft.Extensions.Hosting;

namespace Baton.Retention;

/// <summary>
/// Deletes what is older than <see cref="Hosting.BatonOptions.Retention"/>: finished runs (with their
/// steps and attempts) that completed before the cutoff, and schedule fire records. Runs every
/// <see cref="Hosting.BatonOptions.PruneInterval"/>, in batches, so no single write holds the store for
/// long. Active runs are never deleted, whatever their age. Several nodes may prune at once.
/// </summary>
internal sealed class Pruner(IBatonStore store, EngineServices engine) : BackgroundService
{
    public const int BatchSize = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = engine.Options;
        if (options.Retention <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.PruneInterval, engine.Time);
        try
        {
            do
            {
                try
                {
                    await PruneAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    Log.PruneFailed(engine.Logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass: deletes batches until less than a batch is left. Returns the runs and fires deleted.</summary>
    internal async Task<(int Runs, int Fires)> PruneAsync(CancellationToken cancellationToken)
    {
        var cutoff = engine.Time.GetUtcNow() - engine.Options.Retention;
        var runs = 0;
        int deleted;
        do
        {
            deleted = await store.Runs.PruneRunsAsync(
                new PruneRunsRequest { IdsBelow = RunIds.LowestAt(cutoff), CompletedBefore = cutoff, MaxRuns = BatchSize },
                cancellationToken).ConfigureAwait(false);
            runs += deleted;
        }
        while (deleted == BatchSize);

        var fires = 0;
        do
        {
            deleted = await store.Schedules.PruneFiresAsync(new PruneFiresRequest { FiredBefore = cutoff, MaxFires = BatchSize }, cancellationToken).ConfigureAwait(false);
            fires += deleted;
        }
        while (deleted == BatchSize);

        if (runs > 0 || fires > 0)
        {
            engine.Metrics.RunsPruned.Add(runs);
            Log.Pruned(engine.Logger, runs, fires, cutoff.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        }

        return (runs, fires);
    }
}
