using System.Text.Json;
using System.Text.Json.Serialization;
using Baton.Runs;

namespace Baton.Storage;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RunFailure))]
[JsonSerializable(typeof(List<RunError>))]
[JsonSerializable(typeof(Dictionary<string, long>))]
[JsonSerializable(typeof(List<NodeWorkflowVersions>))]
internal sealed partial class RunStateJsonContext : JsonSerializerContext;

/// <summary>
/// The JSON text a store keeps for a run's progress counters, error list and failure, one encoding for
/// every store (null in, null out; a missing column reads as empty).
/// </summary>
public static class RunStateJson
{
    public static string? Progress(IReadOnlyDictionary<string, long>? progress) =>
        progress is null
            ? null
            : JsonSerializer.Serialize(new Dictionary<string, long>(progress), RunStateJsonContext.Default.DictionaryStringInt64);

    public static IReadOnlyDictionary<string, long> Progress(string? json) =>
        json is null ? RunRecord.EmptyProgress : JsonSerializer.Deserialize(json, RunStateJsonContext.Default.DictionaryStringInt64) ?? RunRecord.EmptyProgress;

    public static string? Errors(IReadOnlyList<RunError>? errors) =>
        errors is null ? null : JsonSerializer.Serialize(errors.ToList(), RunStateJsonContext.Default.ListRunError);

    public static IReadOnlyList<RunError> Errors(string? json) =>
        json is null ? [] : JsonSerializer.Deserialize(json, RunStateJsonContext.Default.ListRunError) ?? [];

    public static string? Failure(RunFailure? failure) =>
        failure is null ? null : JsonSerializer.Serialize(failure, RunStateJsonContext.Default.RunFailure);

    public static RunFailure? Failure(string? json) =>
        json is null ? null : JsonSerializer.Deserialize(json, RunStateJsonContext.Default.RunFailure);
}
