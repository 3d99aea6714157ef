using System.Text.Json;
using Baton.Dashboard.Components;
using Baton.Runs;
using Baton.Scheduling;
using Baton.Workflows;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Baton.Dashboard.Pages;

/// <summary>Schedules: list with next fire times, create or edit (one form: a schedule is replaced by name), enable/disable, delete, run now.</summary>
internal static class SchedulePages
{
    public static void Map(RouteGroupBuilder ui)
    {
        ui.MapPage("/schedules", async (HttpContext http, ISchedules schedules, IWorkflowCatalog catalog, string? edit, string? notice) =>
        {
            var list = await schedules.ListAsync(http.RequestAborted);
            var editing = edit is null ? null : list.FirstOrDefault(s => s.Name == edit);
            return PageResults.Render<SchedulesPage>(http, new SchedulesModel(
                list, editing, [.. catalog.Workflows.Select(w => w.Name).Order(StringComparer.Ordinal)], Notices.Read(http, notice)));
        });
        ui.MapPost("/schedules", PutAsync);
        ui.MapPost("/schedules/{name}/delete", (HttpContext http, ISchedules schedules, string name) =>
            ActAsync(http, async ct => await schedules.DeleteAsync(name, ct) ? $"deleted {name}" : $"no schedule named {name}"));
        ui.MapPost("/schedules/{name}/enable", (HttpContext http, ISchedules schedules, string name) =>
            ActAsync(http, ct => SetEnabledAsync(schedules, name, true, ct)));
        ui.MapPost("/schedules/{name}/disable", (HttpContext http, ISchedules schedules, string name) =>
            ActAsync(http, ct => SetEnabledAsync(schedules, name, false, ct)));
        ui.MapPost("/schedules/{name}/run", (HttpContext http, ISchedules schedules, IBatonClient client, string name) =>
            ActAsync(http, ct => RunNowAsync(schedules, client, name, ct)));
    }

    private static async Task<IResult> PutAsync(HttpContext http, ISchedules schedules)
    {
        var form = await PageResults.ReadFormAsync(http);
        if (form is null)
        {
            return PageResults.Forbidden(http);
        }

        var name = form["name"].ToString().Trim();
        try
        {
            using var input = form["input"].ToString().Trim() is { Length: > 0 } text ? JsonDocument.Parse(text) : null;
            if (name.Length == 0)
            {
                return Back(http, "a schedule needs a name");
            }

            // By name only (the form's options): Enum.TryParse also takes any number, which names no policy.
            var misfireText = form["misfire"].ToString().Trim();
            MisfirePolicy? misfire = misfireText.Length == 0 ? MisfirePolicy.Skip
                : Enum.GetNames<MisfirePolicy>().FirstOrDefault(n => string.Equals(n, misfireText, StringComparison.OrdinalIgnoreCase)) is { } policy
                    ? Enum.Parse<MisfirePolicy>(policy) : null;
            if (misfire is null)
            {
                return Back(http, $"misfire must be one of {string.Join(", ", Enum.GetNames<MisfirePolicy>())}");
            }

            await schedules.PutAsync(
                new ScheduleDefinition
                {
                    Name = name,
                    Workflow = form["workflow"].ToString(),
                    Cron = form["cron"].ToString().Trim(),
                    TimeZone = form["timeZone"].ToString().Trim() is { Length: > 0 } zone ? zone : "UTC",
                    Input = input?.RootElement.Clone(),
                    Enabled = form["enabled"].Count > 0,
                    Misfire = misfire.Value,
                },
                http.RequestAborted);
            return Back(http, $"saved {name}");
        }
        catch (JsonException ex)
        {
            return Back(http, $"the input is not JSON: {ex.Message}");
        }
        catch (ScheduleValidationException ex)
        {
            return Back(http, $"refused: {ex.Message}");
        }
    }

    private static async Task<string> SetEnabledAsync(ISchedules schedules, string name, bool enabled, CancellationToken cancellationToken)
    {
        try
        {
            // Only the flag, and only while the schedule exists: a delete or an edit made since the page was read (or during
            // the toggle) is not undone.
            if (await schedules.SetEnabledAsync(name, enabled, cancellationToken) is null)
            {
                return $"no schedule named {name}";
            }
        }
        catch (ScheduleValidationException ex)
        {
            // A schedule this node cannot write (its workflow registered on other nodes only): said on the page, not a 500.
            return $"refused: {ex.Message}";
        }

        return $"{(enabled ? "enabled" : "disabled")} {name}";
    }

    private static async Task<string> RunNowAsync(ISchedules schedules, IBatonClient client, string name, CancellationToken cancellationToken)
    {
        if (await schedules.GetAsync(name, cancellationToken) is not { } s)
        {
            return $"no schedule named {name}";
        }

        using var input = s.Input is null ? null : JsonDocument.Parse(s.Input);
        var result = await client.StartRunAsync(new StartRunRequest { Workflow = s.Workflow, Input = input?.RootElement }, cancellationToken);
        return result.Run is { } run ? $"{name}: {result.Outcome.ToString().ToLowerInvariant()} run {run.Id}" : $"{name}: {result.Error ?? result.Outcome.ToString()}";
    }

    private static async Task<IResult> ActAsync(HttpContext http, Func<CancellationToken, Task<string>> action)
    {
        if (await PageResults.ReadFormAsync(http) is null)
        {
            return PageResults.Forbidden(http);
        }

        return Back(http, await action(http.RequestAborted));
    }

    private static IResult Back(HttpContext http, string message) => Notices.Redirect(http, DashboardPaths.Of(http).Schedules, message);
}

public sealed record SchedulesModel(IReadOnlyList<ScheduleInfo> Schedules, ScheduleInfo? Editing, IReadOnlyList<string> Workflows, string? Message);
