using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Baton.Testing;

/// <summary>Sums every measurement of one meter's instruments by instrument name, from its creation until disposed.</summary>
public sealed class MeterTotals : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, double> _totals = new(StringComparer.Ordinal);

    public MeterTotals(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => Add(instrument.Name, value));
        _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => Add(instrument.Name, value));
        _listener.Start();
    }

    /// <summary>The sum of the measurements of the instrument named <paramref name="instrument"/> so far (0 if none).</summary>
    public double this[string instrument] => _totals.GetValueOrDefault(instrument);

    public void Dispose() => _listener.Dispose();

    private void Add(string name, double value) => _totals.AddOrUpdate(name, value, (_, total) => total + value);
}
