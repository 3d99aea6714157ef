using Microsoft.Extensions.Options;

namespace Baton.Storage.Sqlite;

internal sealed class SqliteStoreOptionsValidator : IValidateOptions<SqliteStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, SqliteStoreOptions options)
    {
        var errors = Errors(options).ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>The problems with <paramref name="options"/>; empty when they are usable. Does not touch the disk.</summary>
    public static IEnumerable<string> Errors(SqliteStoreOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            yield return "Baton:Store:Sqlite: Path must name the database file (it is empty).";
        }
        else if (Directory.Exists(options.Path))
        {
            yield return $"Baton:Store:Sqlite: Path '{options.Path}' is a directory; it must name the database file.";
        }

        if (!Enum.IsDefined(options.Durability))
        {
            yield return $"Baton:Store:Sqlite: Durability '{options.Durability}' is not one of ProcessCrashSafe, FullSync.";
        }

        // Bounded: the writer sizes its batch (and its queue, four batches) by it, so a value like 2147483647 ("no limit") made
        // the writer's thread fail as it started, and every write waited for ever while reads and the ping still answered.
        if (options.MaxBatchSize is < 1 or > SqliteStoreOptions.MaxBatchSizeLimit)
        {
            yield return $"Baton:Store:Sqlite: MaxBatchSize must be 1 to {SqliteStoreOptions.MaxBatchSizeLimit} (it is {options.MaxBatchSize}).";
        }

        if (options.CheckpointInterval < TimeSpan.Zero || options.CheckpointInterval > TimeSpan.FromMinutes(10))
        {
            yield return $"Baton:Store:Sqlite: CheckpointInterval must be between 0 (checkpoints left to SQLite) and 10 minutes (it is {options.CheckpointInterval}).";
        }

        if (options.WalBackstopPages < 1000)
        {
            yield return $"Baton:Store:Sqlite: WalBackstopPages must be at least 1000, SQLite's own checkpoint size (it is {options.WalBackstopPages}).";
        }

        if (options.BusyTimeout <= TimeSpan.Zero || options.BusyTimeout.TotalMilliseconds > int.MaxValue)
        {
            yield return $"Baton:Store:Sqlite: BusyTimeout must be positive (it is {options.BusyTimeout}).";
        }
    }

    /// <summary>Throws an <see cref="OptionsValidationException"/> listing every problem.</summary>
    public static void ThrowIfInvalid(SqliteStoreOptions options)
    {
        var errors = Errors(options).ToList();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(SqliteStoreOptions), errors);
        }
    }
}
