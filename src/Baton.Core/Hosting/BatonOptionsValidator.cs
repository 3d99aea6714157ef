using Microsoft.Extensions.Options;

namespace Baton.Hosting;

/// <summary>Checks engine settings at start-up, naming each bad one.</summary>
internal sealed class BatonOptionsValidator : IValidateOptions<BatonOptions>
{
    public ValidateOptionsResult Validate(string? name, BatonOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.NodeId) || options.NodeId.Length > 200)
        {
            errors.Add("Baton:Engine:NodeId must be 1-200 characters");
        }

        Positive(options.LeaseDuration, nameof(options.LeaseDuration));
        Positive(options.HeartbeatInterval, nameof(options.HeartbeatInterval));
        Positive(options.PollInterval, nameof(options.PollInterval));
        Positive(options.ProgressFlushInterval, nameof(options.ProgressFlushInterval));
        Positive(options.SchedulerInterval, nameof(options.SchedulerInterval));
        Positive(options.PruneInterval, nameof(options.PruneInterval));
        Positive(options.RetrySuspendThreshold, nameof(options.RetrySuspendThreshold));
        if (options.Retention < TimeSpan.Zero)
        {
            errors.Add("Baton:Engine:Retention must not be negative (zero keeps every run)");
        }
        if (options.DrainTimeout < TimeSpan.Zero)
        {
            errors.Add("Baton:Engine:DrainTimeout must not be negative");
        }

        if (options.Json is null)
        {
            errors.Add("BatonOptions.Json must be set (serializer options for inputs, outputs and step results)");
        }

        if (options.AttemptStartWriteDelay < TimeSpan.Zero || options.AttemptStartWriteDelay >= options.LeaseDuration)
        {
            errors.Add($"Baton:Engine:AttemptStartWriteDelay ({options.AttemptStartWriteDelay}) must be between zero and LeaseDuration ({options.LeaseDuration})");
        }

        if (options.HeartbeatInterval >= options.LeaseDuration)
        {
            errors.Add($"Baton:Engine:HeartbeatInterval ({options.HeartbeatInterval}) must be shorter than LeaseDuration ({options.LeaseDuration})");
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

        void Positive(TimeSpan value, string setting)
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"Baton:Engine:{setting} must be positive");
            }
        }
    }
}
