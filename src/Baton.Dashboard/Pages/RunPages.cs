using System.Globalization;
using System.Text.Json;
using Baton.Dashboard.Components;
using Baton.Runs;
using Baton.Workflows;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Baton.Dashboard.Pages;

/// <summary>The runs list (keyset paging from the store, newest first) and a run's page with cancel and retry.</summary>
internal static class RunPages
{
    public const int PageSize = 50;

    public static void Map(RouteGroupBuilder ui)
    {
        ui.MapPage("/runs", ListAsync);
        ui.MapPost("/runs", StartAsync);
        ui.MapPage("/runs/{id}", GetAsync);
        ui.MapPost("/runs/{id}/cancel", (HttpContext http, IBatonClient client, string id) =>
            ControlAsync(http, id, async ct => CancelMessage(await client.CancelRunAsync(id, ct))));
        ui.MapPost("/runs/{id}/retry", (HttpContext http, IBatonClient client, string id) =>
            ControlAsync(http, id, async ct => RetryMessage(await client.RetryRunAsync(id, ct))));
    }

    private static async Task<IResult> ListAsync(
        HttpContext http, IBatonClient client, IWorkflowCatalog catalog, TimeProvider time,
        string? workflow, string? status, string? from, string? to, string? cursor, string? notice)
    {
        var filter = new RunFilter(Blank(workflow), Blank(status), Blank(from), Blank(to));
        var problems = new List<string>();
        RunStatus? parsedStatus = null;
        if (filter.Status is { } s)
        {
            if (RunStatusExtensions.TryParseWireName(s, out var st))
            {
                parsedStatus = st;
            }
            else
            {
                problems.Add($"unknown status '{s}'");
            }
        }

        var after = ParseTime(filter.From, "from", problems);
        var before = ParseTime(filter.To, "to", problems);
        var ct = http.RequestAborted;
        var page = problems.Count > 0
            ? new RunPage([], null)
            : await client.ListRunsAsync(
                new ListRunsRequest
                {
                    Workflow = filter.Workflow, Status = parsedStatus, CreatedAfter = after, CreatedBefore = before,
                    Cursor = Blank(cursor), Limit = PageSize, WithoutPayloads = true,
                },
                ct);
        var counts = await client.CountRunsAsync(new CountRunsRequest { Workflow = filter.Workflow }, ct);
        var model = new RunsModel(
            filter, page, counts, [.. catalog.Workflows.Select(w => w.Name).Order(StringComparer.Ordinal)],
            problems.Count > 0 ? string.Join("; ", problems) : Notices.Read(http, notice), time.GetUtcNow());
        return PageResults.Render<RunsPage>(http, model);
    }

    private static async Task<IResult> StartAsync(HttpContext http, IBatonClient client)
    {
        var form = await PageResults.ReadFormAsync(http);
        if (form is null)
        {
            return PageResults.Forbidden(http);
        }

        var workflow = form["workflow"].ToString();
        var inputText = form["input"].ToString().Trim();
        JsonDocument? input = null;
        try
        {
            if (inputText.Length > 0)
            {
                input = JsonDocument.Parse(inputText);
            }
        }
        catch (JsonException ex)
        {
            return Back($"the input is not JSON: {ex.Message}");
        }

        using (input)
        {
            var result = await client.StartRunAsync(new StartRunRequest { Workflow = workflow, Input = input?.RootElement }, http.RequestAborted);
            return result.Outcome switch
            {
                StartRunOutcome.Created or StartRunOutcome.Existing => Results.Redirect(DashboardPaths.Of(http).Run(result.Run!.Id)),
                StartRunOutcome.Conflict => Back($"refused: run {result.Run?.Id} holds the concurrency key"),
                StartRunOutcome.UnknownWorkflow => Back($"unknown workflow '{workflow}'"),
                _ => Back(result.Error ?? "the input was refused"),
            };
        }

        IResult Back(string message) => Notices.Redirect(http, DashboardPaths.Of(http).Runs, message);
    }

