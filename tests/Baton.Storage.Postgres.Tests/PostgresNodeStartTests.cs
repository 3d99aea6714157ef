using Baton.Hosting;
using Baton.Nodes;
using Baton.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Baton.Storage.Postgres.Tests;

/// <summary>The engine's start on PostgreSQL: a node id held by a live process is not shared; the second process says so and leases under its own name.</summary>
public sealed class PostgresNodeStartTests : IAsyncLifetime
{
    private readonly PostgresTestDatabase _database = new();

    public Task InitializeAsync() => PostgresTestDatabase.EnsureDatabaseAsync();

    public Task DisposeAsync() => _database.DisposeAsync().AsTask();

    [Fact]
    public async Task Start_NodeIdHeldByLiveNode_SecondNodeLeasesUnderOwnNameAndWarns()
    {
        var schema = _database.NewSchema();
        await using var first = Node(schema, new CapturingLoggerProvider());
        var secondLogs = new CapturingLoggerProvider();
        await using var second = Node(schema, secondLogs);

        var firstHosted = await StartAsync(first);
        var secondHosted = await StartAsync(second);
        try
        {
            var firstOwner = first.GetRequiredService<IBatonNodes>().NodeId;
            var secondOwner = second.GetRequiredService<IBatonNodes>().NodeId;

            Assert.Equal("node-a", firstOwner);
            Assert.StartsWith("node-a-", secondOwner, StringComparison.Ordinal);
            Assert.Contains(secondLogs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("Node id node-a is held by another live process", StringComparison.Ordinal));
        }
        finally
        {
            await StopAsync(secondHosted);
            await StopAsync(firstHosted);
        }
    }

    private static ServiceProvider Node(string schema, CapturingLoggerProvider logs)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs));
        services.AddBaton(o => { o.NodeId = "node-a"; o.RunScheduler = false; })
            .UsePostgres(o => { o.ConnectionString = PostgresTestDatabase.ConnectionString; o.Schema = schema; })
            .AddWorkflow<int, int>("double", (_, input, _) => Task.FromResult(input * 2));
        return services.BuildServiceProvider();
    }

    private static async Task<List<IHostedService>> StartAsync(IServiceProvider provider)
    {
        var hosted = provider.GetServices<IHostedService>().ToList();
        foreach (var service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        return hosted;
    }

    private static async Task StopAsync(List<IHostedService> hosted)
    {
        for (var i = hosted.Count - 1; i >= 0; i--)
        {
            await hosted[i].StopAsync(CancellationToken.None);
        }
    }
}
