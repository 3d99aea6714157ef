using System.Text.Json;

namespace Baton.Client.Tests;

/// <summary>One real server on SQLite shared by the tests of a class.</summary>
public sealed class SqliteServerFixture : IAsyncLifetime
{
    public KeyedServer Server { get; private set; } = null!;

    public BatonApiClient NewClient(string? key = null) =>
        BatonApiClient.Create(Server.BaseAddress, key ?? Server.Key);

    public async Task InitializeAsync() => Server = await KeyedServer.StartAsync(TestStore.Sqlite);

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The demo workflow's input and output, as a user of the client writes them.</summary>
public sealed record DemoInput(int Items, int DelayMs, int Parallelism = 4, bool Fail = false, string? WaitFor = null, string? Group = null);

public sealed record DemoOutput(int Items, long Sum, string Summary, JsonElement? Event);
