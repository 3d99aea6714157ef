using System.Net;
using Baton.Server.Tests.Infrastructure;
using Baton.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Baton.Server.Tests.Api;

/// <summary>A store error a retry can get past is a 503 problem with Retry-After, not ASP.NET Core's generic 500.</summary>
public sealed class StoreUnavailableTests
{
    [Fact]
    public async Task Request_HitsAPostgresConnectionWhoseBackendWasTerminated_503StoreUnavailableWithRetryAfter()
    {
        // A real 57P01 from the real server: a session terminated by pg_terminate_backend, used afterwards, as a pooled
        // connection is after a failover. Before: 500 "An error occurred while processing your request."
        await using var server = await InProcessServer.StartAsync(configure: (builder, _) =>
            builder.Services.AddSingleton<IStartupFilter>(new TerminatedSessionEndpoint()));

        using var response = await server.Client.GetAsync(TerminatedSessionEndpoint.Path);
        var problem = await InProcessServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("urn:baton:problem:store-unavailable", problem.GetProperty("type").GetString());
        Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
        Assert.Contains(server.Logs.Entries, e => e.EventId == 1102 && e.Message.Contains("SQLSTATE 57P01", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Request_HitsASqliteDatabaseThatIsFull_503StoreUnavailableWithRetryAfter()
    {
        // A real SQLITE_FULL (13): a database capped by max_page_count, as a full disk caps it. Before: a bare 500.
        await using var server = await InProcessServer.StartAsync(configure: (builder, _) =>
            builder.Services.AddSingleton<IStartupFilter>(new TerminatedSessionEndpoint()));

        using var response = await server.Client.GetAsync(TerminatedSessionEndpoint.FullPath);
        var problem = await InProcessServer.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("urn:baton:problem:store-unavailable", problem.GetProperty("type").GetString());
        Assert.Contains("full disk", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
    }

    [Fact]
    public async Task Request_ThrowsAnErrorThatIsNotTheStores_Stays500()
    {
        await using var server = await InProcessServer.StartAsync(configure: (builder, _) =>
            builder.Services.AddSingleton<IStartupFilter>(new TerminatedSessionEndpoint()));

        using var response = await server.Client.GetAsync(TerminatedSessionEndpoint.OtherPath);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
    }

    /// <summary>Answers <see cref="Path"/> by using a PostgreSQL session after terminating its backend.</summary>
    private sealed class TerminatedSessionEndpoint : IStartupFilter
    {
        public const string Path = "/test/terminated-session";
        public const string OtherPath = "/test/other-error";
        public const string FullPath = "/test/sqlite-full";

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            next(app);
            app.Run(async context =>
            {
                if (context.Request.Path == OtherPath)
                {
                    throw new InvalidOperationException("not a store error");
                }

                if (context.Request.Path == FullPath)
                {
                    var file = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"baton-full-{Guid.NewGuid():N}.db");
                    try
                    {
                        await using var full = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=False");
                        await full.OpenAsync();
                        await using var fill = full.CreateCommand();
                        fill.CommandText = "PRAGMA max_page_count = 3; CREATE TABLE t (x BLOB); INSERT INTO t VALUES (zeroblob(65536));";
                        await fill.ExecuteNonQueryAsync();
                    }
                    finally
                    {
                        File.Delete(file);
                    }
                }

                var connectionString = Environment.GetEnvironmentVariable("BATON_POSTGRES") is { Length: > 0 } set ? set : KeyedServer.DefaultPostgres;
                await PostgresDatabases.EnsureAsync(connectionString);
                await using var victim = new NpgsqlConnection(connectionString);
                await victim.OpenAsync();
                await using (var killer = new NpgsqlConnection(connectionString))
                {
                    await killer.OpenAsync();
                    await using var terminate = new NpgsqlCommand($"SELECT pg_terminate_backend({victim.ProcessID})", killer);
                    await terminate.ExecuteScalarAsync();
                }

                await Task.Delay(200);
                await using var use = new NpgsqlCommand("SELECT 1", victim);
                await use.ExecuteScalarAsync();
            });
        };
    }
}
