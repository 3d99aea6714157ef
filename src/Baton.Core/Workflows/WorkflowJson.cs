using System.Text.Json;
using System.Text.Json.Serialization;
using Baton.Hosting;
using Microsoft.Extensions.Options;

namespace Baton.Workflows;

/// <summary>The serializer options of one node, from <see cref="BatonOptions.Json"/>.</summary>
internal sealed class WorkflowJson(IOptions<BatonOptions> options)
{
    /// <summary>For outputs, step results and inputs already stored (a run accepted before stays readable).</summary>
    public JsonSerializerOptions Values { get; } = options.Value.Json;

    /// <summary>For a new run's input: the same options, but a field the input type lacks is refused by name.</summary>
    public JsonSerializerOptions Input { get; } = InputOptions(options.Value.Json);

    /// <summary>The options a new run's input is read with, made from the node's <paramref name="json"/>.</summary>
    public static JsonSerializerOptions InputOptions(JsonSerializerOptions json) =>
        new(json) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };
}
