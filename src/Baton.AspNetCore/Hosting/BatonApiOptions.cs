using System.ComponentModel.DataAnnotations;
using Baton.Server.Auth;

namespace Baton.AspNetCore;

/// <summary>Settings of Baton's HTTP surface, given to <see cref="BatonServerServiceCollectionExtensions.AddBatonServer"/>.</summary>
public sealed class BatonApiOptions
{
    /// <summary>
    /// The admin key clients send in the <c>X-ADMIN-KEY</c> header (and <c>?key=</c> where an endpoint allows it). A secret:
    /// kept out of every log line. The default is null: no key is accepted, and only the host's own authentication schemes
    /// (see <see cref="AuthenticationSchemes"/>) let requests in.
    /// </summary>
    public string? AdminKey { get; set; }

    /// <summary>Largest JSON body the API reads (run input, event payload, schedule), in bytes, 1 to 1 GiB. The default is 1 MiB.</summary>
    [Range(1, 1L << 30)]
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How long an API request (<c>/api/...</c>) may take before it is answered <c>503 store-unavailable</c> with
    /// <c>Retry-After</c>: a store that hangs (a PostgreSQL server that is stopped but keeps its connections open) otherwise
    /// holds the request for as long as it hangs. A start or an event already sent to the store when the time runs out may
    /// still be stored once the store answers, so the problem says to repeat it with the same <c>Idempotency-Key</c>. Only the
    /// handler is timed, not reading the request body or writing the response. 1 second to 1 hour; the default is 10 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether <c>GET /metrics</c> needs the admin key. The default is false (Prometheus convention).</summary>
    public bool MetricsRequireAdminKey { get; set; }

    /// <summary>
    /// Whether <c>/metrics</c> also carries ASP.NET Core's and .NET's per-request detail instruments: active requests (server
    /// and client), HttpClient's open connections by state and time in the connection queue, routing match attempts, the
    /// memory pool, authentication and authorization attempts, rate limiting, SignalR connections and DNS lookups. Each
    /// records on every request, so they cost CPU on every call to the gateway or the API. The default is false: the request
    /// duration histograms (<c>http_server_request_duration_seconds</c>, <c>http_client_request_duration_seconds</c>),
    /// Kestrel's connections, HttpClient's connection durations and unhandled exceptions.
    /// </summary>
    public bool DetailedHttpMetrics { get; set; }

    /// <summary>
    /// The authentication schemes the <see cref="BatonAuthorization.PolicyName"/> policy accepts: a request authenticated by any
    /// of them may call the API. The default is the admin key scheme alone (<see cref="BatonAuthorization.AdminKeyScheme"/>);
    /// add <c>JwtBearerDefaults.AuthenticationScheme</c> to accept bearer tokens beside the key, or remove the admin key to
    /// accept only your own. For more than "authenticated by one of these", replace the policy after <c>AddBatonServer</c>.
    /// </summary>
    public IList<string> AuthenticationSchemes { get; } = [BatonAuthorization.AdminKeyScheme];

    /// <summary>
    /// Set by the runnable server, which owns every route: Baton's exception handlers answer every request (an app's route,
    /// an unmatched path) and its OpenAPI document lists every route. An embedding app leaves it false: they answer for, and
    /// list, Baton's own endpoints, and the app's own routes keep the app's handling and document.
    /// </summary>
    internal bool AnswersEveryRoute { get; set; }
}
