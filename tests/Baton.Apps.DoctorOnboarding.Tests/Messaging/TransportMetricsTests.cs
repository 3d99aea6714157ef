using Baton.Apps.DoctorOnboarding.Tests.Infrastructure;
using Baton.RabbitMq;

namespace Baton.Apps.DoctorOnboarding.Tests.Messaging;

/// <summary>The RabbitMQ transport's meter (<c>Baton.RabbitMq</c>) reaches the server's own <c>/metrics</c>, beside the engine's.</summary>
[Collection(RedisCollection.Name)]
public sealed class TransportMetricsTests
{
    [Fact]
    public async Task Metrics_SagaThroughTheBroker_RabbitMqServerAndClientCountersOnBatonsMetrics()
    {
        await using var rig = new ProcessRig();
        await rig.StartSimulatorsAsync();
        await rig.StartServerAsync();

        var result = (await rig.Gateway.SendAsync("orchestrator.doctor.create", OrchestratorRig.Doctor($"metrics-{Guid.NewGuid():N}@example.org"), TimeSpan.FromSeconds(60)))!.Value;
        using var api = rig.Server!.NewClient(ProcessRig.AdminKey);
        // The server counts the request it took after acknowledging it, which may come after the reply.
        var metrics = await Poll.UntilAsync(
            async () => PrometheusText.Parse(await api.GetStringAsync(new Uri("/metrics", UriKind.Relative))),
            m => m.Named("baton_rabbitmq_server_messages_total").Any(s => s.Labels["queue"] == rig.Queue),
            "the request counted on /metrics");

        Assert.Equal("completed", result.GetProperty("status").GetString());
        // The saga's request taken from the orchestrator's queue, and its calls to the two services answered.
        Assert.Contains(metrics.Named("baton_rabbitmq_server_messages_total"), s => s.Labels["queue"] == rig.Queue);
        Assert.Contains(metrics.Named("baton_rabbitmq_client_calls_total"), s => s.Labels["queue"] == rig.AccountsQueue && s.Labels["outcome"] == "ok");
        Assert.Contains(metrics.Named("baton_rabbitmq_client_calls_total"), s => s.Labels["queue"] == rig.DirectoryQueue && s.Labels["outcome"] == "ok");
    }
}
