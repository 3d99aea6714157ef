using Microsoft.Extensions.Options;

namespace Baton.Hosting;

/// <summary>Checks engine settings at start-up, naming each bad one.</summary>
internal sealed class BatonOptionsValidator : IValidateOptions<BatonOptions>
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly TimeSpan MaxRetention = TimeSpan.FromDays(3650);

    /// <summary>For a whole number of days (what a bare number reads as): how to write seconds instead.</summary>
    private static string DaysHint(TimeSpan value) =>
        value > TimeSpan.Zero && value.Ticks % TimeSpan.TicksPerDay == 0
            ? $" (a bare number is read as days: write hh:mm:ss, e.g. 00:00:{Math.Min(value.Days, 59):00} for {Math.Min(value.Days, 59)} seconds)"
            : "";

    public ValidateOptionsResult Validate(string? name, BatonOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.NodeId) || options.NodeId.Length > 200)
        {
            errors.Add("Baton:Engine:NodeId must be 1-200 characters");
        }

        // Upper bounds as well: a bare number is days to the binder ("30" is a 30-day lease), and a timer of about 50 days or
        // more throws once the engine arms it (a poll interval of 60 days stopped the server; a drain of 50 days crashed its stop).
        Within(options.LeaseDuration, nameof(options.LeaseDuration), Hour);
        Within(options.HeartbeatInterval, nameof(options.HeartbeatInterval), Hour);
        Within(options.PollInterval, nameof(options.PollInterval), Hour);
        Within(options.ProgressFlushInterval, nameof(options.ProgressFlushInterval), Hour);
        Within(options.SchedulerInterval, nameof(options.SchedulerInterval), Hour);
        Within(options.PruneInterval, nameof(options.PruneInterval), TimeSpan.FromDays(7));
        Within(options.RetrySuspendThreshold, nameof(options.RetrySuspendThreshold), TimeSpan.FromDays(1));
        if (options.SuspendThreshold < TimeSpan.Zero || options.SuspendThreshold > TimeSpan.FromDays(1))
        {
            errors.Add($"Baton:Engine:SuspendThreshold ({options.SuspendThreshold:c}) must be from zero (every durable timer suspends) to 1.00:00:00{DaysHint(options.SuspendThreshold)}");
        }

        if (options.Retention < TimeSpan.Zero || options.Retention > MaxRetention)
        {
            errors.Add($"Baton:Engine:Retention ({options.Retention:c}) must be from zero (keeps every run) to {MaxRetention:c}");
        }

        if (options.DrainTimeout < TimeSpan.Zero || options.DrainTimeout > TimeSpan.FromDays(1))
        {
            errors.Add($"Baton:Engine:DrainTimeout ({options.DrainTimeout:c}) must be from zero to 1.00:00:00{DaysHint(options.DrainTimeout)}");
        }

        if (options.Json is null)
        {
            errors.Add("BatonOptions.Json must be set (serializer options for inputs, outputs and step results)");
        }

        if (options.AttemptStartWriteDelay < TimeSpan.Zero || options.AttemptStartWriteDelay >= options.LeaseDuration)
        {
            errors.Add($"Baton:Engine:AttemptStartWriteDelay ({options.AttemptStartWriteDelay}) must be between zero and LeaseDuration ({options.LeaseDuration})");
        }

        // At most half the lease: a renewal that fails once (a store hiccup, a pause) is made again before the lease runs out.
        // Before: anything shorter than the lease was accepted, and a heartbeat of 29 s on a 30 s lease lost its runs to
        // another node on any late renewal.
        if (options.HeartbeatInterval > options.LeaseDuration / 2)
        {
            errors.Add($"Baton:Engine:HeartbeatInterval ({options.HeartbeatInterval}) must be at most half of LeaseDuration ({options.LeaseDuration}), so a renewal that fails once is made again before the lease runs out");
        }

        if (options.MaxConcurrentRuns is < 1 or > 100_000)
        {
            errors.Add("Baton:Engine:MaxConcurrentRuns must be between 1 and 100000");
        }

        if (options.MaxErrors is < 1 or > 10_000)
        {
            errors.Add("Baton:Engine:MaxErrors must be between 1 and 10000");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);

        void Within(TimeSpan value, string setting, TimeSpan max)
        {
            if (value <= TimeSpan.Zero || value > max)
            {
                errors.Add($"Baton:Engine:{setting} ({value:c}) must be above zero and at most {max:c}{DaysHint(value)}");
            }
        }
    }
}