    private static async Task<IResult> GetAsync(HttpContext http, IBatonClient client, TimeProvider time, string id, string? notice)
    {
        // Read before the steps: the live stream sends the timeline entries active since then (TimelineFeed).
        var now = time.GetUtcNow();
        var details = await client.GetRunAsync(id, http.RequestAborted);
        if (details is null)
        {
            return PageResults.Render<NotFoundPage>(http, $"No run has the id '{id}'.", StatusCodes.Status404NotFound);
        }

        return PageResults.Render<RunDetailsPage>(
            http, new RunModel(details, ProgressBar.From(details.Run, now), TimelineEntry.Build(details), Notices.Read(http, notice), now));
    }

    private static async Task<IResult> ControlAsync(HttpContext http, string id, Func<CancellationToken, Task<string>> action)
    {
        if (await PageResults.ReadFormAsync(http) is null)
        {
            return PageResults.Forbidden(http);
        }

        var outcome = await action(http.RequestAborted);
        return Notices.Redirect(http, DashboardPaths.Of(http).Run(id), outcome);
    }

    /// <summary>What a cancel did, in words (before: the outcome's enum name, "AlreadyFinished", on the page).</summary>
    internal static string CancelMessage(CancelRunResult result) => result.Outcome switch
    {
        CancelRunOutcome.Cancelled => "Cancelled: the run had not started executing.",
        CancelRunOutcome.Requested => "Cancel requested: the running step is told to stop, and the run ends cancelled (or runs its compensations).",
        CancelRunOutcome.AlreadyFinished => $"Not cancelled: the run is already {result.Run?.Status.ToWireName() ?? "finished"}; only active runs can be cancelled.",
        _ => "Not cancelled: no run has this id.",
    };

    /// <summary>What a retry did, in words, as the API's problem details say it.</summary>
    internal static string RetryMessage(RetryRunResult result) => result.Outcome switch
    {
        RetryRunOutcome.Retried => "Retried: the run resumes at the step that failed.",
        RetryRunOutcome.NotRetryable when result.Run?.Status == RunStatus.Cancelled => "Not retried: the run was cancelled and its compensations ran.",
        RetryRunOutcome.NotRetryable => $"Not retried: the run is {result.Run?.Status.ToWireName() ?? "not retryable"}; only failed, cancelled or compensation_failed runs can be retried.",
        RetryRunOutcome.Conflict => $"Not retried: run {result.Run?.Id ?? "another run"} holds this run's concurrency key; retry it when that run has finished.",
        _ => "Not retried: no run has this id.",
    };

    private static DateTimeOffset? ParseTime(string? text, string name, List<string> problems)
    {
        if (text is null)
        {
            return null;
        }

        // datetime-local inputs send "yyyy-MM-ddTHH:mm" without a zone: the dashboard shows UTC, so it reads UTC.
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
        {
            return at;
        }

        problems.Add($"{name}: '{text}' is not a time");
        return null;
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>The runs page's filters, as typed (text, so a bad value is shown back).</summary>
public sealed record RunFilter(string? Workflow, string? Status, string? From, string? To)
{
    public string Query(string? cursor = null) =>
        string.Join('&', new[] { ("workflow", Workflow), ("status", Status), ("from", From), ("to", To), ("cursor", cursor) }
            .Where(p => p.Item2 is not null)
            .Select(p => $"{p.Item1}={Uri.EscapeDataString(p.Item2!)}"));
}

public sealed record RunsModel(RunFilter Filter, RunPage Page, RunCounts Counts, IReadOnlyList<string> Workflows, string? Message, DateTimeOffset Now);

/// <param name="RenderedAt">When the page read the run: its live stream sends the timeline's changes from then on.</param>
public sealed record RunModel(RunDetails Details, IReadOnlyList<ProgressBar> Bars, IReadOnlyList<TimelineEntry> Timeline, string? Message, DateTimeOffset RenderedAt);
