using System.CommandLine;
using Baton.Cli.Commands;

namespace Baton.Cli;

/// <summary>The <c>baton</c> command tree and its entry point.</summary>
internal static class BatonCli
{
    public static RootCommand Build(CommandRunner runner)
    {
        var root = new RootCommand(
            """
            Operate a Baton server: runs, events, schedules, nodes, workflows and the catalog sync.
            The server and key come from --url/--key or BATON_URL/BATON_ADMIN_KEY.
            Exit codes: 0 ok, 1 failed run or refused request, 2 usage, 3 cannot reach the server, 4 refused key, 5 server error (5xx).

            Examples:
              export BATON_URL=http://127.0.0.1:3003 BATON_ADMIN_KEY=...
              baton runs list --status failed
              baton runs start demo --input '{"items":50}' --watch
              baton runs get 0193f1c2... --json | jq .status
            """);
        root.Options.Add(GlobalOptions.Url);
        root.Options.Add(GlobalOptions.Key);
        root.Options.Add(GlobalOptions.Json);
        root.Subcommands.Add(RunCommands.Build(runner));
        root.Subcommands.Add(EventCommands.Build(runner));
        root.Subcommands.Add(ScheduleCommands.Build(runner));
        root.Subcommands.Add(InfoCommands.Nodes(runner));
        root.Subcommands.Add(InfoCommands.Workflows(runner));
        root.Subcommands.Add(SyncCommand.Build(runner));
        return root;
    }

    /// <summary>Parses and runs; a parse error is exit code 2 with the errors on stderr.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, bool terminal, HttpMessageHandler? handler = null)
    {
        var root = Build(new CommandRunner(output, error, terminal, handler));
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var problem in parse.Errors)
            {
                await error.WriteLineAsync($"baton: {problem.Message}");
            }

            await error.WriteLineAsync($"Run '{string.Join(' ', ["baton", .. CommandPath(parse)])} --help' for usage and examples.");
            return ExitCodes.Usage;
        }

        return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = true });
    }

    private static IEnumerable<string> CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            if (result.Command is not RootCommand)
            {
                names.Insert(0, result.Command.Name);
            }
        }

        return names;
    }
}
