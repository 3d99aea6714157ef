using System.Text.Json;
using Baton.Hosting;
using Baton.Retries;
using Baton.Storage;
using Baton.Workflows;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Baton.Workers;

/// <summary>What every part of an execution needs, resolved once per node.</summary>
internal sealed class EngineServices(
    IRunStore runs,
    IStepStore steps,
    IEventStore events,
    TimeProvider time,
    IJitterSource jitter,
    IOptions<BatonOptions> options,
    BatonMetrics metrics,
    ILoggerFactory loggerFactory,
    IServiceProvider services,
    WorkflowJson json)
{
    public IRunStore Runs { get; } = runs;
    public IStepStore Steps { get; } = steps;
    public IEventStore Events { get; } = events;
    public TimeProvider Time { get; } = time;
    public IJitterSource Jitter { get; } = jitter;
    public BatonOptions Options { get; } = options.Value;
    public BatonMetrics Metrics { get; } = metrics;
    public ILogger Logger { get; } = loggerFactory.CreateLogger("Baton.Engine");
    public IServiceProvider Services { get; } = services;

    /// <summary>Serializer options for outputs, step results and stored inputs (<see cref="BatonOptions.Json"/>).</summary>
    public JsonSerializerOptions Json => json.Values;

    /// <summary>Serializer options for a new run's input: unknown fields are refused.</summary>
    public JsonSerializerOptions InputJson => json.Input;

    /// <summary>
    /// This process's lease owner name: the node id, unless another live process holds that id (then the store
    /// gives a name of its own at start, see <see cref="ILeaseRecovery"/>).
    /// </summary>
    public string Owner { get; set; } = options.Value.NodeId;
}
