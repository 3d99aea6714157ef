using System.CommandLine;
using System.Net;
using System.Text.Json;
using Spectre.Console;
using Baton.Client;
using static Baton.Cli.CommandRunner;

namespace Baton.Cli.Commands;

/// <summary>
/// <c>baton sync</c>: starts a catalog sync through the engine API (<c>POST /api/workflows/catalog-sync/runs</c>, the same
/// run seed 000's <c>POST /sync</c> starts, without needing the app's own port) and follows it.
/// </summary>
internal static class SyncCommand
{
    public const string Workflow = "catalog-sync";

    private static readonly JsonSerializerOptions ApiJson = new(JsonSerializerDefaults.Web);

    public static Command Build(CommandRunner runner)
    {
        var noWatch = new Option<bool>("--no-watch") { Description = "Print the run id and return at once" };
        var command = new Command("sync", """
            Starts a catalog sync and shows live progress bars until it ends (exit 1 unless it succeeded).
            When a sync is already running, follows that one instead.

            Examples:
              baton sync
              baton sync --no-watch --json | jq -r .run.id
            """) { noWatch };
        runner.Bind(command, async (context, parse, ct) =>
        {
            string runId;
            try
            {
                using var input = JsonDocument.Parse("""{"trigger":"cli"}""");
                var started = await context.Client.StartAsync(Workflow, input.RootElement.Clone(), null, ct);
                runId = started.Run.Id;
                if (parse.GetValue(noWatch) && context.JsonOutput)
                {
                    context.WriteJson(started);
                    return ExitCodes.Ok;
                }
            }
            catch (BatonApiException ex) when (ex.Status == HttpStatusCode.Conflict && ex.Extensions.TryGetValue("activeRun", out var active))
            {
                var running = active.Deserialize<RunSummary>(ApiJson)!;
                runId = running.Id;
                if (parse.GetValue(noWatch) && context.JsonOutput)
                {
                    // The document a start writes, for the run that is running: stdout stays one JSON document.
                    context.WriteJson(new StartedRun(running, Created: false));
                    return ExitCodes.Ok;
                }

                if (!context.JsonOutput)
                {
                    context.Console.MarkupLine($"a sync is already running: {Esc(runId)}");
                }
            }

            if (parse.GetValue(noWatch))
            {
                context.Console.WriteLine(runId);
                return ExitCodes.Ok;
            }

            if (!context.JsonOutput)
            {
                context.Console.MarkupLine($"sync {Esc(runId)}");
            }

            return await RunWatcher.FollowAsync(context, runId, ct);
        });
        return command;
    }
}
