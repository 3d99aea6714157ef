using Baton.Apps.CatalogSync.Tests.Infrastructure;

namespace Baton.Apps.CatalogSync.Tests.Hosting;

/// <summary>The catalog's paths are checked when the real server starts: a wrong one stops it with exit code 2 naming the setting.</summary>
public sealed class StartupChecksTests
{
    [Fact]
    public async Task Start_DatabasePathIsDirectory_Exit2NamingTheSetting()
    {
        var directory = TestPaths.NewTempDirectory();
        var databaseDirectory = Directory.CreateDirectory(Path.Combine(directory, "catalog.db")).FullName;

        var (exitCode, output) = await StartAndWaitAsync(directory, new() { ["Baton__Apps__CatalogSync__DatabasePath"] = databaseDirectory });

        Assert.Equal(2, exitCode);
        Assert.Contains($"Baton:Apps:CatalogSync:DatabasePath '{databaseDirectory}' is a directory", output, StringComparison.Ordinal);
        Assert.DoesNotContain("SqliteException", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_BlobDirectoryIsFileAndDatabaseUnderAFile_Exit2NamingBothSettingsTogether()
    {
        var directory = TestPaths.NewTempDirectory();
        var file = Path.Combine(directory, "not-a-directory");
        await File.WriteAllTextAsync(file, "x");

        var (exitCode, output) = await StartAndWaitAsync(directory, new()
        {
            ["Baton__Apps__CatalogSync__BlobDirectory"] = file,
            ["Baton__Apps__CatalogSync__DatabasePath"] = Path.Combine(file, "catalog", "catalog.db"),
        });

        Assert.Equal(2, exitCode);
        Assert.Contains($"Baton:Apps:CatalogSync:BlobDirectory '{file}' is a file", output, StringComparison.Ordinal);
        Assert.Contains($"Baton:Apps:CatalogSync:DatabasePath '{Path.Combine(file, "catalog", "catalog.db")}' cannot create its directory: '{file}' is a file", output, StringComparison.Ordinal);
        Assert.Equal("x", await File.ReadAllTextAsync(file));
    }

    [Fact]
    public async Task Start_PathsInADirectoryThisProcessCannotWrite_Exit2NamingBothSettingsNotASqliteError()
    {
        // Before: under systemd's ProtectSystem=strict (a read-only content root) the server started, then failed with
        // "SQLite Error 14: 'unable to open database file'" naming no path, exit 1 (restarted every 5 s). /sys refuses a
        // new file even to root, as a read-only mount does.
        var directory = TestPaths.NewTempDirectory();

        var (exitCode, output) = await StartAndWaitAsync(directory, new()
        {
            ["Baton__Apps__CatalogSync__BlobDirectory"] = "/sys/baton-catalog/feeds",
            ["Baton__Apps__CatalogSync__DatabasePath"] = "/sys/baton-catalog/catalog.db",
        });

        Assert.Equal(2, exitCode);
        Assert.Contains("Baton:Apps:CatalogSync:BlobDirectory '/sys/baton-catalog/feeds' cannot be written: '/sys' is not writable by this process", output, StringComparison.Ordinal);
        Assert.Contains("Baton:Apps:CatalogSync:DatabasePath '/sys/baton-catalog/catalog.db' cannot be written: '/sys' is not writable by this process", output, StringComparison.Ordinal);
        Assert.DoesNotContain("SqliteException", output, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(directory, ".baton-write-probe-*"));
    }

    private static async Task<(int ExitCode, string Output)> StartAndWaitAsync(string directory, Dictionary<string, string> settings)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ADMIN_KEY"] = SyncHarness.AdminKey,
            ["Baton__Store__Sqlite__Path"] = Path.Combine(directory, "baton.db"),
            ["Baton__Apps__CatalogSync__Enabled"] = "true",
            ["MEDIPIM_API_URL"] = "http://127.0.0.1:9/feed",
        };
        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }

        await using var server = ServerProcess.Start(environment);
        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exitCode, server.Output);
    }
}
