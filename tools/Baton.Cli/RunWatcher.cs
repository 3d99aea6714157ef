using Baton.Client;
using Spectre.Console;
using static Baton.Cli.CommandRunner;

namespace Baton.Cli;

/// <summary>
/// Follows a run until it ends, polling its summary (not its steps) and reading its details once at the end: live progress bars (one per fan-out, <c>X.done</c> of <c>X.total</c>) on a terminal,
/// a line per change of status or phase otherwise, the final run as JSON with <c>--json</c>. Exit code 0 when the run
/// succeeded, 1 otherwise.
/// </summary>
internal static class RunWatcher
{
    public static async Task<int> WatchAsync(CliContext context, string runId, CancellationToken cancellationToken)
    {
        RunView run;
        if (context.JsonOutput)
        {
            run = await context.Client.WaitAsync(runId, null, cancellationToken);
            context.WriteJson(run);
        }
        else if (context.Console.Profile.Capabilities.Interactive)
        {
            run = await WatchLiveAsync(context, runId, cancellationToken);
        }
        else
        {
            string? last = null;
            run = await context.Client.WatchAsync(
                runId,
                update =>
                {
                    var line = $"{update.Status} {update.Phase} {RunRendering.Progress(update.Progress)}".TrimEnd();
                    if (line != last)
                    {
                        context.Console.WriteLine($"{RunRendering.Time(update.UpdatedAt)} {CommandRunner.Printable(line)}");
                        last = line;
                    }
                },
                cancellationToken);
        }

        if (!context.JsonOutput)
        {
            context.Console.MarkupLine($"run {Esc(run.Id)} {RunRendering.Status(run.Status)}" + (run.Failure is { } f ? $": {Esc(f.Message)}" : ""));
        }

        return run.Status == RunStatuses.Succeeded ? ExitCodes.Ok : ExitCodes.Failed;
    }

    /// <summary>
    /// <see cref="WatchAsync"/> for the run this command has just started (or the sync it found running). When following it
    /// stops early (the server unreachable, a 5xx, Ctrl+C), stderr names the run before the error: with <c>--json</c> its id
    /// is written nowhere else until it ends, and a script that starts it again gets a second run.
    /// </summary>
    public static async Task<int> FollowAsync(CliContext context, string runId, CancellationToken cancellationToken)
    {
        try
        {
            return await WatchAsync(context, runId, cancellationToken);
        }
        catch
        {
            await context.Error.WriteLineAsync($"baton: stopped following run {runId} (baton runs watch {runId} follows it again)");
            throw;
        }
    }

    private static async Task<RunView> WatchLiveAsync(CliContext context, string runId, CancellationToken cancellationToken)
    {
        RunView? final = null;
        await context.Console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var status = progress.AddTask(Esc(runId[..Math.Min(12, runId.Length)]), maxValue: 1);
                var bars = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                final = await context.Client.WatchAsync(
                    runId,
                    run =>
                    {
                        status.Description = $"{Esc(run.Workflow)} {RunRendering.Status(run.Status)} {Esc(run.Phase)}";
                        foreach (var (name, done, total) in RunRendering.Bars(run.Progress))
                        {
                            if (!bars.TryGetValue(name, out var bar))
                            {
                                bars[name] = bar = progress.AddTask(Esc(name), maxValue: Math.Max(1, total));
                            }

                            bar.MaxValue = Math.Max(1, total);
                            bar.Value = done;
                        }

                        if (run.IsFinished)
                        {
                            status.Value = 1;
                            foreach (var bar in bars.Values)
                            {
                                bar.StopTask();
                            }

                            status.StopTask();
                        }
                    },
                    cancellationToken);
            });
        return final!;
    }
}
