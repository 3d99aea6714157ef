using System.Diagnostics;
using Baton.Core.Tests.Support;
using Baton.Diagnostics;

namespace Baton.Core.Tests.Diagnostics;

/// <summary>Runs started while nothing listens to Baton's source: a span nobody samples is not stored with the run, a sampled one is.</summary>
[Collection(NoListenerCollection.Name)]
public sealed class TracingWithoutListenerTests
{
    [Fact]
    public async Task CaptureCurrent_UnsampledSpanNothingListens_StoresNoContext()
    {
        var (record, _) = await StartUnderSpanAsync(ActivityTraceFlags.None);

        Assert.Null(record.TraceParent);
        Assert.Null(record.TraceState);
    }

    [Fact]
    public async Task CaptureCurrent_SampledSpanNothingListens_StoresW3CContext()
    {
        var (record, span) = await StartUnderSpanAsync(ActivityTraceFlags.Recorded);

        Assert.Equal(span.Id, record.TraceParent);
        Assert.Equal("vendor=abc", record.TraceState);
    }

    /// <summary>Starts a run under a span made as ASP.NET Core makes one when nothing traces (a new Activity, its parent from a traceparent).</summary>
    private static async Task<(Storage.RunRecord Record, Activity Span)> StartUnderSpanAsync(ActivityTraceFlags flags)
    {
        Assert.False(BatonTracing.Source.HasListeners(), "a test left a listener on the Baton source");
        await using var node = await EngineHarness.StartAsync(b => b.AddWorkflow<int, int>("plain", (_, _, _) => Task.FromResult(1)), startServices: false);
        using var span = new Activity("request").SetParentId(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), flags);
        span.TraceStateString = "vendor=abc";
        span.Start();
        try
        {
            var id = await node.StartRunAsync("plain");
            Assert.Equal(flags == ActivityTraceFlags.Recorded, span.Recorded);
            return ((await node.Store.Runs.GetRunAsync(id))!, span);
        }
        finally
        {
            span.Stop();
        }
    }
}

/// <summary>Tests that need no listener on Baton's source: run after the parallel tests, whose span collectors listen to it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NoListenerCollection
{
    public const string Name = "No listener on Baton's source";
}
