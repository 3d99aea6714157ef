using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Baton.Deploy.Tests;

/// <summary>The files under deploy/ and the server settings they must agree with.</summary>
internal static class DeployFiles
{
    public static string Root => Path.Combine(TestPaths.RepoRoot, "deploy");

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>
    /// How long the server may take to stop after SIGTERM: <c>Baton:Engine:DrainTimeout</c> plus
    /// <c>Baton:ShutdownMargin</c>, as the shipped appsettings.json sets them (the host's shutdown timeout).
    /// </summary>
    public static TimeSpan ShutdownTimeout { get; } = ReadShutdownTimeout();

    /// <summary>Every YAML document of <paramref name="path"/>, with merge keys (<c>&lt;&lt;: *anchor</c>) applied.</summary>
    public static IReadOnlyList<YamlMappingNode> LoadYaml(string path)
    {
        using var reader = new StreamReader(path);
        var stream = new YamlStream();
        stream.Load(new MergingParser(new Parser(reader)));
        return [.. stream.Documents.Select(d => Assert.IsType<YamlMappingNode>(d.RootNode))];
    }

    private static TimeSpan ReadShutdownTimeout()
    {
        using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "src", "Baton.Server", "appsettings.json")));
        var baton = settings.RootElement.GetProperty("Baton");
        var drain = TimeSpan.Parse(baton.GetProperty("Engine").GetProperty("DrainTimeout").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var margin = TimeSpan.Parse(baton.GetProperty("ShutdownMargin").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        return drain + margin;
    }
}

/// <summary>Navigation over YamlDotNet's node model, failing the test with the path when a node is missing.</summary>
internal static class Yaml
{
    public static YamlNode Get(this YamlNode node, string path)
    {
        var current = node;
        foreach (var part in path.Split('.'))
        {
            current = current switch
            {
                YamlMappingNode map when map.Children.TryGetValue(new YamlScalarNode(part), out var child) => child,
                YamlSequenceNode list when int.TryParse(part, out var index) && index < list.Children.Count => list.Children[index],
                _ => throw new Xunit.Sdk.XunitException($"'{path}' not found (stopped at '{part}')"),
            };
        }

        return current;
    }

    public static YamlNode? Find(this YamlNode node, string path)
    {
        try
        {
            return node.Get(path);
        }
        catch (Xunit.Sdk.XunitException)
        {
            return null;
        }
    }

    public static string Text(this YamlNode node, string path) => Assert.IsType<YamlScalarNode>(node.Get(path)).Value!;

    public static IReadOnlyList<YamlNode> Items(this YamlNode node, string path) => Assert.IsType<YamlSequenceNode>(node.Get(path)).Children.ToList();

    public static IReadOnlyDictionary<string, YamlNode> Map(this YamlNode node, string path) =>
        Assert.IsType<YamlMappingNode>(node.Get(path)).Children.ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => c.Value);
}
