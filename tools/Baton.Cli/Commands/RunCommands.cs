using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Baton.Client;
using Spectre.Console;
using static Baton.Cli.CommandRunner;

namespace Baton.Cli.Commands;

/// <summary><c>baton runs list|get|start|cancel|retry|watch</c>.</summary>
internal static class RunCommands
{
    public static Command Build(CommandRunner runner)
    {
        var runs = new Command("runs", "List, read, start, cancel, retry and watch runs");
        runs.Subcommands.Add(List(runner));
        runs.Subcommands.Add(Get(runner));
        runs.Subcommands.Add(Start(runner));
        runs.Subcommands.Add(Action(runner, "cancel", "Cancels a run (at once when it is not executing, else its running step's token)", c => c.Client.CancelAsync));
        runs.Subcommands.Add(Action(runner, "retry", "Makes a failed or cancelled run runnable again; it resumes at the step that failed", c => c.Client.RetryAsync));
        runs.Subcommands.Add(Watch(runner));
        return runs;
    }

    /// <summary>
    /// An ISO 8601 time with no offset read as UTC, as the API and the dashboard read it (the default parser takes the
    /// machine's time zone, which moved a filter by hours on any machine not set to UTC).
    /// </summary>
    internal static DateTimeOffset? UtcTime(System.CommandLine.Parsing.ArgumentResult result)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        if (DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time))
        {
            return time;
        }

        result.AddError($"'{text}' is not a time: use ISO 8601, e.g. 2026-01-15 or 2026-01-15T02:00:00Z (UTC unless it has an offset)");
        return null;
    }

    /// <summary>
    /// The run id argument. One with upper-case letters (copied from a tool that writes hexadecimal so) is a usage error
    /// naming the id in lower case: the server looks no such id up, so <c>get</c> and <c>watch</c> said "no run with id"
    /// for a run that exists.
    /// </summary>
    internal static Argument<string> RunIdArgument()
    {
        var argument = new Argument<string>("run-id") { Description = "The run's id (32 lower-case hexadecimal characters)" }.NotBlank();
        argument.Validators.Add(result =>
        {
            if (result.Tokens is [{ Value: var id }] && id.Any(char.IsAsciiLetterUpper))
            {
                result.AddError($"<run-id> '{id}' has upper-case letters; run ids are lower-case: {id.ToLowerInvariant()}");
            }
        });
        return argument;
    }

    private static Command List(CommandRunner runner)
    {
        var workflow = new Option<string>("--workflow", "-w") { Description = "Only runs of this workflow" };
        var status = new Option<string>("--status", "-s") { Description = "Only runs in this status: " + string.Join(", ", RunStatuses.All) };
        status.AcceptOnlyFromAmong([.. RunStatuses.All]);
        var since = new Option<DateTimeOffset?>("--since") { Description = "Only runs created at or after this time (ISO 8601, UTC unless it says otherwise)", CustomParser = UtcTime };
        var before = new Option<DateTimeOffset?>("--before") { Description = "Only runs created before this time (as --since)", CustomParser = UtcTime };
        var limit = new Option<int>("--limit", "-n") { Description = "Runs per page (1-500)", DefaultValueFactory = _ => 20 };
        // From the token: GetValueOrDefault throws when the token is not a number (the parser reports that one itself).
        limit.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1 && (!int.TryParse(r.Tokens[0].Value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n) || n is < 1 or > 500))
            {
                r.AddError("--limit must be a whole number from 1 to 500");
            }
        });
        var parent = new Option<string>("--parent") { Description = "Only the awaited children of this run" };
        var cursor = new Option<string>("--cursor") { Description = "The next page: the cursor the previous page printed" };
        var command = new Command("list", """
            Lists runs newest first, one page at a time (the next page's cursor is printed under the table).

            Examples:
              baton runs list
              baton runs list --workflow catalog-sync --status failed --since 2026-01-15T00:00:00Z
              baton runs list --json --limit 100 | jq -r '.runs[].id'
              baton runs list --parent 0193f1c2a0b07c3d9e8f0a1b2c3d4e5f
            """) { workflow, status, since, before, parent, limit, cursor };
        runner.Bind(command, async (context, parse, ct) =>
        {
            var page = await context.Client.ListAsync(
                new RunQuery
                {
                    Workflow = parse.GetValue(workflow),
                    Status = parse.GetValue(status),
                    CreatedAfter = parse.GetValue(since),
                    CreatedBefore = parse.GetValue(before),
                    ParentRunId = parse.GetValue(parent),
                    Cursor = parse.GetValue(cursor),
                    Limit = parse.GetValue(limit),
                },
                ct);
            if (context.JsonOutput)
            {
                context.WriteJson(page);
                return ExitCodes.Ok;
            }

            if (page.Runs.Count == 0)
            {
                context.Console.WriteLine("no runs");
                return ExitCodes.Ok;
            }

            context.Console.Write(RunRendering.RunsTable(page.Runs));
            if (page.NextCursor is not null)
            {
                // The whole command: the filters as given, then the next page's cursor.
                var next = new List<string> { "baton", "runs", "list" };
                foreach (var option in new Option[] { workflow, status, since, before, parent, limit })
                {
                    if (parse.GetResult(option) is { Implicit: false, Tokens: [{ } token] })
                    {
                        next.Add(option.Name);
                        next.Add(ShellWord(token.Value));
                    }
                }

                next.Add(cursor.Name);
                next.Add(ShellWord(page.NextCursor));
                context.Console.MarkupLine($"more: {Esc(string.Join(' ', next))}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>A value as one shell word: as it is when it holds only safe characters, else in single quotes.</summary>
    internal static string ShellWord(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':' or '+' or '/' or '=' or ',')
            ? value
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static Command Get(CommandRunner runner)
    {
        var id = RunIdArgument();
        var command = new Command("get", """
            Shows a run: status, phase, progress, input, output, failure, errors, and its steps (fan-out items grouped, failed ones listed).

            Examples:
              baton runs get 0193f1c2a0b07c3d9e8f0a1b2c3d4e5f
              baton runs get 0193f1c2a0b07c3d9e8f0a1b2c3d4e5f --json | jq '.steps | length'
            """) { id };
        runner.Bind(command, async (context, parse, ct) =>
        {
            var runId = parse.GetValue(id)!;
            var run = await context.Client.GetAsync(runId, ct);
            if (run is null)
            {
                await context.Error.WriteLineAsync($"baton: no run with id {runId}");
                return ExitCodes.Failed;
            }

            if (context.JsonOutput)
            {
                context.WriteJson(run);
            }
            else
            {
                RunRendering.WriteRun(context.Console, run);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Start(CommandRunner runner)
    {
        var workflow = new Argument<string>("workflow") { Description = "The workflow to start (baton workflows lists them)" }.NotBlank();
        var input = new Option<string>("--input", "-i") { Description = "The input as JSON text" };
        var inputFile = new Option<FileInfo>("--input-file") { Description = "Read the input JSON from this file ('-' for stdin)" };
        var idempotencyKey = new Option<string>("--idempotency-key") { Description = "The same key always names the same run: a repeated start returns it" };
        var watch = new Option<bool>("--watch") { Description = "Follow the run until it ends; exit 1 unless it succeeded" };
        var command = new Command("start", """
            Starts a run and prints its id.

            Examples:
              baton runs start demo
              baton runs start demo --input '{"items":50,"delayMs":100}' --watch
              baton runs start catalog-sync --input-file input.json --idempotency-key nightly-2026-01-15
            """) { workflow, input, inputFile, idempotencyKey, watch };
        runner.Bind(command, async (context, parse, ct) =>
        {
            var body = await ReadInputAsync(parse.GetValue(input), parse.GetValue(inputFile), ct);
            var name = parse.GetValue(workflow)!;
            var key = parse.GetValue(idempotencyKey);
            var started = body is { } element
                ? await context.Client.StartAsync(name, element, key, ct)
                : await context.Client.StartAsync(name, key, ct);
            if (parse.GetValue(watch))
            {
                if (!context.JsonOutput)
                {
                    // A repeated idempotency key started nothing: the run it names may have ended long ago.
                    context.Console.MarkupLine(started.Created
                        ? $"started {Esc(started.Run.Id)}"
                        : $"existing run {Esc(started.Run.Id)} for this idempotency key, {Esc(started.Run.Status)}");
                }

                return await RunWatcher.FollowAsync(context, started.Run.Id, ct);
            }

            if (context.JsonOutput)
            {
                context.WriteJson(started);
            }
            else
            {
                context.Console.WriteLine(started.Created ? started.Run.Id : $"{started.Run.Id} (existing run for this idempotency key, {started.Run.Status})");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Action(CommandRunner runner, string name, string description, Func<CliContext, Func<string, CancellationToken, Task<RunActionView>>> action)
    {
        var id = RunIdArgument();
        var command = new Command(name, $"""
            {description}.

            Examples:
              baton runs {name} 0193f1c2a0b07c3d9e8f0a1b2c3d4e5f
              baton runs {name} 0193f1c2a0b07c3d9e8f0a1b2c3d4e5f --json
            """) { id };
        runner.Bind(command, async (context, parse, ct) =>
        {
            var result = await action(context)(parse.GetValue(id)!, ct);
            if (context.JsonOutput)
            {
                context.WriteJson(result);
            }
            else
            {
                context.Console.MarkupLine($"{Esc(result.Outcome)}: {Esc(result.Run.Id)} is {RunRendering.Status(result.Run.Status)}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Watch(CommandRunner runner)
    {
        var id = RunIdArgument();
        var command = new Command("watch", """
            Follows a run until it ends: progress bars on a terminal, a line per change otherwise.
            Exit code 0 when the run succeeded, 1 when it failed, was cancelled or was compensated.

            Examples:
              baton runs watch 0193f1c2a0b07c3d9e8f0a1b2c3d4e5f
              baton runs watch 0193f1c2a0b07c3d9e8f0a1b2c3d4e5f --json > final.json && echo ok
            """) { id };
        runner.Bind(command, (context, parse, ct) => RunWatcher.WatchAsync(context, parse.GetValue(id)!, ct));
        return command;
    }

    /// <summary>The JSON of <c>--input</c> or <c>--input-file</c> (not both), checked here so bad JSON is a usage error.</summary>
    internal static async Task<JsonElement?> ReadInputAsync(string? text, FileInfo? file, CancellationToken cancellationToken, string option = "--input")
    {
        if (text is not null && file is not null)
        {
            throw new UsageException($"give {option} or {option}-file, not both");
        }

        if (file is not null)
        {
            try
            {
                text = file.Name == "-" ? await Console.In.ReadToEndAsync(cancellationToken) : await File.ReadAllTextAsync(file.FullName, cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"{option}-file: {ex.Message}");
            }
        }

        if (text is null)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new UsageException($"{option} is not valid JSON: {ex.Message.Split(" Path:", 2)[0]}");
        }
    }

    internal static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
