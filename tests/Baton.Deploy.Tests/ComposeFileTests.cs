using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Baton.Deploy.Tests;

/// <summary>deploy/compose.yaml, parsed (no Docker engine or compose plugin here to run it).</summary>
public sealed partial class ComposeFileTests
{
    private static readonly YamlMappingNode Compose = DeployFiles.LoadYaml(DeployFiles.PathOf("compose.yaml")).Single();

    private static IReadOnlyDictionary<string, YamlNode> Services => Compose.Map("services");

    private static IEnumerable<KeyValuePair<string, YamlNode>> BatonNodes => Services.Where(s => s.Key.StartsWith("baton-", StringComparison.Ordinal));

    [Fact]
    public void Compose_Services_TwoBatonNodesOnPostgresWithRedisAndRabbitMq()
    {
        Assert.Equal(["baton-1", "baton-2", "postgres", "rabbitmq", "redis"], Services.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2, BatonNodes.Count());
        foreach (var (_, node) in BatonNodes)
        {
            Assert.Equal("deploy/Dockerfile", node.Text("build.dockerfile"));
            Assert.Equal("postgres", node.Text("environment.BATON_STORE"));
            Assert.Contains("Host=postgres;", node.Text("environment.BATON_POSTGRES"), StringComparison.Ordinal);
            Assert.Equal("redis://redis:6379", node.Text("environment.REDIS_URL"));
            Assert.Contains("@rabbitmq:5672", node.Text("environment.RABBITMQ_URL"), StringComparison.Ordinal);
        }

        // Distinct node ids and host ports.
        Assert.Equal(2, BatonNodes.Select(n => n.Value.Text("environment.Baton__Engine__NodeId")).Distinct().Count());
        Assert.Equal(2, BatonNodes.Select(n => n.Value.Text("ports.0")).Distinct().Count());
    }

    [Fact]
    public void Compose_EveryService_HasAHealthcheckAndNodesWaitForHealthyServers()
    {
        foreach (var (name, service) in Services)
        {
            Assert.True(service.Find("healthcheck.test") is YamlSequenceNode { Children.Count: > 1 }, $"{name} has no healthcheck");
        }

        foreach (var (name, node) in BatonNodes)
        {
            Assert.Equal("http://127.0.0.1:8080/healthz", node.Items("healthcheck.test")[^1].ToString());
            var dependsOn = node.Map("depends_on");
            Assert.Equal(["postgres", "rabbitmq", "redis"], dependsOn.Keys.Order(StringComparer.Ordinal));
            Assert.All(dependsOn.Values, d => Assert.Equal("service_healthy", d.Text("condition")));
            Assert.True(ParseSeconds(node.Text("stop_grace_period")) >= DeployFiles.ShutdownTimeout, $"{name}: stop_grace_period shorter than the drain");
        }
    }

    [Fact]
    public void Compose_Secrets_ComeFromTheEnvironmentNeverWritten()
    {
        foreach (var (_, node) in BatonNodes)
        {
            Assert.Equal("${ADMIN_KEY:?set ADMIN_KEY}", node.Text("environment.ADMIN_KEY"));
            Assert.Contains("Password=${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD};", node.Text("environment.BATON_POSTGRES"), StringComparison.Ordinal);
        }

        Assert.Equal("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}", Services["postgres"].Text("environment.POSTGRES_PASSWORD"));
        Assert.Equal("${RABBITMQ_PASSWORD:?set RABBITMQ_PASSWORD}", Services["rabbitmq"].Text("environment.RABBITMQ_DEFAULT_PASS"));
    }

    [Fact]
    public void Compose_BatonNodes_ShareOneDataProtectionKeyRingInANamedVolumeTheImageUserOwns()
    {
        var mounts = BatonNodes.Select(n =>
        {
            var path = n.Value.Text("environment.Baton__DataProtection__KeysPath");
            var mount = Assert.Single(n.Value.Items("volumes"), v => v.ToString().EndsWith(":" + path, StringComparison.Ordinal)).ToString();
            return (Volume: mount[..mount.IndexOf(':', StringComparison.Ordinal)], Path: path);
        }).ToList();

        // One named volume, the same path on both nodes, declared at the top level (not a host directory).
        Assert.Single(mounts.Distinct());
        var (volume, path) = mounts[0];
        Assert.Contains(volume, Compose.Map("volumes").Keys);
        // The image creates that path owned by its non-root user, so the empty named volume starts writable by it.
        var final = Dockerfile.Parse(DeployFiles.PathOf("Dockerfile"))[^1];
        Assert.Contains(final.All("RUN"), r => r.Contains("mkdir -p", StringComparison.Ordinal) && r.Contains(" " + path, StringComparison.Ordinal)
            && r[r.IndexOf("chown \"$APP_UID:$APP_UID\"", StringComparison.Ordinal)..].Contains(" " + path, StringComparison.Ordinal));
    }

    private static TimeSpan ParseSeconds(string duration)
    {
        var match = SecondsPattern().Match(duration);
        Assert.True(match.Success, $"'{duration}' is not a duration in seconds");
        return TimeSpan.FromSeconds(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [GeneratedRegex("^([0-9]+)s$")]
    private static partial Regex SecondsPattern();
}
