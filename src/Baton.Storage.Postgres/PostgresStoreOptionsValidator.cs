using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Baton.Storage.Postgres;

internal sealed partial class PostgresStoreOptionsValidator : IValidateOptions<PostgresStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresStoreOptions options)
    {
        var errors = Errors(options).ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>The problems with <paramref name="options"/>; empty when they are usable. Does not connect.</summary>
    public static IEnumerable<string> Errors(PostgresStoreOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            yield return "Baton:Store:Postgres:ConnectionString is required (it is empty).";
        }
        else if (!IsParsable(options.ConnectionString, out var problem))
        {
            yield return $"Baton:Store:Postgres:ConnectionString is not a valid Npgsql connection string: {Baton.Diagnostics.ConnectionStringText.ParseErrorWithoutPassword(options.ConnectionString, problem)}";
        }

        if (options.Schema is null || !SchemaPattern().IsMatch(options.Schema))
        {
            yield return $"Baton:Store:Postgres:Schema '{options.Schema}' must be lower-case letters, digits and underscores, " +
                "start with a letter or underscore and be at most 50 characters.";
        }

        if (options.CommandTimeout <= TimeSpan.Zero || options.CommandTimeout.TotalSeconds > int.MaxValue)
        {
            yield return $"Baton:Store:Postgres:CommandTimeout must be positive (it is {options.CommandTimeout}).";
        }

        if (options.WriterConnections is < 1 or > PostgresStoreOptions.MaxWriterConnections)
        {
            yield return $"Baton:Store:Postgres:WriterConnections must be between 1 and {PostgresStoreOptions.MaxWriterConnections} (it is {options.WriterConnections}).";
        }
        else if (PoolSize(options.ConnectionString) is { } pool && options.WriterConnections > pool / 2)
        {
            // The rest of the pool serves the listener, the node-id lock, keyed creates, claims and every read.
            yield return $"Baton:Store:Postgres:WriterConnections ({options.WriterConnections}) may use at most half of the connection pool " +
                $"(Maximum Pool Size {pool}): at most {pool / 2}.";
        }
    }

    /// <summary>Throws an <see cref="OptionsValidationException"/> listing every problem.</summary>
    public static void ThrowIfInvalid(PostgresStoreOptions options)
    {
        var errors = Errors(options).ToList();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(PostgresStoreOptions), errors);
        }
    }

    /// <summary>The pool size the store will use, or null if the connection string cannot be read.</summary>
    private static int? PoolSize(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString) || !IsParsable(connectionString, out _))
        {
            return null;
        }

        return Internal.PostgresBatonStore.PoolSizeOf(connectionString);
    }

    private static bool IsParsable(string connectionString, out string problem)
    {
        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
            problem = "";
            return true;
        }
        catch (ArgumentException ex)
        {
            problem = ex.Message;
            return false;
        }
    }

    // 50 leaves room for the "_runs" suffix of the notification channel within PostgreSQL's 63-byte identifiers.
    [GeneratedRegex(@"^[a-z_][a-z0-9_]{0,49}\z", RegexOptions.CultureInvariant)]
    private static partial Regex SchemaPattern();
}
