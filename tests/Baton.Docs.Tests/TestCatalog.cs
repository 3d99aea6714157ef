using System.Text.RegularExpressions;

namespace Baton.Docs.Tests;

/// <summary>
/// The names of the test classes and test methods under <c>tests/</c>, read from the sources: a method
/// counts when a <c>[Fact]</c> or <c>[Theory]</c> attribute (or one derived from them, <c>[PackageFeedFact]</c>) stands before it.
/// </summary>
internal static partial class TestCatalog
{
    private static readonly Lazy<(HashSet<string> Classes, HashSet<string> Methods)> Names = new(Read);

    public static IReadOnlySet<string> Classes => Names.Value.Classes;

    /// <summary>Test methods as <c>Class.Method</c>.</summary>
    public static IReadOnlySet<string> Methods => Names.Value.Methods;

    private static (HashSet<string>, HashSet<string>) Read()
    {
        var classes = new HashSet<string>(StringComparer.Ordinal);
        var methods = new HashSet<string>(StringComparer.Ordinal);
        var tests = Path.Combine(Repository.Root, "tests");
        foreach (var file in Directory.EnumerateFiles(tests, "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            {
                continue;
            }

            var text = File.ReadAllText(file);
            // The classes open at this point, by indentation: a test after a nested class (a fixture or helper declared
            // before it) belongs to the class around it, not to the nested one (before, it was filed under the nested one).
            var open = new Stack<(int Indent, string Name)>();
            var pendingTest = false;
            foreach (var line in text.Split('\n'))
            {
                if (ClassDeclaration().Match(line) is { Success: true } declared)
                {
                    CloseFrom(open, Indent(line));
                    open.Push((Indent(line), declared.Groups[1].Value));
                    classes.Add(declared.Groups[1].Value);
                }

                if (TestAttribute().IsMatch(line))
                {
                    pendingTest = true;
                }

                if (pendingTest && MethodDeclaration().Match(line) is { Success: true } method)
                {
                    CloseFrom(open, Indent(line));
                    methods.Add($"{(open.Count > 0 ? open.Peek().Name : null)}.{method.Groups[1].Value}");
                    pendingTest = false;
                }
            }
        }

        return (classes, methods);
    }

    /// <summary>Closes the classes declared at <paramref name="indent"/> or deeper: a line there is outside them.</summary>
    private static void CloseFrom(Stack<(int Indent, string Name)> open, int indent)
    {
        while (open.Count > 0 && open.Peek().Indent >= indent)
        {
            open.Pop();
        }
    }

    private static int Indent(string line) => line.Length - line.TrimStart().Length;

    [GeneratedRegex(@"\b(?:class|record)\s+([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex ClassDeclaration();

    [GeneratedRegex(@"^\s*\[(?:[A-Za-z]*Fact|[A-Za-z]*Theory)\b")]
    private static partial Regex TestAttribute();

    [GeneratedRegex(@"^\s*public\s+(?:async\s+)?(?:Task|void|ValueTask)\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(")]
    private static partial Regex MethodDeclaration();
}
