namespace Baton.Apps.ReviewGateway.Forwarding;

/// <summary>The input of a forwarding run: one accepted job.</summary>
public sealed record ForwardJob(string PlaceId, string JobId)
{
    /// <summary>The seed's deterministic job id: <c>reviews:&lt;placeId&gt;:start</c>.</summary>
    public static string JobIdFor(string placeId) => $"reviews:{placeId}:start";
}

/// <summary>The output of a forwarding run: the worker's answer.</summary>
public sealed record ForwardResult(string JobId, int WorkerStatus);

/// <summary>The body of <c>POST {WORKER_NODE_URL}/enqueue</c>, as the seed sends it: <c>{"placeId"}</c>.</summary>
internal sealed record WorkerEnqueueBody(string PlaceId);
