using System.Diagnostics;
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
        var host = Path.Combine(AppContext.BaseDirectory, "Baton.Storage.Sqlite.CrashHost.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { "exec", host, path, durability.ToString() },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var acknowledged = new List<string>();
        using var process = Process.Start(start)!;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            Assert.Equal("ready", await process.StandardOutput.ReadLineAsync(timeout.Token));
            while (acknowledged.Count < 2_000)
            {
                var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
                Assert.NotNull(line);
                acknowledged.Add(line["ok ".Length..]);
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        // Lines the host printed before the kill but this test had not read yet are acknowledged too; they are checked as well.
        while (await process.StandardOutput.ReadLineAsync() is { } rest)
        {
            if (rest.StartsWith("ok ", StringComparison.Ordinal))
            {
                acknowledged.Add(rest["ok ".Length..]);
            }
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

        Assert.True(process.ExitCode != 0, "the host was killed, not finished");
        Assert.Empty(missing);
    }
}
