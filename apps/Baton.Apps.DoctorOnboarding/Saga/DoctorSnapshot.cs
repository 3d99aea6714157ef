using System.Text.Json;
using System.Text.Json.Nodes;
using Baton.Workflows;

namespace Baton.Apps.DoctorOnboarding.Saga;

/// <summary>A doctor as it was before an update or delete saga changed it: what their compensations put back.</summary>
public sealed record DoctorSnapshot(JsonElement Account, JsonElement? Profile)
{
    public string? ProfileId => Profile is { ValueKind: JsonValueKind.Object } p && p.TryGetProperty("id", out var id) ? id.ToString() : null;

    /// <summary>The <c>loadDoctor</c> step: the account and its profile, read at once; an unknown doctor fails the saga.</summary>
    internal static Task<DoctorSnapshot> LoadAsync(IWorkflowContext context, SagaCalls calls, string id, CancellationToken cancellationToken) =>
        context.StepAsync("loadDoctor", async ct =>
        {
            var account = calls.CallAsync(DoctorService.Accounts, calls.Patterns.AccountsFindOne, new { id }, ct);
            var profile = ProfileOrNullAsync(calls, id, ct);
            await Task.WhenAll(account, profile).ConfigureAwait(false);
            return new DoctorSnapshot(account.Result, profile.Result);
        }, calls.Step, cancellationToken: cancellationToken);

    /// <summary>The values <paramref name="before"/> had for the fields <paramref name="changes"/> sets (null where it had none).</summary>
    internal static JsonObject Previous(JsonElement before, JsonObject changes)
    {
        var previous = new JsonObject();
        foreach (var (name, _) in changes)
        {
            previous[name] = before.ValueKind == JsonValueKind.Object && before.TryGetProperty(name, out var value) ? JsonNode.Parse(value.GetRawText()) : null;
        }

        return previous;
    }

    private static async Task<JsonElement?> ProfileOrNullAsync(SagaCalls calls, string id, CancellationToken cancellationToken)
    {
        try
        {
            var profile = await calls.CallAsync(DoctorService.ProviderDirectory, calls.Patterns.ProfileGetByAccountId, new { accountId = id }, cancellationToken).ConfigureAwait(false);
            return profile.ValueKind == JsonValueKind.Object ? profile : null;
        }
        catch (ServiceCallException ex) when (ex.IsNotFound)
        {
            return null;
        }
    }
}
