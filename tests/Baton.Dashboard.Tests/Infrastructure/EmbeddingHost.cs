using Baton.AspNetCore;
using Baton.Hosting;
using Baton.Retries;
using Baton.Runs;
using Baton.Storage.Sqlite;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Baton.Dashboard.Tests.Infrastructure;

/// <summary>Input of the embedding host's workflows: <see cref="Text"/> goes everywhere the dashboard shows a run's own words.</summary>
public sealed record HostileInput(string Text);

/// <summary>
/// An ASP.NET Core app of its own that embeds Baton and its dashboard as the README shows (<c>AddBaton()</c> on SQLite,
/// <c>AddBatonServer()</c>, <c>MapBatonApi()</c>, <c>MapBatonDashboard()</c>), optionally mounted under a path base with
/// <c>app.UsePathBase(...)</c>. Real Kestrel on a free 127.0.0.1 port. Its workflows:
/// <list type="bullet">
/// <item><c>awaiting</c>: waits for the event <c>go</c> (stays active, so its page is live and can be cancelled).</item>
/// <item><c>failing</c>: one step that fails for good (the run can be retried).</item>
/// <item><c>failing-step</c>: the same, its step named by its input's text.</item>
/// <item><c>echo</c>: puts its input's text in its phase, a bar's and a counter's names, a fan-out item's key, an error
/// and its step, then waits for the event <c>go</c> and fails with the text as the exception's message.</item>
/// </list>
/// </summary>
public sealed class EmbeddingHost : IAsyncDisposable
{
    public const string AdminKey = "embedding-host-admin-key-5d2b8e61a0f4";

    private readonly WebApplication _app;
    private readonly string _directory;

    private EmbeddingHost(WebApplication app, string directory)
    {
        _app = app;
        _directory = directory;
        BaseAddress = new Uri(app.Urls.First());
    }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    public IBatonClient Client => _app.Services.GetRequiredService<IBatonClient>();

    /// <summary>
    /// Starts the host; with <paramref name="pathBase"/> it mounts everything under it with <c>UsePathBase</c>. With
    /// <paramref name="dashboardKeyMatches"/> the dashboard checks the sign-in key with it (a host whose key can change while
    /// it runs) instead of the server's <see cref="AdminKey"/>.
    /// </summary>
    public static async Task<EmbeddingHost> StartAsync(string? pathBase = null, Func<string?, bool>? dashboardKeyMatches = null)
    {
        var directory = TestPaths.NewTempDirectory();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = directory });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var baton = builder.Services.AddBaton(o => o.PollInterval = TimeSpan.FromMilliseconds(50))
            .UseSqlite(o => o.Path = Path.Combine(directory, "baton.db"));
        baton.AddWorkflow<HostileInput, int>("awaiting", async (context, input, cancellationToken) =>
        {
            await context.WaitForEventAsync<int>("go", cancellationToken: cancellationToken);
            return 0;
        });
        baton.AddWorkflow<HostileInput, int>("failing", (context, input, cancellationToken) =>
            context.StepAsync<int>("charge", _ => throw new NonRetryableException("card declined"), cancellationToken: cancellationToken));
        baton.AddWorkflow<HostileInput, int>("failing-step", (context, input, cancellationToken) =>
            context.StepAsync<int>(input.Text, _ => throw new NonRetryableException("card declined"), cancellationToken: cancellationToken));
        baton.AddWorkflow<HostileInput, int>("echo", async (context, input, cancellationToken) =>
        {
            var text = input.Text;
            context.SetPhase(text);
            context.SetProgress(text + ".total", 2);
            context.SetProgress(text + ".done", 1);
            context.SetProgress(text, 7);
            // An item key is at most 500 characters with the fan-out's name.
            await context.ForEachAsync("items", new[] { text }, item => item[..Math.Min(item.Length, 400)], (item, _) => Task.FromResult(item.Length), cancellationToken: cancellationToken);
            context.ReportError(text, text);
            await context.WaitForEventAsync<int>("go", cancellationToken: cancellationToken);
            throw new NonRetryableException(text);
        });
        builder.Services.AddBatonServer(o => o.AdminKey = AdminKey);

        var app = builder.Build();
        if (pathBase is not null)
        {
            // Before authentication and authorization, as the README says (they run again after the reroute).
            app.UsePathBase(pathBase);
            app.UseAuthentication();
            app.UseAuthorization();
        }

        app.MapBatonApi();
        if (dashboardKeyMatches is null)
        {
            app.MapBatonDashboard();
        }
        else
        {
            app.MapBatonDashboard(dashboardKeyMatches);
        }
        await app.StartAsync();
        await WorkerStart.WaitAsync(app.Services);
        return new EmbeddingHost(app, directory);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
