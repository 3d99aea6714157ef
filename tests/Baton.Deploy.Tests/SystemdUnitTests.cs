using System.Diagnostics;
using System.Globalization;

namespace Baton.Deploy.Tests;

/// <summary>
/// The units under deploy/systemd, checked by systemd's own tools (no systemd runs here: <c>verify</c> and
/// <c>security --offline</c> read the files). The service's ExecStart is <c>/usr/bin/dotnet</c>; verify needs that
/// path to exist, so on a machine whose dotnet lives elsewhere the copy verified points at <c>command -v dotnet</c>.
/// </summary>
public sealed class SystemdUnitTests
{
    private static readonly string[] Units = ["baton.service", "baton-catalog-sync.service", "baton-catalog-sync.timer"];

    [Fact]
    public async Task Verify_EveryUnit_NoErrorOrWarning()
    {
        var copy = CopyUnits();
        try
        {
            var result = await SystemdAnalyzeAsync(["verify", "--man=no", .. Units.Select(u => Path.Combine(copy, u))]);

            Assert.True(result.ExitCode == 0, result.Output);
            // verify exits 0 for unknown keys or values it ignores; it names them on stderr.
            Assert.True(result.Output.Trim().Length == 0, result.Output);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public async Task Security_ServiceUnit_ExposureRatedOk()
    {
        var copy = CopyUnits();
        try
        {
            var result = await SystemdAnalyzeAsync(["security", "--offline=yes", "--no-pager", Path.Combine(copy, "baton.service")]);

            var line = result.Output.Split('\n').Single(l => l.Contains("Overall exposure level", StringComparison.Ordinal));
            var level = double.Parse(line.Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            Assert.True(level <= 2.0, line);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public void ServiceUnit_NotifyRestartAndStop_MatchTheServer()
    {
        var unit = Read("baton.service");

        Assert.Equal("notify", unit["Type"].Single());
        Assert.Equal("on-failure", unit["Restart"].Single());
        Assert.Equal("2", unit["RestartPreventExitStatus"].Single());
        Assert.Equal("SIGTERM", unit["KillSignal"].Single());
        Assert.Equal(DeployFiles.ShutdownTimeout, TimeSpan.FromSeconds(int.Parse(unit["TimeoutStopSec"].Single().TrimEnd('s'), CultureInfo.InvariantCulture)));
        Assert.Equal("/var/lib/baton/baton.db", unit["Environment"].Single(e => e.StartsWith("Baton__Store__Sqlite__Path=", StringComparison.Ordinal)).Split('=')[1]);
        Assert.Equal("baton", unit["StateDirectory"].Single());
        // ProtectSystem=strict makes the content root read-only: the catalog sync's files go under the state directory.
        Assert.All(
            new[] { "Baton__Apps__CatalogSync__BlobDirectory=", "Baton__Apps__CatalogSync__DatabasePath=" },
            name => Assert.StartsWith("/var/lib/baton/", unit["Environment"].Single(e => e.StartsWith(name, StringComparison.Ordinal)).Split('=')[1], StringComparison.Ordinal));
        // Secrets only through the environment file; none written in the unit.
        Assert.DoesNotContain(unit["Environment"], e => e.StartsWith("ADMIN_KEY", StringComparison.Ordinal) || e.StartsWith("BATON_POSTGRES", StringComparison.Ordinal));
        Assert.Equal("/etc/baton/baton.env", unit["EnvironmentFile"].Single());
    }

    [Fact]
    public void TimerUnit_StartsTheCatalogSyncServiceNightly()
    {
        var timer = Read("baton-catalog-sync.timer");
        var service = Read("baton-catalog-sync.service");

        Assert.Equal("baton-catalog-sync.service", timer["Unit"].Single());
        Assert.Equal("*-*-* 02:00:00 Europe/Brussels", timer["OnCalendar"].Single());
        Assert.Equal("true", timer["Persistent"].Single());
        Assert.Equal("oneshot", service["Type"].Single());
        Assert.Contains("-H @-", service["ExecStart"].Single(), StringComparison.Ordinal);
        Assert.Contains("/sync", service["ExecStart"].Single(), StringComparison.Ordinal);
    }

    /// <summary>The units' keys and values (every section together; a key given twice has two values).</summary>
    private static ILookup<string, string> Read(string unit) =>
        File.ReadAllLines(DeployFiles.PathOf("systemd", unit))
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#') && !l.StartsWith('[') && l.Contains('=', StringComparison.Ordinal))
            .Select(l => l.Split('=', 2))
            .ToLookup(kv => kv[0], kv => kv[1]);

    private static string CopyUnits()
    {
        var copy = TestPaths.NewTempDirectory();
        var dotnet = ResolveDotnet();
        foreach (var unit in Units)
        {
            var text = File.ReadAllText(DeployFiles.PathOf("systemd", unit));
            File.WriteAllText(Path.Combine(copy, unit), text.Replace("ExecStart=/usr/bin/dotnet ", $"ExecStart={dotnet} ", StringComparison.Ordinal));
        }

        return copy;
    }

    private static string ResolveDotnet() =>
        File.Exists("/usr/bin/dotnet")
            ? "/usr/bin/dotnet"
            : Environment.GetEnvironmentVariable("PATH")!.Split(':').Select(p => Path.Combine(p, "dotnet")).First(File.Exists);

    private static async Task<(int ExitCode, string Output)> SystemdAnalyzeAsync(string[] arguments)
    {
        var start = new ProcessStartInfo("systemd-analyze");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var result = await ProcessRunner.RunAsync(start, TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode != -1, $"systemd-analyze is needed: {result.Output}");
        return result;
    }
}
