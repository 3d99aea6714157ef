using System.Text.Json;
using System.Text.RegularExpressions;
using Baton.Scheduling;
using Baton.AspNetCore;
using Baton.Server.Configuration;
using Baton.Storage;

namespace Baton.Server.Api;

/// <summary>
/// Cron schedules. The PUT body is strict: unknown fields and wrong types are refused, so a typo such
/// as <c>"timezone"</c> cannot silently fall back to UTC. PUT answers 201 when it created the schedule,
/// 200 when it replaced one.
/// </summary>
internal static partial class ScheduleEndpoints
{
    private static readonly string[] Fields = ["name", "workflow", "cron", "timeZone", "input", "enabled", "misfire"];

    public static void Map(IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/schedules").WithTags("Schedules");
        api.MapGet("", ListAsync).WithName("ListSchedules").WithSummary("Every schedule with its next fire time").Produces<IReadOnlyList<ScheduleView>>();
        api.MapGet("/{name}", GetAsync).WithName("GetSchedule").WithSummary("One schedule").Produces<ScheduleView>().ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPut("/{name}", PutAsync)
            .WithName("PutSchedule")
            .WithSummary("Creates or replaces a schedule: {workflow, cron, timeZone?, input?, enabled?, misfire?}")
            .WithJsonRequestBody()
            .Produces<ScheduleView>()
            .Produces<ScheduleView>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        api.MapDelete("/{name}", DeleteAsync).WithName("DeleteSchedule").WithSummary("Deletes a schedule; runs it started are kept").Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> ListAsync(ISchedules schedules, HttpContext context) =>
        TypedResults.Ok((await schedules.ListAsync(context.RequestAborted)).Select(s => s.ToView()).ToList());

    private static async Task<IResult> GetAsync(string name, ISchedules schedules, HttpContext context)
    {
        if (!IsName(name))
        {
            return NotFound(name);
        }

        return await schedules.GetAsync(name, context.RequestAborted) is { } info ? TypedResults.Ok(info.ToView()) : NotFound(name);
    }

    private static async Task<IResult> DeleteAsync(string name, ISchedules schedules, HttpContext context)
    {
        if (!IsName(name))
        {
            return NotFound(name);
        }

        return await schedules.DeleteAsync(name, context.RequestAborted) ? TypedResults.NoContent() : NotFound(name);
    }

    private static async Task<IResult> PutAsync(string name, HttpContext context, ISchedules schedules, BatonApiOptions options)
    {
        if (!IsName(name))
        {
            return Problems.InvalidSchedule($"schedule name '{name}' must be 1-100 characters of letters, digits, '.', '_' or '-'");
        }

        var (document, problem) = await JsonBody.ReadAsync(context, options.MaxRequestBodyBytes, allowEmpty: false, context.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        using (document)
        {
            if (!TryRead(name, document!.RootElement, out var definition, out var error))
            {
                return Problems.InvalidSchedule(error!);
            }

            // Checked before the store is asked anything: a bad cron is a 400 even while the store does not answer (it was a
            // 503 at the time limit, which no retry could get past). PutAsync checks it again, with the workflow and input.
            if (!CronSchedule.TryParse(definition!.Cron, definition.TimeZone, out _, out var cronError))
            {
                return Problems.InvalidSchedule(cronError!);
            }

            PutScheduleResult put;
            try
            {
                put = await schedules.PutAsync(definition!, context.RequestAborted);
            }
            catch (ScheduleValidationException ex)
            {
                return Problems.InvalidSchedule(ex.Message);
            }

            // Created or replaced as the store's write says, not as a read before it: two creates of one name at once both
            // read "none" and both answered 201.
            var view = put.Schedule.ToView();
            return put.Created ? TypedResults.Created($"{context.Request.PathBase}/api/schedules/{name}", view) : TypedResults.Ok(view);
        }
    }

    /// <summary>Reads the strict PUT body; false with a message naming the first bad field.</summary>
    internal static bool TryRead(string name, JsonElement body, out ScheduleDefinition? definition, out string? error)
    {
        definition = null;
        if (body.ValueKind != JsonValueKind.Object)
        {
            error = $"the body must be a JSON object, not {body.ValueKind.ToString().ToLowerInvariant()}";
            return false;
        }

        string? workflow = null, cron = null, timeZone = null;
        JsonElement? input = null;
        var enabled = true;
        var misfire = MisfirePolicy.Skip;
        foreach (var property in body.EnumerateObject())
        {
            var field = Fields.FirstOrDefault(f => f == property.Name);
            if (field is null)
            {
                error = $"unknown field '{property.Name}'; allowed fields: {string.Join(", ", Fields)}";
                return false;
            }

            var value = property.Value;
            switch (field)
            {
                case "name":
                    if (value.ValueKind != JsonValueKind.String || value.GetString() != name)
                    {
                        error = $"field 'name' must be omitted or equal the name in the URL ('{name}')";
                        return false;
                    }

                    break;
                case "workflow" or "cron" or "timeZone":
                    if (value.ValueKind != JsonValueKind.String)
                    {
                        error = $"field '{field}' must be a string";
                        return false;
                    }

                    var text = value.GetString();
                    if (field == "workflow") { workflow = text; }
                    else if (field == "cron") { cron = text; }
                    else { timeZone = text; }

                    break;
                case "input":
                    input = value.Clone();
                    break;
                case "enabled":
                    if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        error = "field 'enabled' must be true or false";
                        return false;
                    }

                    enabled = value.GetBoolean();
                    break;
                case "misfire":
                    if (value.ValueKind != JsonValueKind.String || !MisfireNames.TryParse(value.GetString(), out misfire))
                    {
                        error = "field 'misfire' must be \"skip\" or \"run_once\"";
                        return false;
                    }

                    break;
            }
        }

        if (string.IsNullOrWhiteSpace(workflow))
        {
            error = "field 'workflow' is required";
            return false;
        }

        if (string.IsNullOrWhiteSpace(cron))
        {
            error = "field 'cron' is required (5 fields: minute hour day month weekday, or 6 with leading seconds)";
            return false;
        }

        definition = new ScheduleDefinition
        {
            Name = name,
            Workflow = workflow,
            Cron = cron,
            TimeZone = string.IsNullOrWhiteSpace(timeZone) ? "UTC" : timeZone,
            Input = input,
            Enabled = enabled,
            Misfire = misfire,
        };
        error = null;
        return true;
    }

    internal static bool IsName(string? name) => name is not null && NamePattern().IsMatch(name);

    private static IResult NotFound(string name) => Problems.NotFound("schedule", $"no schedule named '{(name.Length <= 100 ? name : name[..100] + "…")}'");

    [GeneratedRegex(@"^[A-Za-z0-9._-]{1,100}\z")]
    private static partial Regex NamePattern();
}
