using System.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace Baton.Deploy.Tests;

/// <summary>
/// The manifests under deploy/k8s. <c>kubectl apply --dry-run=client</c> still asks a cluster for its API groups
/// and fails without one, so here <c>kubectl kustomize</c> (offline) builds the set, and the fields Kubernetes
/// requires, and those this deployment depends on, are checked on what it printed.
/// </summary>
public sealed class KubernetesManifestTests
{
    private static readonly Lazy<Task<IReadOnlyList<YamlMappingNode>>> Built = new(BuildAsync);

    [Fact]
    public async Task Kustomize_AllManifests_BuildWithRequiredFields()
    {
        var resources = await Built.Value;

        Assert.Equal(["Deployment", "PodDisruptionBudget", "Service"], resources.Select(r => r.Text("kind")).Order(StringComparer.Ordinal));
        foreach (var resource in resources)
        {
            Assert.False(string.IsNullOrEmpty(resource.Text("apiVersion")));
            Assert.Equal("baton", resource.Text("metadata.name"));
        }

        var deployment = Single(resources, "Deployment");
        Assert.Equal("apps/v1", deployment.Text("apiVersion"));
        var selector = deployment.Map("spec.selector.matchLabels");
        var podLabels = deployment.Map("spec.template.metadata.labels");
        Assert.All(selector, kv => Assert.Equal(((YamlScalarNode)kv.Value).Value, ((YamlScalarNode)podLabels[kv.Key]).Value));
        var container = deployment.Get("spec.template.spec.containers.0");
        Assert.False(string.IsNullOrEmpty(container.Text("name")));
        Assert.False(string.IsNullOrEmpty(container.Text("image")));
        Assert.Equal("8080", container.Text("ports.0.containerPort"));

        // The Service and the budget select the Deployment's pods.
        Assert.Equal(Labels(selector), Labels(Single(resources, "Service").Map("spec.selector")));
        Assert.Equal(Labels(selector), Labels(Single(resources, "PodDisruptionBudget").Map("spec.selector.matchLabels")));
        Assert.Equal("policy/v1", Single(resources, "PodDisruptionBudget").Text("apiVersion"));
        Assert.Equal("1", Single(resources, "PodDisruptionBudget").Text("spec.minAvailable"));
        Assert.Equal("http", Single(resources, "Service").Text("spec.ports.0.targetPort"));
        Assert.Equal("http", container.Text("ports.0.name"));
    }

    [Fact]
    public async Task Deployment_ProbesAndShutdown_HealthzLivenessHealthReadinessGraceCoversDrain()
    {
        var deployment = Single(await Built.Value, "Deployment");
        var container = deployment.Get("spec.template.spec.containers.0");

        Assert.Equal("/healthz", container.Text("livenessProbe.httpGet.path"));
        Assert.Equal("/health", container.Text("readinessProbe.httpGet.path"));
        var preStop = container.Items("lifecycle.preStop.exec.command").Select(c => ((YamlScalarNode)c).Value!).ToList();
        Assert.Equal("sleep", preStop[0]);
        var grace = TimeSpan.FromSeconds(int.Parse(deployment.Text("spec.template.spec.terminationGracePeriodSeconds"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(TimeSpan.FromSeconds(int.Parse(preStop[1], System.Globalization.CultureInfo.InvariantCulture)) + DeployFiles.ShutdownTimeout, grace);
        Assert.Equal("2", deployment.Text("spec.replicas"));
    }

    [Fact]
    public async Task Deployment_Secrets_OnlyReferencedNeverWritten()
    {
        var container = Single(await Built.Value, "Deployment").Get("spec.template.spec.containers.0");
        var env = container.Items("env").ToDictionary(e => e.Text("name"));

        Assert.Equal("baton", env["ADMIN_KEY"].Text("valueFrom.secretKeyRef.name"));
        Assert.Equal("admin-key", env["ADMIN_KEY"].Text("valueFrom.secretKeyRef.key"));
        Assert.Equal("postgres-connection-string", env["BATON_POSTGRES"].Text("valueFrom.secretKeyRef.key"));
        Assert.Null(env["ADMIN_KEY"].Find("value"));
        Assert.Null(env["BATON_POSTGRES"].Find("value"));
        Assert.Equal("metadata.name", env["Baton__Engine__NodeId"].Text("valueFrom.fieldRef.fieldPath"));
        Assert.Equal("true", container.Text("securityContext.readOnlyRootFilesystem"));
        Assert.Equal("false", container.Text("securityContext.allowPrivilegeEscalation"));
        Assert.Equal("true", Single(await Built.Value, "Deployment").Text("spec.template.spec.securityContext.runAsNonRoot"));
    }

    private static YamlMappingNode Single(IReadOnlyList<YamlMappingNode> resources, string kind) => resources.Single(r => r.Text("kind") == kind);

    private static string Labels(IReadOnlyDictionary<string, YamlNode> labels) =>
        string.Join(',', labels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={((YamlScalarNode)kv.Value).Value}"));

    private static async Task<IReadOnlyList<YamlMappingNode>> BuildAsync()
    {
        var start = new ProcessStartInfo("kubectl");
        start.ArgumentList.Add("kustomize");
        start.ArgumentList.Add(DeployFiles.PathOf("k8s"));
        var result = await ProcessRunner.RunAsync(start, TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, $"kubectl kustomize failed: {result.Output}");
        var path = Path.Combine(TestPaths.NewTempDirectory(), "built.yaml");
        await File.WriteAllTextAsync(path, result.Output);
        return DeployFiles.LoadYaml(path);
    }
}
