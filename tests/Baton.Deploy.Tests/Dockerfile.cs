using System.Text;
using System.Text.Json;

namespace Baton.Deploy.Tests;

/// <summary>One <c>FROM</c> stage of a Dockerfile: its image, its name and its instructions in order.</summary>
internal sealed record DockerStage(string Image, string? Name, IReadOnlyList<(string Instruction, string Arguments)> Instructions)
{
    public IEnumerable<string> All(string instruction) =>
        Instructions.Where(i => string.Equals(i.Instruction, instruction, StringComparison.OrdinalIgnoreCase)).Select(i => i.Arguments);

    public string? Last(string instruction) => All(instruction).LastOrDefault();

    /// <summary>The <c>ENV</c> variables of this stage (<c>KEY=value</c> pairs, several per instruction).</summary>
    public IReadOnlyDictionary<string, string> Environment =>
        All("ENV").SelectMany(Dockerfile.Words).Select(w => w.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "");

    /// <summary>The exec-form (JSON array) arguments of the last <paramref name="instruction"/>.</summary>
    public string[] ExecForm(string instruction) =>
        JsonSerializer.Deserialize<string[]>(Last(instruction) ?? throw new Xunit.Sdk.XunitException($"no {instruction} in the final stage"))!;

    /// <summary>The command of <c>HEALTHCHECK [options] CMD [...]</c>.</summary>
    public string[] HealthcheckCommand()
    {
        var healthcheck = Last("HEALTHCHECK") ?? throw new Xunit.Sdk.XunitException("no HEALTHCHECK in the final stage");
        var cmd = healthcheck.IndexOf("CMD ", StringComparison.Ordinal);
        Assert.True(cmd >= 0, $"HEALTHCHECK without CMD: {healthcheck}");
        return JsonSerializer.Deserialize<string[]>(healthcheck[(cmd + 4)..])!;
    }
}

/// <summary>A small Dockerfile reader: comments, line continuations, stages and instructions (what the tests check).</summary>
internal static class Dockerfile
{
    public static IReadOnlyList<DockerStage> Parse(string path)
    {
        var stages = new List<DockerStage>();
        List<(string, string)>? current = null;
        foreach (var line in LogicalLines(File.ReadAllLines(path)))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var instruction = (space < 0 ? line : line[..space]).ToUpperInvariant();
            var arguments = space < 0 ? "" : line[(space + 1)..].Trim();
            if (instruction == "FROM")
            {
                var words = Words(arguments).ToList();
                current = [];
                stages.Add(new DockerStage(words[0], words.Count >= 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? words[2] : null, current));
            }
            else
            {
                Assert.True(current is not null, $"{instruction} before any FROM");
                current!.Add((instruction, arguments));
            }
        }

        return stages;
    }

    /// <summary>Splits on spaces, keeping double-quoted parts together (quotes removed).</summary>
    public static IEnumerable<string> Words(string text)
    {
        var word = new StringBuilder();
        var quoted = false;
        foreach (var c in text)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (char.IsWhiteSpace(c) && !quoted)
            {
                if (word.Length > 0)
                {
                    yield return word.ToString();
                    word.Clear();
                }
            }
            else
            {
                word.Append(c);
            }
        }

        if (word.Length > 0)
        {
            yield return word.ToString();
        }
    }

    private static IEnumerable<string> LogicalLines(IEnumerable<string> lines)
    {
        var pending = new StringBuilder();
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || line.Length == 0)
            {
                continue;
            }

            var continued = line.EndsWith('\\');
            pending.Append(continued ? line[..^1] : line).Append(' ');
            if (!continued)
            {
                yield return pending.ToString().Trim();
                pending.Clear();
            }
        }
    }
}
