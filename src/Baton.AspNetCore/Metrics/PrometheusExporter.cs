using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Baton.Server.Metrics;

/// <summary>
/// Collects the measurements of one meter factory's <c>Baton</c> meter with a <see cref="MeterListener"/>
/// and writes them in the Prometheus text exposition format 0.0.4:
/// counters as <c>name_total</c>; histograms as cumulative <c>name_bucket{le=...}</c>, <c>name_sum</c>,
/// <c>name_count</c>; up-down counters and gauges as gauges. Instrument names have every character outside
/// <c>[a-zA-Z0-9_:]</c> replaced by <c>_</c> (so dots become underscores), and a unit of seconds adds
/// <c>_seconds</c>. Tags become labels, values escaped as the format requires.
/// </summary>
/// <remarks>
/// Only instruments whose meter was created by this host's <see cref="IMeterFactory"/> are collected,
/// so two hosts in one process (tests) do not see each other's numbers.
/// </remarks>
internal sealed class PrometheusExporter : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Histogram bucket upper bounds, in the instrument's unit (seconds for step duration).</summary>
    internal static readonly double[] Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, Family> _families = new();
    private readonly Lock _collectLock = new();

    public PrometheusExporter(IMeterFactory meterFactory, IEnumerable<string> meterNames)
    {
        var names = new HashSet<string>(meterNames, StringComparer.Ordinal);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (names.Contains(instrument.Meter.Name) && ReferenceEquals(instrument.Meter.Scope, meterFactory))
            {
                var family = _families.GetOrAdd(instrument, i => new Family(i));
                listener.EnableMeasurementEvents(instrument, family);
            }
        };
        _listener.MeasurementsCompleted = (instrument, _) => _families.TryRemove(instrument, out Family? _);
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<decimal>((_, value, tags, state) => ((Family)state!).Record((double)value, tags));
        _listener.Start();
    }

    /// <summary>Observes the observable instruments, then writes every family, sorted by name.</summary>
    public string Collect()
    {
        lock (_collectLock)
        {
            _listener.RecordObservableInstruments();
            var text = new StringBuilder();
            foreach (var family in _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                family.Write(text);
            }

            return text.ToString();
        }
    }

    /// <summary>
    /// Adds a series at zero for each tag set of the instrument named <paramref name="instrumentName"/> (if
    /// it is published), so the series is exported from the first scrape instead of after its first measurement.
    /// </summary>
    public void DeclareSeries(string instrumentName, IEnumerable<KeyValuePair<string, object?>[]> tagSets)
    {
        var families = _families.Where(f => f.Key.Name == instrumentName).Select(f => f.Value).ToList();
        foreach (var tags in tagSets)
        {
            foreach (var family in families)
            {
                family.Declare(tags);
            }
        }
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>The exposition name of an instrument: sanitized, unit suffix, <c>_total</c> for counters.</summary>
    internal static string MetricName(string instrumentName, string? unit, bool counter)
    {
        var name = new StringBuilder(instrumentName.Length + 16);
        foreach (var c in instrumentName)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or ':' ? c : '_');
        }

        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            name.Insert(0, '_');
        }

        var suffix = unit switch
        {
            "s" => "_seconds",
            "ms" => "_milliseconds",
            "By" => "_bytes",
            _ => "",
        };
        var result = name.ToString();
        if (suffix.Length > 0 && !result.EndsWith(suffix, StringComparison.Ordinal))
        {
            result += suffix;
        }

        return counter && !result.EndsWith("_total", StringComparison.Ordinal) ? result + "_total" : result;
    }

    internal static string LabelName(string key)
    {
        var name = new StringBuilder(key.Length);
        foreach (var c in key)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }

        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            name.Insert(0, '_');
        }

        return name.ToString();
    }

    /// <summary>Label values escape backslash, double quote and line feed.</summary>
    internal static string EscapeLabelValue(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>HELP text escapes backslash and line feed.</summary>
    internal static string EscapeHelp(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    internal static string FormatValue(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private enum Kind
    {
        Counter,
        Gauge,
        /// <summary>Observable instruments report current totals/values: each observation replaces the last.</summary>
        ObservedCounter,
        ObservedGauge,
        Histogram,
    }

    /// <summary>One instrument: its series by label set.</summary>
    /// <remarks>
    /// A measurement finds its series by its tags as given (<see cref="TagSet"/>, compared without building
    /// anything); the label text, sorted and escaped, is made once per new tag set. Tag sets that give the
    /// same labels (other order, <c>1</c> and <c>"1"</c>) share one series.
    /// </remarks>
    private sealed class Family
    {
        private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<TagSet, Series> _byTags = new(TagSet.Comparer);
        private readonly ConcurrentDictionary<TagSet, Series>.AlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>> _byTagSpan;
        private readonly Kind _kind;
        private readonly string? _help;

        public Family(Instrument instrument)
        {
            var type = instrument.GetType();
            var generic = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
            _kind = generic == typeof(Counter<>) ? Kind.Counter
                : generic == typeof(Histogram<>) ? Kind.Histogram
                : generic == typeof(ObservableCounter<>) ? Kind.ObservedCounter
                : generic == typeof(UpDownCounter<>) ? Kind.Gauge
                : Kind.ObservedGauge; // ObservableGauge, ObservableUpDownCounter, Gauge
            var isCounter = _kind is Kind.Counter or Kind.ObservedCounter;
            Name = MetricName(instrument.Name, instrument.Unit, isCounter);
            _help = instrument.Description;
            _byTagSpan = _byTags.GetAlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>>();
        }

        public string Name { get; }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (!_byTagSpan.TryGetValue(tags, out var series))
            {
                series = _series.GetOrAdd(Labels(tags), static (l, histogram) => new Series(l, histogram), _kind == Kind.Histogram);
                _byTagSpan.TryAdd(tags, series);
            }

            series.Record(value, _kind);
        }

        public void Declare(ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
            _series.GetOrAdd(Labels(tags), static (l, histogram) => new Series(l, histogram), _kind == Kind.Histogram);

        public void Write(StringBuilder text)
        {
            var type = _kind switch
            {
                Kind.Counter or Kind.ObservedCounter => "counter",
                Kind.Histogram => "histogram",
                _ => "gauge",
            };
            if (!string.IsNullOrEmpty(_help))
            {
                text.Append("# HELP ").Append(Name).Append(' ').Append(EscapeHelp(_help)).Append('\n');
            }

            text.Append("# TYPE ").Append(Name).Append(' ').Append(type).Append('\n');
            foreach (var series in _series.Values.OrderBy(s => s.Labels, StringComparer.Ordinal))
            {
                series.Write(text, Name, _kind == Kind.Histogram);
            }
        }

        private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length == 0)
            {
                return "";
            }

            var pairs = new List<(string Name, string Value)>(tags.Length);
            foreach (var tag in tags)
            {
                pairs.Add((LabelName(tag.Key), Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? ""));
            }

            return string.Join(',', pairs.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => $"{p.Name}=\"{EscapeLabelValue(p.Value)}\""));
        }
    }

    /// <summary>The tags of a measurement as given (names and values, in order), kept as a series key.</summary>
    private sealed class TagSet(KeyValuePair<string, object?>[] tags, int hash)
    {
        public static readonly TagComparer Comparer = new();

        public KeyValuePair<string, object?>[] Tags { get; } = tags;

        public int Hash { get; } = hash;

        internal sealed class TagComparer : IEqualityComparer<TagSet>, IAlternateEqualityComparer<ReadOnlySpan<KeyValuePair<string, object?>>, TagSet>
        {
            public bool Equals(TagSet? x, TagSet? y) => ReferenceEquals(x, y) || (x is not null && y is not null && Equals(new ReadOnlySpan<KeyValuePair<string, object?>>(x.Tags), y));

            public int GetHashCode(TagSet obj) => obj.Hash;

            public bool Equals(ReadOnlySpan<KeyValuePair<string, object?>> alternate, TagSet other)
            {
                var tags = other.Tags;
                if (alternate.Length != tags.Length)
                {
                    return false;
                }

                for (var i = 0; i < tags.Length; i++)
                {
                    if (!string.Equals(alternate[i].Key, tags[i].Key, StringComparison.Ordinal) || !object.Equals(alternate[i].Value, tags[i].Value))
                    {
                        return false;
                    }
                }

                return true;
            }

            public int GetHashCode(ReadOnlySpan<KeyValuePair<string, object?>> alternate)
            {
                var hash = new HashCode();
                foreach (var tag in alternate)
                {
                    hash.Add(tag.Key, StringComparer.Ordinal);
                    hash.Add(tag.Value);
                }

                return hash.ToHashCode();
            }

            public TagSet Create(ReadOnlySpan<KeyValuePair<string, object?>> alternate) => new(alternate.ToArray(), GetHashCode(alternate));
        }
    }

    private sealed class Series(string labels, bool histogram)
    {
        private readonly Lock _lock = new();
        private readonly long[]? _bucketCounts = histogram ? new long[Buckets.Length] : null;
        private double _value;
        private long _count;

        public string Labels { get; } = labels;

        public void Record(double value, Kind kind)
        {
            lock (_lock)
            {
                switch (kind)
                {
                    case Kind.Counter or Kind.Gauge:
                        _value += value;
                        break;
                    case Kind.ObservedCounter or Kind.ObservedGauge:
                        _value = value;
                        break;
                    case Kind.Histogram:
                        _value += value;
                        _count++;
                        var index = Array.FindIndex(Buckets, b => value <= b);
                        if (index >= 0)
                        {
                            _bucketCounts![index]++;
                        }

                        break;
                }
            }
        }

        public void Write(StringBuilder text, string name, bool isHistogram)
        {
            lock (_lock)
            {
                if (!isHistogram)
                {
                    Sample(text, name, Labels, _value);
                    return;
                }

                long cumulative = 0;
                for (var i = 0; i < Buckets.Length; i++)
                {
                    cumulative += _bucketCounts![i];
                    Sample(text, name + "_bucket", Join(Labels, $"le=\"{FormatValue(Buckets[i])}\""), cumulative);
                }

                Sample(text, name + "_bucket", Join(Labels, "le=\"+Inf\""), _count);
                Sample(text, name + "_sum", Labels, _value);
                Sample(text, name + "_count", Labels, _count);
            }
        }

        private static string Join(string labels, string extra) => labels.Length == 0 ? extra : labels + "," + extra;

        private static void Sample(StringBuilder text, string name, string labels, double value)
        {
            text.Append(name);
            if (labels.Length > 0)
            {
                text.Append('{').Append(labels).Append('}');
            }

            text.Append(' ').Append(FormatValue(value)).Append('\n');
        }
    }
}
