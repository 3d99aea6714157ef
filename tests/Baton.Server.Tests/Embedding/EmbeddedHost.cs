using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using Baton.AspNetCore;
using Baton.Hosting;
using Baton.Server.Auth;
using Baton.Server.Http;
using Baton.Server.Tests.Infrastructure;
using Baton.Storage.Sqlite;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Baton.Server.Tests.Embedding;

/// <summary>
/// An ASP.NET Core app of its own that embeds Baton the way the README shows: <c>AddBaton()</c> on SQLite, <c>AddBatonServer()</c>
/// with the admin key and JWT bearer tokens (a symmetric test key) both accepted by Baton's policy, its own health endpoint with
/// its own check beside Baton's, its own route and its own form protected by ASP.NET Core's antiforgery (<c>/account/form</c>),
/// its own exception handler (registered after Baton's, with <c>UseExceptionHandler()</c>) and, when asked, its own OpenAPI
/// document (<c>AddOpenApi()</c>, <c>MapOpenApi()</c>). Real Kestrel on a free 127.0.0.1 port.
/// </summary>
internal sealed class EmbeddedHost : IAsyncDisposable
{
    public const string AdminKey = "embedded-admin-key-7c41d2a9e5b3";
    public const string Issuer = "https://issuer.test";
    public const string Audience = "baton";

    /// <summary>The HMAC key tokens are signed with (256 bits).</summary>
    public static readonly SymmetricSecurityKey SigningKey = new(Encoding.UTF8.GetBytes("embedded-host-test-signing-key-0123456789abcdef"));

    private readonly WebApplication _app;

    private EmbeddedHost(WebApplication app, string directory)
    {
        _app = app;
        Directory = directory;
        Client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
    }

