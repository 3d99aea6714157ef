using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Baton.Client;

public sealed partial class BatonApiClient
{
    /// <summary>The workflows registered on the server, by name.</summary>
    public async Task<IReadOnlyList<WorkflowView>> ListWorkflowsAsync(CancellationToken cancellationToken = default)
    {
        using var request = ApiTransport.Request(HttpMethod.Get, "api/workflows");
        var response = await ApiTransport.SendAsync(_http, request, cancellationToken).ConfigureAwait(false);
        return await ApiTransport.ReadAsync<List<WorkflowView>>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every schedule.</summary>
    public async Task<IReadOnlyList<ScheduleView>> ListSchedulesAsync(CancellationToken cancellationToken = default)
    {
        using var request = ApiTransport.Request(HttpMethod.Get, "api/schedules");
        var response = await ApiTransport.SendAsync(_http, request, cancellationToken).ConfigureAwait(false);
        return await ApiTransport.ReadAsync<List<ScheduleView>>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The schedule named <paramref name="name"/>, or null.</summary>
    public Task<ScheduleView?> GetScheduleAsync(string name, CancellationToken cancellationToken = default)
    {
        return GetOrNullAsync<ScheduleView>($"api/schedules/{ApiTransport.Segment(name, "schedule")}", cancellationToken);
    }

    /// <summary>Creates or replaces a schedule (<c>PUT /api/schedules/{name}</c>); a bad cron, zone or workflow is a 400 <see cref="BatonApiException"/>.</summary>
    public async Task<ScheduleView> SetScheduleAsync(string name, ScheduleDefinition definition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var body = new Dictionary<string, object?>
        {
            ["workflow"] = definition.Workflow,
            ["cron"] = definition.Cron,
            ["enabled"] = definition.Enabled,
        };
        if (definition.TimeZone is not null)
        {
            body["timeZone"] = definition.TimeZone;
        }

        if (definition.Input is { ValueKind: not JsonValueKind.Undefined } input)
        {
            body["input"] = input;
        }

        if (definition.Misfire is not null)
        {
            body["misfire"] = definition.Misfire;
        }

        using var request = ApiTransport.Request(HttpMethod.Put, $"api/schedules/{ApiTransport.Segment(name, "schedule")}", body);
        var response = await ApiTransport.SendAsync(_http, request, cancellationToken).ConfigureAwait(false);
        return await ApiTransport.ReadAsync<ScheduleView>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes a schedule; false when there was none of that name.</summary>
    public async Task<bool> DeleteScheduleAsync(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            using var request = ApiTransport.Request(HttpMethod.Delete, $"api/schedules/{ApiTransport.Segment(name, "schedule")}");
            using var response = await ApiTransport.SendAsync(_http, request, cancellationToken).ConfigureAwait(false);
            // Baton answers a delete with 204; another success (a login page, another service on that port) deleted nothing.
            return response.StatusCode == HttpStatusCode.NoContent
                ? true
                : throw new BatonApiException(response.StatusCode, "Not a Baton answer",
                    $"the server answered {(int)response.StatusCode} {response.Content.Headers.ContentType?.MediaType ?? "without a content type"} to a delete where Baton answers 204; is the URL Baton's API?");
        }
        catch (BatonApiException ex) when (ApiTransport.IsNotFound(ex))
        {
            return false;
        }
    }

    /// <summary>
    /// The live nodes sharing the server's store (heartbeat within three heartbeat intervals), from <c>GET /health</c>;
    /// empty when the server cannot read its store.
    /// </summary>
    public async Task<IReadOnlyList<NodeView>> ListNodesAsync(CancellationToken cancellationToken = default)
    {
        using var request = ApiTransport.Request(HttpMethod.Get, "health");
        // /health answers 503 with the same body when the node is not ready; the nodes are still worth showing.
        var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable)
            || (response.StatusCode == HttpStatusCode.ServiceUnavailable && response.Content.Headers.ContentType?.MediaType != "application/json"))
        {
            // A 503 that is not Baton's health (a proxy's page while the server is down) is an error like any other.
            using (response)
            {
                throw await ApiTransport.ToExceptionAsync(response, cancellationToken).ConfigureAwait(false);
            }
        }

        // A 200 that is not the health JSON (a login page) is "Not a Baton answer", not a bare JSON error.
        var health = await ApiTransport.ReadAsync<HealthNodes>(response, cancellationToken).ConfigureAwait(false);
        return health.Nodes ?? [];
    }

    private sealed record HealthNodes(IReadOnlyList<NodeView>? Nodes);
}
