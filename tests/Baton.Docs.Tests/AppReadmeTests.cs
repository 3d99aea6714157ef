using System.Text.RegularExpressions;

namespace Baton.Docs.Tests;

/// <summary>An app's README whose examples use a server or a tool says how to install it, as the root README does for the tour.</summary>
public sealed partial class AppReadmeTests
{
    public static TheoryData<string> AppReadmes() =>
        [.. Directory.GetDirectories(Path.Combine(Repository.Root, "apps")).Select(d => Path.GetRelativePath(Repository.Root, Path.Combine(d, "README.md")))];

    [Theory]
    [MemberData(nameof(AppReadmes))]
    public void AppReadme_ExamplesUsingRedisRabbitMqOrJq_SayWhichPackagesToInstall(string path)
    {
        // Before (review 81): the brand insights README started redis-server and used redis-cli, the doctor onboarding
        // README used RabbitMQ and Redis, and every app README piped curl into jq, none saying where they come from.
        var text = Repository.ReadText(path);
        var examples = string.Join('\n', BashBlock().Matches(text).Select(m => m.Groups[1].Value));
        var installs = string.Join('\n', text.Split('\n').Where(l => l.Contains("apt-get install", StringComparison.Ordinal)));

        var needed = new List<string>();
        if (Regex.IsMatch(examples, @"\bredis-(server|cli)\b|redis://"))
        {
            needed.Add("redis-server");
        }

        if (examples.Contains("amqp://", StringComparison.Ordinal))
        {
            needed.Add("rabbitmq-server");
        }

        if (Regex.IsMatch(examples, @"\| jq\b"))
        {
            needed.Add("jq");
        }

        var missing = needed.Where(p => !Regex.IsMatch(installs, $@"\b{Regex.Escape(p)}\b")).ToList();
        Assert.True(missing.Count == 0, $"{path}: its examples use {string.Join(", ", missing)} without an apt-get install line naming it");
    }

    [GeneratedRegex("```bash\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashBlock();
}
