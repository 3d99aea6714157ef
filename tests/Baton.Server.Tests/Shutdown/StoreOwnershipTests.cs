using System.Net;
using Baton.Server;

namespace Baton.Server.Tests.Shutdown;

/// <summary>A SQLite database belongs to one server process at a time.</summary>
public sealed class StoreOwnershipTests
{
    private const string Key = "ownership-test-key-7d2e4b9a1c";
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Start_DatabaseOwnedByAnotherServer_ExitsWithConfigurationErrorNamingThePath()
    {
        var database = Path.Combine(TestPaths.NewTempDirectory(), "baton.db");
        var environment = new Dictionary<string, string?> { ["ADMIN_KEY"] = Key, ["Baton__Store__Sqlite__Path"] = database, ["Baton__Demo__Enabled"] = "false" };
        await using var owner = ServerProcess.Start(environment);
        await owner.WaitForLiveAsync();

        await using var second = ServerProcess.Start(environment);
        var exitCode = await second.WaitForExitAsync(ExitTimeout);
        using var client = owner.NewClient(Key);
        using var health = await client.GetAsync("/health");

        Assert.Equal(BatonServer.ConfigurationErrorExitCode, exitCode);
        Assert.Contains($"Baton cannot start: Baton:Store:Sqlite: the database '{database}' is in use by another process", second.Stderr, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        owner.Terminate();
        Assert.Equal(0, await owner.WaitForExitAsync(ExitTimeout));
    }
}
