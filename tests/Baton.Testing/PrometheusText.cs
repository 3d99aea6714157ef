using System.Globalization;
using System.Text.RegularExpressions;

namespace Baton.Testing;

/// <summary>A strict line-by-line reader of the Prometheus text exposition format 0.0.4.</summary>
public static partial class PrometheusText
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public sealed record Exposition(IReadOnlyDictionary<string, string> Types, IReadOnlyDictionary<string, string> Help, IReadOnlyList<Sample> Samples)
    {
        public IEnumerable<Sample> Named(string name) => Samples.Where(s => s.Name == name);
    }

    /// <summary>Parses the text; throws <see cref="FormatException"/> naming the first line that breaks the format.</summary>
    public static Exposition Parse(string text)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var help = new Dictionary<string, string>(StringComparer.Ordinal);
        var samples = new List<Sample>();
        if (text.Length > 0 && !text.EndsWith('\n'))
        {
            throw new FormatException("the exposition must end with a line feed");
        }

        var lineNumber = 0;
        foreach (var line in text.Split('\n').SkipLast(1))
        {
            lineNumber++;
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var match = TypeLine().Match(line);
                if (!match.Success)
                {
                    throw new FormatException($"line {lineNumber}: bad TYPE line '{line}'");
                }

                if (!types.TryAdd(match.Groups[1].Value, match.Groups[2].Value))
                {
                    throw new FormatException($"line {lineNumber}: second TYPE for {match.Groups[1].Value}");
                }

                if (samples.Any(s => BaseName(s.Name, types) == match.Groups[1].Value))
                {
                    throw new FormatException($"line {lineNumber}: TYPE after samples of {match.Groups[1].Value}");
                }

                continue;
            }

            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var match = HelpLine().Match(line);
                if (!match.Success)
                {
                    throw new FormatException($"line {lineNumber}: bad HELP line '{line}'");
                }

                help[match.Groups[1].Value] = match.Groups[2].Value;
                continue;
            }

            if (line.StartsWith('#'))
            {
                continue;
            }

            var sample = SampleLine().Match(line);
            if (!sample.Success)
            {
                throw new FormatException($"line {lineNumber}: not a sample line: '{line}'");
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (sample.Groups[2].Success && sample.Groups[2].Value.Length > 0)
            {
                var rest = sample.Groups[2].Value;
                var position = 0;
                while (position < rest.Length)
                {
                    var label = LabelPair().Match(rest, position);
                    if (!label.Success || label.Index != position)
                    {
                        throw new FormatException($"line {lineNumber}: bad labels '{rest}'");
                    }

                    if (!labels.TryAdd(label.Groups[1].Value, Unescape(label.Groups[2].Value)))
                    {
                        throw new FormatException($"line {lineNumber}: label {label.Groups[1].Value} repeated");
                    }

                    position += label.Length;
                }
            }

            var valueText = sample.Groups[3].Value;
            var value = valueText switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            var name = sample.Groups[1].Value;
            if (!types.ContainsKey(BaseName(name, types)))
            {
                throw new FormatException($"line {lineNumber}: sample {name} has no TYPE line before it");
            }

            samples.Add(new Sample(name, labels, value));
        }

        return new Exposition(types, help, samples);
    }

    private static string BaseName(string sampleName, IReadOnlyDictionary<string, string> types)
    {
        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (sampleName.EndsWith(suffix, StringComparison.Ordinal) && types.TryGetValue(sampleName[..^suffix.Length], out var type) && type == "histogram")
            {
                return sampleName[..^suffix.Length];
            }
        }

        return sampleName;
    }

    private static string Unescape(string value) =>
        EscapeSequence().Replace(value, m => m.Value[1] switch { 'n' => "\n", '\\' => "\\", '"' => "\"", _ => m.Value });

    [GeneratedRegex(@"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$")]
    private static partial Regex HelpLine();

    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\\n]|\\[\\""n])*)"",?")]
    private static partial Regex LabelPair();

    [GeneratedRegex(@"\\.")]
    private static partial Regex EscapeSequence();
}
