using System.Globalization;
using Baton.Client;
using Spectre.Console;
using static Baton.Cli.CommandRunner;

namespace Baton.Cli;

/// <summary>Tables and panels for runs; times in UTC, ISO 8601 in JSON and "yyyy-MM-dd HH:mm:ss" in tables.</summary>
internal static class RunRendering
{
    public static string Time(DateTimeOffset? time) => time?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "";

    public static string Duration(DateTimeOffset? start, DateTimeOffset? end) =>
        start is { } s && end is { } e ? Duration((e - s).TotalMilliseconds) : "";

    public static string Duration(double? milliseconds) => milliseconds switch
    {
        null => "",
        < 1000 => $"{milliseconds:0} ms",
        < 60_000 => $"{milliseconds / 1000:0.0} s",
        _ => TimeSpan.FromMilliseconds(milliseconds.Value).ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture),
    };

    public static string Status(string status) => status switch
    {
        RunStatuses.Succeeded => "[green]succeeded[/]",
        RunStatuses.Failed or RunStatuses.CompensationFailed => $"[red]{status}[/]",
        RunStatuses.Cancelled or RunStatuses.Compensated => $"[yellow]{status}[/]",
        RunStatuses.Running or RunStatuses.Compensating => $"[blue]{status}[/]",
        _ => Esc(status),
    };

    /// <summary>"done/total" for each fan-out (<c>X.done</c>, <c>X.total</c>), then the other counters.</summary>
    public static string Progress(IReadOnlyDictionary<string, long> progress)
    {
        var parts = new List<string>();
        foreach (var (name, done, total) in Bars(progress))
        {
            parts.Add($"{name} {done}/{total}");
        }

        parts.AddRange(Counters(progress).Select(c => $"{c.Key}={c.Value}"));
        return string.Join(", ", parts);
    }

    /// <summary>
    /// A bar for each pair <c>X.done</c> and <c>X.total</c> where both are present, as the dashboard draws them: a lone
    /// <c>X.total</c> (the catalog's <c>lines.total</c>, a count with nothing counting up to it) is a counter, not a bar stuck at 0.
    /// </summary>
    public static IEnumerable<(string Name, long Done, long Total)> Bars(IReadOnlyDictionary<string, long> progress) =>
        progress.Where(p => p.Key.EndsWith(".total", StringComparison.Ordinal))
            .Select(p => p.Key[..^".total".Length])
            .Where(name => progress.ContainsKey(name + ".done"))
            .Order(StringComparer.Ordinal)
            .Select(name => (name, progress[name + ".done"], progress[name + ".total"]));

    public static IEnumerable<KeyValuePair<string, long>> Counters(IReadOnlyDictionary<string, long> progress)
    {
        var bars = Bars(progress).Select(b => b.Name).ToHashSet(StringComparer.Ordinal);
        return progress.Where(p => !bars.Any(b => p.Key == b + ".total" || p.Key == b + ".done"))
            .OrderBy(p => p.Key, StringComparer.Ordinal);
    }

    public static Table RunsTable(IEnumerable<RunSummary> runs)
    {
        var table = new Table().AddColumns("id", "workflow", "status", "phase", "progress", "created (UTC)", "duration");
        foreach (var run in runs)
        {
            table.AddRow(Esc(run.Id), Esc(run.Workflow), Status(run.Status), Esc(run.Phase), Esc(Progress(run.Progress)), Time(run.CreatedAt), Duration(run.StartedAt, run.CompletedAt));
        }

        return table;
    }

    /// <summary>A run's fields, then its steps: fan-out items grouped under their fan-out with a count, failed ones first.</summary>
    public static void WriteRun(IAnsiConsole console, RunView run)
    {
        var grid = new Grid().AddColumn().AddColumn();
        void Row(string name, string value) => grid.AddRow($"[bold]{name}[/]", value);
        Row("id", Esc(run.Id));
        Row("workflow", $"{Esc(run.Workflow)} (v{run.WorkflowVersion})");
        Row("status", Status(run.Status) + (run.CancelRequested ? " (cancel requested)" : ""));
        Row("phase", Esc(run.Phase));
        Row("progress", Esc(Progress(run.Progress)));
        Row("created", Time(run.CreatedAt));
        Row("started", Time(run.StartedAt));
        Row("completed", Time(run.CompletedAt) + (run.CompletedAt is null ? "" : $" ({Duration(run.StartedAt, run.CompletedAt)})"));
        Row("executions", run.Executions.ToString(CultureInfo.InvariantCulture));
        if (run.ParentRunId is not null) { Row("parent", Esc(run.ParentRunId)); }
        if (run.ScheduleName is not null) { Row("schedule", Esc(run.ScheduleName)); }
        if (run.Input is { } input) { Row("input", Esc(Shorten(input.GetRawText()))); }
        if (run.Output is { } output) { Row("output", Esc(Shorten(output.GetRawText()))); }
        if (run.Failure is { } failure)
        {
            Row("failure", $"[red]{Esc(failure.Message)}[/]" + (failure.Details?.Saga?.Step is { } step ? $" (step {Esc(step)})" : ""));
        }

        console.Write(grid);
        if (run.Errors.Count > 0)
        {
            console.MarkupLine($"[bold]errors[/] ({run.Errors.Count})");
            foreach (var error in run.Errors.TakeLast(10))
            {
                console.MarkupLine($"  {Time(error.At)} {Esc(error.Step)} {Esc(error.Message)}");
            }
        }

        var steps = new Table().AddColumns("step", "kind", "status", "attempts", "started (UTC)", "duration", "error");
        foreach (var group in run.Steps.GroupBy(s => s.Key.Contains('/', StringComparison.Ordinal) ? s.Key[..s.Key.IndexOf('/', StringComparison.Ordinal)] : s.Key))
        {
            var items = group.ToList();
            if (items.Count == 1 && items[0].Key == group.Key)
            {
                var s = items[0];
                steps.AddRow(Esc(s.Key), Esc(s.Kind), Status(s.Status), s.AttemptCount.ToString(CultureInfo.InvariantCulture), Time(s.StartedAt), Duration(s.DurationMs), Esc(s.Error));
                continue;
            }

            var failed = items.Where(s => s.Status is "failed" or "dead_lettered").ToList();
            steps.AddRow($"[bold]{Esc(group.Key)}[/] ({items.Count} items)", "fan-out", failed.Count == 0 ? $"{items.Count(s => s.Status == "succeeded")} succeeded" : $"[red]{failed.Count} failed[/]",
                items.Sum(s => s.AttemptCount).ToString(CultureInfo.InvariantCulture), Time(items.Min(s => s.StartedAt)), "", "");
            foreach (var s in failed.Take(10))
            {
                steps.AddRow("  " + Esc(s.Key), Esc(s.Kind), Status(s.Status), s.AttemptCount.ToString(CultureInfo.InvariantCulture), Time(s.StartedAt), Duration(s.DurationMs), Esc(s.Error));
            }
        }

        if (run.Steps.Count > 0)
        {
            console.Write(steps);
        }

        if (run.Events.Count > 0)
        {
            console.MarkupLine("[bold]events[/]: " + Esc(string.Join(", ", run.Events.Select(e => $"{e.Name}#{e.Sequence}{(e.Consumed ? " (consumed)" : "")}"))));
        }

        if (run.Children.Count > 0)
        {
            console.MarkupLine("[bold]children[/]: " + string.Join(", ", run.Children.Select(c => $"{Esc(c.Id)} {Esc(c.Workflow)} {Status(c.Status)}")));
        }
    }

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";
}
