using System.Text.Json;
using System.Text.Json.Serialization;
using Baton.Runs;

namespace Baton.Storage.Postgres.Internal;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RunFailure))]
[JsonSerializable(typeof(List<RunError>))]
[JsonSerializable(typeof(Dictionary<string, long>))]
internal sealed partial class PostgresJsonContext : JsonSerializerContext;

/// <summary>The jsonb columns of <c>runs</c>: progress, errors and failure (same JSON as the SQLite store).</summary>
internal static class PostgresJson
{
    private static readonly IReadOnlyDictionary<string, long> EmptyProgress = new Dictionary<string, long>();

    public static string? Progress(IReadOnlyDictionary<string, long>? progress) =>
        progress is null
            ? null
            : JsonSerializer.Serialize(new Dictionary<string, long>(progress), PostgresJsonContext.Default.DictionaryStringInt64);

    public static IReadOnlyDictionary<string, long> Progress(string? json) =>
        json is null ? EmptyProgress : JsonSerializer.Deserialize(json, PostgresJsonContext.Default.DictionaryStringInt64) ?? EmptyProgress;

    public static string? Errors(IReadOnlyList<RunError>? errors) =>
        errors is null ? null : JsonSerializer.Serialize(errors.ToList(), PostgresJsonContext.Default.ListRunError);

    public static IReadOnlyList<RunError> Errors(string? json) =>
        json is null ? [] : JsonSerializer.Deserialize(json, PostgresJsonContext.Default.ListRunError) ?? [];

    public static string? Failure(RunFailure? failure) =>
        failure is null ? null : JsonSerializer.Serialize(failure, PostgresJsonContext.Default.RunFailure);

    public static RunFailure? Failure(string? json) =>
        json is null ? null : JsonSerializer.Deserialize(json, PostgresJsonContext.Default.RunFailure);
}
