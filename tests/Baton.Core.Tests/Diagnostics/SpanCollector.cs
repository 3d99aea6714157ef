using System.Collections;
using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Baton.Core.Tests.Diagnostics;

/// <summary>
/// An OpenTelemetry tracer provider with the in-memory exporter, listening to Baton's source, the test's own source
/// and HttpClient's. Spans of other tests running at the same time are collected too: tests filter by trace id.
/// </summary>
internal sealed class SpanCollector : IDisposable
{
    public static readonly ActivitySource TestSource = new("Baton.Core.Tests.Tracing");

    private readonly SignallingList _spans = new();
    private readonly TracerProvider _provider;

    public SpanCollector()
    {
        _provider = Sdk.CreateTracerProviderBuilder()
            .AddSource(Baton.Diagnostics.BatonDiagnostics.ActivitySourceName, TestSource.Name, "System.Net.Http")
            .SetSampler(new AlwaysOnSampler())
            .AddInMemoryExporter(_spans)
            .Build()!;
    }

    /// <summary>Waits (up to 60 s) until the spans exported in <paramref name="traceId"/> satisfy <paramref name="until"/>; returns them.</summary>
    public async Task<IReadOnlyList<Activity>> WaitForTraceAsync(ActivityTraceId traceId, Func<IReadOnlyList<Activity>, bool> until)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var changed = _spans.NextChange;
            var spans = _spans.Snapshot().Where(a => a.TraceId == traceId).ToList();
            if (until(spans))
            {
                return spans;
            }

            try
            {
                await changed.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"spans of trace {traceId} never matched; got: {string.Join(", ", spans.Select(s => s.DisplayName))}");
            }
        }
    }

    /// <summary>Waits (up to 60 s) for the run span tagged with <paramref name="runId"/>.</summary>
    public async Task<Activity> WaitForRunSpanAsync(string runId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var changed = _spans.NextChange;
            var span = _spans.Snapshot().FirstOrDefault(a => a.DisplayName.StartsWith("run ", StringComparison.Ordinal) && Equals(a.GetTagItem(Baton.Diagnostics.BatonDiagnostics.RunIdTag), runId));
            if (span is not null)
            {
                return span;
            }

            await changed.WaitAsync(timeout.Token);
        }
    }

    public void Dispose() => _provider.Dispose();

    /// <summary>A thread-safe list the exporter adds to, with a task completed on each addition.</summary>
    private sealed class SignallingList : ICollection<Activity>
    {
        private readonly List<Activity> _items = [];
        private readonly Lock _lock = new();
        private TaskCompletionSource _change = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task NextChange
        {
            get
            {
                lock (_lock)
                {
                    return _change.Task;
                }
            }
        }

        public int Count
        {
            get
            {
                lock (_lock)
                {
                    return _items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public void Add(Activity item)
        {
            TaskCompletionSource changed;
            lock (_lock)
            {
                _items.Add(item);
                changed = _change;
                _change = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            changed.SetResult();
        }

        public List<Activity> Snapshot()
        {
            lock (_lock)
            {
                return [.. _items];
            }
        }

        public void Clear()
        {
            lock (_lock)
            {
                _items.Clear();
            }
        }

        public bool Contains(Activity item) => Snapshot().Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => Snapshot().CopyTo(array, arrayIndex);

        public bool Remove(Activity item)
        {
            lock (_lock)
            {
                return _items.Remove(item);
            }
        }

        public IEnumerator<Activity> GetEnumerator() => Snapshot().GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
