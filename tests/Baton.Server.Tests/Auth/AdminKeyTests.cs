using Baton.Server.Auth;
using Baton.Server.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;

namespace Baton.Server.Tests.Auth;

public sealed class AdminKeyTests
{
    [Theory]
    [InlineData("correct-horse-battery", true)]
    [InlineData("correct-horse-batterY", false)]
    [InlineData("correct-horse-battery ", false)]
    [InlineData("correct", false)]
    [InlineData("correct-horse-battery-staple-and-more", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Matches_Candidate_OnlyTheExactKey(string? candidate, bool expected) =>
        Assert.Equal(expected, new AdminKey("correct-horse-battery").Matches(candidate));

    [Theory]
    [InlineData("short-key-0001", true)]
    [InlineData("exactly-16-chars", false)]
    public async Task Start_ConfiguredKeyLength_WarnsBelow16CharactersWithoutPrintingIt(string key, bool warns)
    {
        await using var server = await Infrastructure.InProcessServer.StartAsync(new Dictionary<string, string> { ["ADMIN_KEY"] = key });

        var warning = server.Logs.Entries.Where(e => e.EventId == 1009).ToList();

        Assert.Equal(warns ? 1 : 0, warning.Count);
        Assert.All(warning, w => Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, w.Level));
        Assert.All(warning, w => Assert.Contains("shorter than 16 characters", w.Message, StringComparison.Ordinal));
        Assert.DoesNotContain(key, server.Logs.AllText(), StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_ProductionWithoutKey_Throws()
    {
        var error = Assert.Throws<BatonConfigurationException>(() => AdminKey.Resolve(new ConfigurationBuilder().Build(), new Env("Production"), out _));
        Assert.Contains("ADMIN_KEY is not set", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_DevelopmentWithoutKey_GeneratesOne()
    {
        var key = AdminKey.Resolve(new ConfigurationBuilder().Build(), new Env("Development"), out var generated);
        Assert.True(key.Generated);
        Assert.NotNull(generated);
        Assert.True(generated.Length >= 32);
        Assert.True(key.Matches(generated));
    }

    [Fact]
    public void Resolve_ConfiguredKey_IsUsedAsGiven()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["ADMIN_KEY"] = "k-1" }).Build();
        var key = AdminKey.Resolve(configuration, new Env("Production"), out var generated);
        Assert.Null(generated);
        Assert.True(key.Matches("k-1"));
    }

    private sealed class Env(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;
        public string ApplicationName { get; set; } = "Baton.Server";
        public string ContentRootPath { get; set; } = Path.GetTempPath();
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
