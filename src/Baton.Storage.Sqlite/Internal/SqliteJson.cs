using System.Text.Json;
using System.Text.Json.Serialization;
using Baton.Runs;

namespace Baton.Storage.Sqlite.Internal;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RunFailure))]
[JsonSerializable(typeof(List<RunError>))]
[JsonSerializable(typeof(Dictionary<string, long>))]
internal sealed partial class SqliteJsonContext : JsonSerializerContext;

/// <summary>The JSON columns of <c>runs</c>: progress, errors and failure.</summary>
internal static class SqliteJson
{
    private static readonly IReadOnlyDictionary<string, long> EmptyProgress = new Dictionary<string, long>();

    public static string? Progress(IReadOnlyDictionary<string, long>? progress) =>
        progress is null
            ? null
            : JsonSerializer.Serialize(new Dictionary<string, long>(progress), SqliteJsonContext.Default.DictionaryStringInt64);

    public static IReadOnlyDictionary<string, long> Progress(string? json) =>
        json is null ? EmptyProgress : JsonSerializer.Deserialize(json, SqliteJsonContext.Default.DictionaryStringInt64) ?? EmptyProgress;

    public static string? Errors(IReadOnlyList<RunError>? errors) =>
        errors is null
            ? null
            : JsonSerializer.Serialize(errors.ToList(), SqliteJsonContext.Default.ListRunError);

    public static IReadOnlyList<RunError> Errors(string? json) =>
        json is null ? [] : JsonSerializer.Deserialize(json, SqliteJsonContext.Default.ListRunError) ?? [];

    public static string? Failure(RunFailure? failure) =>
        failure is null ? null : JsonSerializer.Serialize(failure, SqliteJsonContext.Default.RunFailure);

    public static RunFailure? Failure(string? json) =>
        json is null ? null : JsonSerializer.Deserialize(json, SqliteJsonContext.Default.RunFailure);
}
