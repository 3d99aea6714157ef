using System.CommandLine;

namespace Baton.Cli.Tests;

/// <summary>Walks the command tree in-process: every command that does something has examples in its help.</summary>
public sealed class HelpTests
{
    [Fact]
    public void EveryLeafCommand_Description_HasExamplesUsingItsOwnPath()
    {
        var root = BatonCli.Build(new CommandRunner(TextWriter.Null, TextWriter.Null, terminal: false));
        var leaves = new List<(string Path, Command Command)>();
        void Walk(Command command, string path)
        {
            if (command.Subcommands.Count == 0)
            {
                leaves.Add((path, command));
            }

            foreach (var sub in command.Subcommands)
            {
                Walk(sub, $"{path} {sub.Name}");
            }
        }

        Walk(root, "baton");

        Assert.True(leaves.Count >= 13, string.Join(", ", leaves.Select(l => l.Path)));
        Assert.All(leaves, leaf =>
        {
            Assert.Contains("Examples:", leaf.Command.Description, StringComparison.Ordinal);
            Assert.Contains(leaf.Path, leaf.Command.Description, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void RootHelp_ExitCodes_NamesEveryCodeTheCommandReturns()
    {
        var root = BatonCli.Build(new CommandRunner(TextWriter.Null, TextWriter.Null, terminal: false));
        var codes = typeof(ExitCodes).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Select(f => (int)f.GetRawConstantValue()!)
            .ToList();

        // Before: 5 (a server error, since 2026-12-07) was missing, so a script author reading --help could not tell it.
        Assert.Equal(6, codes.Count);
        Assert.All(codes, code => Assert.Matches($@"Exit codes:[^\n]*[ ,]{code} [a-z]", root.Description!));
    }
}