    public string Directory { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The host's own page's text after its form was accepted.</summary>
    public const string FormSaved = "saved by the host";

    /// <summary>What the host's own exception handler writes before the exception's type name.</summary>
    public const string HostHandled = "handled by the host: ";

    /// <summary>The host's own routes that fail as a busy database fails (SQLITE_BUSY); the second reads Baton's store (<c>WithStoreTimeout()</c>).</summary>
    public const string HostDatabaseBusyPath = "/account/report";

    /// <inheritdoc cref="HostDatabaseBusyPath"/>
    public const string StoreRouteBusyPath = "/account/runs-report";

    /// <summary>
    /// Starts the host; with <paramref name="pathBase"/> it mounts everything under it with <c>UsePathBase</c>, as a host behind a
    /// prefix does. <paramref name="antiforgeryCookieName"/> is the name the host gives its own antiforgery cookie (registered
    /// before Baton's services, as an app's own services often are); without it the host keeps ASP.NET Core's.
    /// <paramref name="configureServices"/> runs after every other registration (to watch a store, say).
    /// </summary>
    public static async Task<EmbeddedHost> StartAsync(
        bool acceptBearer = true, bool hostCheckHealthy = true, bool adminKeyAccepted = true, string? pathBase = null, string? antiforgeryCookieName = null,
        bool hostOpenApi = false, Action<IServiceCollection>? configureServices = null, bool hostMapsOpenApi = false)
    {
        var directory = TestPaths.NewTempDirectory();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = directory });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var baton = builder.Services.AddBaton(o => o.PollInterval = TimeSpan.FromMilliseconds(50))
            .UseSqlite(o => o.Path = Path.Combine(directory, "baton.db"));
        TestWorkflows.AddQuick(baton);
        TestWorkflows.AddAwaiting(baton);
        builder.Services.AddAntiforgery(o =>
        {
            if (antiforgeryCookieName is not null)
            {
                o.Cookie.Name = antiforgeryCookieName;
            }
        });
        builder.Services.AddBatonServer(o =>
        {
            o.AdminKey = AdminKey;
            if (acceptBearer)
            {
                o.AuthenticationSchemes.Add(JwtBearerDefaults.AuthenticationScheme);
            }

            if (!adminKeyAccepted)
            {
                o.AuthenticationSchemes.Remove(BatonAuthorization.AdminKeyScheme);
            }
        });
        builder.Services.AddAuthentication().AddJwtBearer(o =>
        {
            o.MapInboundClaims = false;
            o.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = Issuer,
                ValidAudience = Audience,
                IssuerSigningKey = SigningKey,
            };
        });
        builder.Services.AddExceptionHandler<HostExceptionHandler>();
        if (hostOpenApi)
        {
            builder.Services.AddOpenApi();
        }

        builder.Services.AddHealthChecks().AddCheck("host-queue", () => hostCheckHealthy ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("queue down"));
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseExceptionHandler();
        if (pathBase is not null)
        {
            // After the path base, so they see the endpoint routed again without it (WebApplication's own run before).
            app.UsePathBase(pathBase);
            app.UseAuthentication();
            app.UseAuthorization();
        }

        app.MapGet("/hello", () => "hello from the host");
        // The host's own signed-in route: its only scheme of its own (JWT bearer) and no default named, as an app often has.
        app.MapGet("/account/me", (ClaimsPrincipal user) => "signed in as " + user.FindFirst("sub")?.Value).RequireAuthorization();
        // The host's own form, outside /ui, with ASP.NET Core's antiforgery as an app uses it.
        app.MapGet("/account/form", (HttpContext http, IAntiforgery antiforgery) =>
        {
            var tokens = antiforgery.GetAndStoreTokens(http);
            return Results.Content(
                $"<form method=\"post\" action=\"{http.Request.PathBase}/account/form\"><input type=\"hidden\" name=\"{tokens.FormFieldName}\" value=\"{tokens.RequestToken}\"></form>",
                "text/html");
        });
        app.MapPost("/account/form", async (HttpContext http, IAntiforgery antiforgery) =>
            await antiforgery.IsRequestValidAsync(http) ? Results.Text(FormSaved) : Results.Text("antiforgery check failed", statusCode: StatusCodes.Status400BadRequest));
        // The host's own upload, reading the body itself, and its own reports on a database that fails as a busy one does.
        app.MapPost("/account/upload", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            return (await reader.ReadToEndAsync()).Length;
        });
        app.MapGet(HostDatabaseBusyPath, string () => throw new SqliteException("database is locked", 5));
        app.MapGet(StoreRouteBusyPath, string () => throw new SqliteException("database is locked", 5)).WithStoreTimeout();
        if (hostOpenApi || hostMapsOpenApi)
        {
            app.MapOpenApi();
        }

        app.MapHealthChecks("/ready");
        app.MapBatonApi();
        app.MapBatonHealth();
        app.MapBatonDashboard();
        await app.StartAsync();
        await WorkerStart.WaitAsync(app.Services);
        return new EmbeddedHost(app, directory);
    }

    /// <summary>A token for <paramref name="audience"/>, signed with <paramref name="key"/> (the host's by default).</summary>
    public static string Token(string audience = Audience, SecurityKey? key = null, DateTime? expires = null) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            Subject = new ClaimsIdentity([new Claim("sub", "ops-robot")]),
            NotBefore = (expires ?? DateTime.UtcNow.AddMinutes(5)).AddMinutes(-10),
            Expires = expires ?? DateTime.UtcNow.AddMinutes(5),
            SigningCredentials = new SigningCredentials(key ?? SigningKey, SecurityAlgorithms.HmacSha256),
        });

    public static HttpRequestMessage Request(HttpMethod method, string path, string? bearer = null, string? adminKey = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        if (adminKey is not null)
        {
            request.Headers.Add(AdminKeyEndpointExtensions.HeaderName, adminKey);
        }

        return request;
    }

    /// <summary>The host's own exception handler: a text answer naming the exception, with its status (500 for most).</summary>
    private sealed class HostExceptionHandler : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            httpContext.Response.StatusCode = exception is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError;
            httpContext.Response.ContentType = "text/plain";
            await httpContext.Response.WriteAsync(HostHandled + exception.GetType().Name, cancellationToken);
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
