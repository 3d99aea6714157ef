using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using static Baton.Cli.CommandRunner;

namespace Baton.Cli.Commands;

/// <summary><c>baton events send</c>.</summary>
internal static class EventCommands
{
    public static Command Build(CommandRunner runner)
    {
        var events = new Command("events", "Send external events to runs");
        var id = RunCommands.RunIdArgument();
        var name = new Argument<string>("name") { Description = "The event's name, as the run's WaitForEventAsync expects it" }.NotBlank();
        var payload = new Option<string>("--payload", "-p") { Description = "The event's payload as JSON text (default none)" };
        var payloadFile = new Option<FileInfo>("--payload-file") { Description = "Read the payload JSON from this file ('-' for stdin)" };
        var idempotencyKey = new Option<string>("--idempotency-key") { Description = "A repeated key stores nothing new and answers with the first event" };
        var send = new Command("send", """
            Stores an event for a run; a run waiting for it resumes at once.

            Examples:
              baton events send 0193f1c2a0b07c3d9e8f0a1b2c3d4e5f approve --payload '{"by":"ops"}'
              baton events send 0193f1c2a0b07c3d9e8f0a1b2c3d4e5f approve --idempotency-key ticket-42
            """) { id, name, payload, payloadFile, idempotencyKey };
        runner.Bind(send, async (context, parse, ct) =>
        {
            var body = await RunCommands.ReadInputAsync(parse.GetValue(payload), parse.GetValue(payloadFile), ct, "--payload");
            var accepted = await context.Client.SendEventAsync<JsonElement?>(parse.GetValue(id)!, parse.GetValue(name)!, body, parse.GetValue(idempotencyKey), ct);
            if (context.JsonOutput)
            {
                context.WriteJson(accepted);
            }
            else
            {
                context.Console.MarkupLine($"event {Esc(accepted.Name)} #{accepted.Sequence} stored for {Esc(accepted.RunId)}{(accepted.Duplicate ? " (duplicate: stored before)" : "")}");
            }

            return ExitCodes.Ok;
        });
        events.Subcommands.Add(send);
        return events;
    }
}
