namespace Baton.Deploy.Tests;

public sealed class DockerfileTests
{
    private static readonly IReadOnlyList<DockerStage> Stages = Dockerfile.Parse(DeployFiles.PathOf("Dockerfile"));

    private static DockerStage Final => Stages[^1];

    [Fact]
    public void Dockerfile_Stages_BuildWithSdkAndRunOnAspNetRuntime()
    {
        Assert.Equal(2, Stages.Count);
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:10.0", Stages[0].Image, StringComparison.Ordinal);
        Assert.Contains(Stages[0].All("RUN"), r => r.StartsWith("dotnet publish src/Baton.Server/Baton.Server.csproj -c Release", StringComparison.Ordinal));
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:10.0", Final.Image, StringComparison.Ordinal);
        Assert.Contains(Final.All("COPY"), c => c.StartsWith($"--from={Stages[0].Name} ", StringComparison.Ordinal));
        Assert.Equal(["dotnet", "Baton.Server.dll"], Final.ExecForm("ENTRYPOINT"));
    }

    [Fact]
    public void Dockerfile_User_IsNotRoot()
    {
        var user = Final.Last("USER");
        Assert.NotNull(user);
        Assert.DoesNotContain(user, new[] { "root", "0", "0:0" });
        // The aspnet image's own non-root user, and it owns the data directory.
        Assert.Equal("$APP_UID", user);
        Assert.Contains(Final.All("RUN"), r => r.Contains("chown \"$APP_UID:$APP_UID\" /var/lib/baton", StringComparison.Ordinal));
    }

    [Fact]
    public void Dockerfile_Listener_AllInterfacesOnPort8080()
    {
        var env = Final.Environment;
        Assert.Equal("8080", env["BATON_PORT"]);
        Assert.Equal("0.0.0.0", env["Baton__Host"]);
        // Cleared: the aspnet image sets it to 8080 and the server's own listener overrides it with a warning.
        Assert.Equal("", env["ASPNETCORE_HTTP_PORTS"]);
        Assert.Equal("8080", Final.Last("EXPOSE"));
    }

    [Fact]
    public void Dockerfile_Data_UnderTheVolume()
    {
        Assert.Equal("/var/lib/baton", Final.Last("VOLUME"));
        Assert.StartsWith("/var/lib/baton/", Final.Environment["Baton__Store__Sqlite__Path"], StringComparison.Ordinal);
        // The catalog sync's files too: its defaults are under the content root (/app, root's).
        Assert.StartsWith("/var/lib/baton/", Final.Environment["Baton__Apps__CatalogSync__BlobDirectory"], StringComparison.Ordinal);
        Assert.StartsWith("/var/lib/baton/", Final.Environment["Baton__Apps__CatalogSync__DatabasePath"], StringComparison.Ordinal);
    }

    [Fact]
    public void Dockerfile_HealthcheckAndStop_HealthzAndSigterm()
    {
        Assert.Equal("SIGTERM", Final.Last("STOPSIGNAL"));
        var check = Final.HealthcheckCommand();
        Assert.Equal("curl", check[0]);
        Assert.Equal("http://127.0.0.1:8080/healthz", check[^1]);
        Assert.Contains(Final.All("RUN"), r => r.Contains("install -y --no-install-recommends curl", StringComparison.Ordinal));
    }
}
