using Baton.Storage;
using Baton.Storage.Sqlite;
using Baton.Storage.Sqlite.Internal;
using Microsoft.Extensions.Logging.Abstractions;

// Usage: <db path> <ProcessCrashSafe|FullSync>. Writes runs from 32 concurrent writers forever and
// prints "ok <id>" after each create returned; the parent kills the process at a random moment.
var durability = Enum.Parse<SqliteDurability>(args[1]);
var store = new SqliteBatonStore(new SqliteStoreOptions { Path = args[0], Durability = durability }, NullLogger<SqliteBatonStore>.Instance);
await store.InitializeAsync();
var output = Console.Out;
var gate = new Lock();
Console.WriteLine("ready");
await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
{
    while (true)
    {
        var id = Guid.CreateVersion7().ToString();
        await store.Runs.CreateRunAsync(new CreateRunRequest { Id = id, Workflow = "crash", Now = DateTimeOffset.UnixEpoch });
        lock (gate)
        {
            output.WriteLine("ok " + id);
            output.Flush();
        }
    }
})));
