using Baton.Storage.Sqlite.Internal;
using Microsoft.Extensions.Logging.Abstractions;

namespace Baton.Storage.Sqlite.Tests;

/// <summary>Kills a real writer process (SIGKILL) mid-write and checks that every acknowledged write survived.</summary>
public sealed class SqliteCrashTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Theory]
    [InlineData(SqliteDurability.ProcessCrashSafe)]
    [InlineData(SqliteDurability.FullSync)]
    public async Task Kill_DuringGroupCommits_EveryAcknowledgedRunSurvives(SqliteDurability durability)
    {
        var path = _database.NewPath();
        List<string> acknowledged;
        await using (var process = CrashHost.Start(path, durability))
        {
            await process.WaitForLineAsync(line => line == "ready", "the host to open the store");
            await Poll.UntilAsync(() => Task.FromResult(Acknowledged(process).Count), n => n >= 2_000, "2000 acknowledged writes", TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(5));
            process.Kill();
            Assert.True(process.ExitCode != 0, "the host was killed, not finished");
            // Every line the host printed before the kill is an acknowledged write, read or not when the kill came.
            acknowledged = Acknowledged(process);
        }

        await using var store = new SqliteBatonStore(new SqliteStoreOptions { Path = path }, NullLogger<SqliteBatonStore>.Instance);
        var missing = new List<string>();
        foreach (var id in acknowledged)
        {
            if (await store.Runs.GetRunAsync(id) is null)
            {
                missing.Add(id);
            }
        }

        Assert.Empty(missing);
    }

    private static List<string> Acknowledged(ChildProcess process) =>
        [.. process.StdoutLines.Where(l => l.StartsWith("ok ", StringComparison.Ordinal)).Select(l => l["ok ".Length..])];
}

/// <summary>The writer process of the SQLite crash tests (Baton.Storage.Sqlite.CrashHost): creates runs forever, printing "ok {id}" after each.</summary>
internal static class CrashHost
{
    public static ChildProcess Start(string databasePath, SqliteDurability durability) =>
        ChildProcess.Start(Path.Combine(AppContext.BaseDirectory, "Baton.Storage.Sqlite.CrashHost.dll"), [databasePath, durability.ToString()], []);
}
