using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Baton.Server.Tests.Embedding;

/// <summary>
/// samples/EmbeddedHost as a user gets Baton: built from the packages in the local feed (not project references), restored into
/// a packages folder of its own (so a package cached by an earlier run cannot stand in for the one just packed), started as a
/// process, and its own workflow run through the API.
/// </summary>
public sealed class EmbeddedHostSampleTests
{
    private const string Key = "embedded-sample-key-9d2c6e1f";
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);

    [PackageFeedFact]
    public async Task Sample_BuiltFromFeed_RunsItsWorkflowThroughTheApiAndCountsItOnMetrics()
    {
        var version = PackageFeed.Version();
        Assert.True(version is not null, $"no Baton packages in {PackageFeed.Directory}: scripts/test.sh packs them before dotnet test");
        var work = TestPaths.NewTempDirectory();
        try
        {
            var output = await BuildAsync(work, version!);
            var port = Ports.Free();
            await using var app = ChildProcess.Start(Path.Combine(output, "EmbeddedHost.dll"), [], new Dictionary<string, string?>
            {
                ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
                ["ADMIN_KEY"] = Key,
                ["Sample__Database"] = Path.Combine(work, "baton.db"),
            });
            var baseAddress = new Uri($"http://127.0.0.1:{port}");
            await app.WaitForOkAsync(new Uri(baseAddress, "/health"), TimeSpan.FromSeconds(60));
            using var client = new HttpClient { BaseAddress = baseAddress };
            client.DefaultRequestHeaders.Add("X-ADMIN-KEY", Key);

            using var started = await client.PostAsJsonAsync("/api/workflows/greeting/runs", new { name = "  Ada Lovelace " });
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();

            var run = await Poll.UntilAsync(
                async () => await client.GetFromJsonAsync<JsonElement>($"/api/runs/{id}"),
                r => r.GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled",
                $"run {id} of the sample's workflow to finish");
            Assert.Equal("succeeded", run.GetProperty("status").GetString());
            Assert.Equal("Hello, Ada Lovelace!", run.GetProperty("output").GetProperty("message").GetString());
            Assert.Equal(11, run.GetProperty("output").GetProperty("letters").GetInt32());

            // MapBatonMetrics works from the packages with AddBatonServer alone: the run is counted on /metrics.
            var metrics = await client.GetStringAsync("/metrics");
            Assert.Contains("baton_runs_completed_total{", metrics, StringComparison.Ordinal);
            Assert.Contains("workflow=\"greeting\"", metrics, StringComparison.Ordinal);
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Copies the sample's sources into <paramref name="work"/> and builds them against the feed; returns the output folder.</summary>
    private static async Task<string> BuildAsync(string work, string version)
    {
        var sample = Path.Combine(TestPaths.RepoRoot, "samples", "EmbeddedHost");
        var source = Directory.CreateDirectory(Path.Combine(work, "src")).FullName;
        foreach (var file in Directory.EnumerateFiles(sample).Where(f => Path.GetFileName(f) != "nuget.config"))
        {
            File.Copy(file, Path.Combine(source, Path.GetFileName(file)));
        }

        // The sample's own nuget.config points at ../../artifacts/packages; here the feed is wherever the test script put it, and
        // the machine's package cache serves every other package offline (nuget.org only for what it lacks).
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages
            ? packages
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var config = Path.Combine(work, "nuget.config");
        await File.WriteAllTextAsync(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="baton-local" value="{PackageFeed.Directory}" />
                <add key="offline" value="{cache}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="baton-local"><package pattern="Baton.*" /></packageSource>
                <packageSource key="offline"><package pattern="*" /></packageSource>
                <packageSource key="nuget.org"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """);
        var output = Path.Combine(work, "out");
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = source };
        foreach (var argument in new[]
        {
            "build", "-c", "Release", "-nologo", "-v", "q", "--configfile", config, "--packages", Path.Combine(work, "packages"),
            $"-p:BatonVersion={version}", "-o", output,
        })
        {
            start.ArgumentList.Add(argument);
        }

        var (exitCode, log) = await ProcessRunner.RunAsync(start, BuildTimeout);
        Assert.True(exitCode == 0, $"dotnet build of samples/EmbeddedHost against {PackageFeed.Directory} failed ({exitCode}):\n{log}");
        Assert.DoesNotContain(": warning ", log, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(output, "Baton.AspNetCore.dll")), "the sample should run on the packaged Baton.AspNetCore");
        Assert.False(File.Exists(Path.Combine(output, "Baton.Server.dll")), "the sample must not carry the runnable host");
        return output;
    }
}
