using Baton.Hosting;
using Baton.Runs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Baton.Storage.Postgres.Tests;

/// <summary>An engine node on PostgreSQL in this process: the services AddBaton registers, hosted services started.</summary>
internal sealed class PostgresEngineNode(ServiceProvider provider, List<IHostedService> hosted) : IAsyncDisposable
{
    public IRunCompletions Completions => provider.GetRequiredService<IRunCompletions>();

    public IBatonStore Store => provider.GetRequiredService<IBatonStore>();

    public IBatonClient Client => provider.GetRequiredService<IBatonClient>();

    /// <summary>Starts a node on <paramref name="schema"/>; <paramref name="connectionString"/> defaults to the test database's.</summary>
    public static async Task<PostgresEngineNode> StartAsync(
        string schema, string nodeId, TimeProvider time, Action<BatonBuilder> workflows, string? connectionString = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(time);
        workflows(services.AddBaton(o =>
            {
                o.NodeId = nodeId;
                o.RunScheduler = false;
            })
            .UsePostgres(o => { o.ConnectionString = connectionString ?? PostgresTestDatabase.ConnectionString; o.Schema = schema; }));
        var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().ToList();
        foreach (var service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        return new PostgresEngineNode(provider, hosted);
    }

    public async Task<string> StartAsync(string workflow, int input)
    {
        var result = await Client.StartRunAsync(
            new StartRunRequest { Workflow = workflow, Input = System.Text.Json.JsonSerializer.SerializeToElement(input) });
        Assert.Equal(StartRunOutcome.Created, result.Outcome);
        return result.Run!.Id;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = hosted.Count - 1; i >= 0; i--)
        {
            await hosted[i].StopAsync(CancellationToken.None);
        }

        await provider.DisposeAsync();
    }
}
