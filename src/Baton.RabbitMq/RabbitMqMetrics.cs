using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Baton.RabbitMq;

/// <summary>The transport's metrics, on the meter <c>Baton.RabbitMq</c>.</summary>
internal sealed class RabbitMqMetrics : IDisposable
{
    public const string MeterName = "Baton.RabbitMq";

    private readonly Meter _meter;
    private readonly Counter<long> _serverMessages;
    private readonly Histogram<double> _serverDuration;
    private readonly Counter<long> _clientCalls;
    private readonly Histogram<double> _clientDuration;

    public RabbitMqMetrics(IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _serverMessages = _meter.CreateCounter<long>("baton.rabbitmq.server.messages", "{message}",
            "Messages taken by Nest servers, by queue and outcome (replied, error, run_started, duplicate, event, rejected, bad_message, requeued).");
        _serverDuration = _meter.CreateHistogram<double>("baton.rabbitmq.server.duration", "s",
            "Time from receiving a request to acknowledging it, by queue.");
        _clientCalls = _meter.CreateCounter<long>("baton.rabbitmq.client.calls", "{call}",
            "Calls of Nest clients, by queue and outcome (ok, error, timeout, failed, event).");
        _clientDuration = _meter.CreateHistogram<double>("baton.rabbitmq.client.duration", "s",
            "Time from sending a request to its reply, by queue.");
    }

    public void ServerMessage(string queue, string outcome, long startTimestamp)
    {
        _serverMessages.Add(1, new("queue", queue), new("outcome", outcome));
        _serverDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, new KeyValuePair<string, object?>("queue", queue));
    }

    public void ClientCall(string queue, string outcome, long startTimestamp)
    {
        _clientCalls.Add(1, new("queue", queue), new("outcome", outcome));
        if (outcome is "ok" or "error")
        {
            _clientDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, new KeyValuePair<string, object?>("queue", queue));
        }
    }

    public void Dispose() => _meter.Dispose();
}
