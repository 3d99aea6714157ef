using System.Diagnostics;

namespace Baton.Deploy.Tests;

/// <summary>
/// The image's entry command, started as the container would start it, without a Docker engine: the server's
/// <c>dotnet publish</c> output stands in for <c>/app</c> (WORKDIR), a temporary folder for the volume, the final
/// stage's ENV is the whole environment, ENTRYPOINT is the command, and a network namespace of its own (as a
/// container has) gives it port 8080 whatever listens on 8080 on this machine. The HEALTHCHECK command runs inside
/// that namespace. Needs root (or CAP_SYS_ADMIN) for <c>unshare --net</c>.
/// </summary>
public sealed class ContainerEntryTests
{
    [Fact]
    public async Task EntryCommand_FromPublishOutput_HealthzAnswersOn8080AndSigtermExitsZeroWithinDrain()
    {
        var stage = Dockerfile.Parse(DeployFiles.PathOf("Dockerfile"))[^1];
        var workdir = stage.Last("WORKDIR")!;
        var volume = stage.Last("VOLUME")!;
        var root = TestPaths.NewTempDirectory();
        var app = Path.Combine(root, "app");
        var data = Path.Combine(root, "data");
        Directory.CreateDirectory(data);
        try
        {
            // The build stage runs `dotnet publish -c Release`; here the configuration the tests were built in, not rebuilt.
            var publish = await ProcessRunner.RunAsync(
                ServerUnderTest.Command("dotnet", "publish", Path.Combine(TestPaths.RepoRoot, "src", "Baton.Server", "Baton.Server.csproj"), "-c", TestPaths.Configuration, "--no-build", "--nologo", "-v", "q", "-o", app),
                TimeSpan.FromMinutes(3));
            Assert.True(publish.ExitCode == 0, $"dotnet publish failed: {publish.Output}");
            var namespaces = await ProcessRunner.RunAsync(ServerUnderTest.Command("unshare", "--net", "true"), TimeSpan.FromSeconds(10));
            Assert.True(namespaces.ExitCode == 0, $"unshare --net is needed to give the server a network of its own (run as root): {namespaces.Output}");

            var entry = stage.ExecForm("ENTRYPOINT");
            var start = ServerUnderTest.Command("unshare", ["--net", "--", "sh", "-c", "ip link set lo up && exec \"$@\"", "entry", .. entry]);
            start.WorkingDirectory = app;
            var environment = stage.Environment.ToDictionary(
                kv => kv.Key, kv => kv.Value.Replace(volume, data, StringComparison.Ordinal).Replace(workdir, app, StringComparison.Ordinal));
            // What `docker run -e ADMIN_KEY` adds: the server refuses to start in Production without it.
            environment["ADMIN_KEY"] = "container-entry-test-key-" + Guid.NewGuid().ToString("N");

            using var server = ServerUnderTest.Start(start, root, environment);
            var pid = server.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var healthcheck = stage.HealthcheckCommand();
            var probe = ServerUnderTest.Command("nsenter", [$"--net=/proc/{pid}/ns/net", "--", .. healthcheck]);
            await Poll.UntilAsync(
                async () =>
                {
                    Assert.False(server.Process.HasExited, $"the server exited: {server.Output}");
                    return (await ProcessRunner.RunAsync(probe, TimeSpan.FromSeconds(10))).ExitCode;
                },
                exitCode => exitCode == 0,
                "the HEALTHCHECK command to pass",
                TimeSpan.FromSeconds(60),
                TimeSpan.FromMilliseconds(200));

            var listening = await ProcessRunner.RunAsync(ServerUnderTest.Command("nsenter", $"--net=/proc/{pid}/ns/net", "--", "ss", "-Hltn"), TimeSpan.FromSeconds(10));
            Assert.Contains("0.0.0.0:8080", listening.Output, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(data, "baton.db")), "the SQLite database is not in the volume");

            var stopping = Stopwatch.StartNew();
            await ServerUnderTest.TerminateAsync(pid);

            using var drain = new CancellationTokenSource(DeployFiles.ShutdownTimeout);
            await server.Process.WaitForExitAsync(drain.Token);
            Assert.True(server.Process.ExitCode == 0, server.Output);
            var log = server.Output;
            Assert.Contains("listening on http://0.0.0.0:8080 (Production)", log, StringComparison.Ordinal);
            Assert.DoesNotContain("Overriding HTTP_PORTS", log, StringComparison.Ordinal);
            Assert.True(stopping.Elapsed < DeployFiles.ShutdownTimeout, $"stopped after {stopping.Elapsed}");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
