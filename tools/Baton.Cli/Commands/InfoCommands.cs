using System.CommandLine;
using Spectre.Console;
using static Baton.Cli.CommandRunner;

namespace Baton.Cli.Commands;

/// <summary><c>baton nodes</c> and <c>baton workflows</c>.</summary>
internal static class InfoCommands
{
    public static Command Nodes(CommandRunner runner)
    {
        var command = new Command("nodes", """
            Lists the live nodes sharing the server's store: their workflows, version and last heartbeat (UTC).

            Examples:
              baton nodes
              baton nodes --json | jq length
            """);
        runner.Bind(command, async (context, _, ct) =>
        {
            var nodes = await context.Client.ListNodesAsync(ct);
            if (context.JsonOutput)
            {
                context.WriteJson(nodes);
                return ExitCodes.Ok;
            }

            var table = new Table().AddColumns("node", "host", "pid", "version", "workflows", "started (UTC)", "heartbeat (UTC)");
            foreach (var n in nodes)
            {
                table.AddRow(Esc(n.NodeId), Esc(n.Host), n.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), Esc(n.Version),
                    Esc(string.Join(", ", n.WorkflowVersions is { } versions ? versions.Select(w => w.Describe()) : n.Workflows)), RunRendering.Time(n.StartedAt), RunRendering.Time(n.HeartbeatAt));
            }

            context.Console.Write(table);
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Workflows(CommandRunner runner)
    {
        var command = new Command("workflows", """
            Lists the workflows registered on the server, with their input and output types.

            Examples:
              baton workflows
              baton workflows --json | jq -r '.[].name'
            """);
        runner.Bind(command, async (context, _, ct) =>
        {
            var workflows = await context.Client.ListWorkflowsAsync(ct);
            if (context.JsonOutput)
            {
                context.WriteJson(workflows);
                return ExitCodes.Ok;
            }

            var table = new Table().AddColumns("name", "input", "output", "concurrency", "description");
            foreach (var w in workflows)
            {
                table.AddRow(Esc(w.Name), Esc(w.InputType), Esc(w.OutputType), w.ConcurrencyLimit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "", Esc(w.Description));
            }

            context.Console.Write(table);
            return ExitCodes.Ok;
        });
        return command;
    }
}
