using System.Text.Json;
using System.Text.Json.Serialization;
using Baton.Apps.ReviewGateway.Forwarding;

namespace Baton.Apps.ReviewGateway;

/// <summary>Source-generated JSON for the run input (camelCase, as the engine reads it) and the body sent to the worker.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ForwardJob))]
[JsonSerializable(typeof(WorkerEnqueueBody))]
internal sealed partial class GatewayJson : JsonSerializerContext;
