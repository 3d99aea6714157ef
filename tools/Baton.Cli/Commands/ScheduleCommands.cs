using System.CommandLine;
using Baton.Client;
using Spectre.Console;
using static Baton.Cli.CommandRunner;

namespace Baton.Cli.Commands;

/// <summary><c>baton schedules list|set|delete</c>.</summary>
internal static class ScheduleCommands
{
    public static Command Build(CommandRunner runner)
    {
        var schedules = new Command("schedules", "List, create, replace and delete cron schedules");
        schedules.Subcommands.Add(List(runner));
        schedules.Subcommands.Add(Set(runner));
        schedules.Subcommands.Add(Delete(runner));
        return schedules;
    }

    private static Command List(CommandRunner runner)
    {
        var command = new Command("list", """
            Lists the schedules with their next fire times (UTC).

            Examples:
              baton schedules list
              baton schedules list --json | jq -r '.[] | select(.enabled) | .name'
            """);
        runner.Bind(command, async (context, _, ct) =>
        {
            var all = await context.Client.ListSchedulesAsync(ct);
            if (context.JsonOutput)
            {
                context.WriteJson(all);
                return ExitCodes.Ok;
            }

            var table = new Table().AddColumns("name", "workflow", "cron", "time zone", "enabled", "misfire", "next fire (UTC)", "last run");
            foreach (var s in all)
            {
                table.AddRow(Esc(s.Name), Esc(s.Workflow), Esc(s.Cron), Esc(s.TimeZone), s.Enabled ? "yes" : "[yellow]no[/]", Esc(s.Misfire), RunRendering.Time(s.NextFireAt), Esc(s.LastRunId));
            }

            context.Console.Write(table);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Set(CommandRunner runner)
    {
        var name = new Argument<string>("name") { Description = "The schedule's name (letters, digits, '.', '_', '-')" }.NotBlank();
        var workflow = new Option<string>("--workflow", "-w") { Description = "The workflow each fire starts", Required = true };
        var cron = new Option<string>("--cron", "-c") { Description = "5 fields (minute hour day month weekday) or 6 with leading seconds", Required = true };
        var timeZone = new Option<string>("--time-zone", "-z") { Description = "IANA time zone, e.g. Europe/Brussels (default UTC)" };
        var input = new Option<string>("--input", "-i") { Description = "The input of each fired run, as JSON text" };
        var disabled = new Option<bool>("--disabled") { Description = "Store the schedule switched off" };
        var misfire = new Option<string>("--misfire") { Description = "After downtime: skip (default) or run_once" };
        misfire.AcceptOnlyFromAmong("skip", "run_once");
        var command = new Command("set", """
            Creates or replaces a schedule.

            Examples:
              baton schedules set nightly-sync --workflow catalog-sync --cron "0 2 * * *" --time-zone Europe/Brussels
              baton schedules set demo-every-minute -w demo -c "* * * * *" --input '{"items":5}' --disabled
            """) { name, workflow, cron, timeZone, input, disabled, misfire };
        runner.Bind(command, async (context, parse, ct) =>
        {
            var body = await RunCommands.ReadInputAsync(parse.GetValue(input), null, ct);
            var schedule = await context.Client.SetScheduleAsync(
                parse.GetValue(name)!,
                new ScheduleDefinition
                {
                    Workflow = parse.GetValue(workflow)!,
                    Cron = parse.GetValue(cron)!,
                    TimeZone = parse.GetValue(timeZone),
                    Input = body,
                    Enabled = !parse.GetValue(disabled),
                    Misfire = parse.GetValue(misfire),
                },
                ct);
            if (context.JsonOutput)
            {
                context.WriteJson(schedule);
            }
            else
            {
                context.Console.MarkupLine($"schedule {Esc(schedule.Name)}: {Esc(schedule.Workflow)} at '{Esc(schedule.Cron)}' {Esc(schedule.TimeZone)}, "
                    + (schedule.Enabled ? $"next {RunRendering.Time(schedule.NextFireAt)} UTC" : "disabled"));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Delete(CommandRunner runner)
    {
        var name = new Argument<string>("name") { Description = "The schedule to delete" }.NotBlank();
        var command = new Command("delete", """
            Deletes a schedule; exit code 1 when there is none of that name.

            Examples:
              baton schedules delete nightly-sync
            """) { name };
        runner.Bind(command, async (context, parse, ct) =>
        {
            var scheduleName = parse.GetValue(name)!;
            var deleted = await context.Client.DeleteScheduleAsync(scheduleName, ct);
            if (context.JsonOutput)
            {
                context.WriteJson(new { name = scheduleName, deleted });
            }
            else if (deleted)
            {
                context.Console.MarkupLine($"deleted {Esc(scheduleName)}");
            }

            if (!deleted)
            {
                await context.Error.WriteLineAsync($"baton: no schedule named '{scheduleName}'");
                return ExitCodes.Failed;
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
