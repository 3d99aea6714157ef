using Baton.Scheduling;

namespace Baton.Server.Configuration;

/// <summary>The wire names of <see cref="MisfirePolicy"/>: <c>skip</c> and <c>run_once</c>.</summary>
internal static class MisfireNames
{
    public static string ToWireName(this MisfirePolicy policy) => policy == MisfirePolicy.RunOnce ? "run_once" : "skip";

    public static bool TryParse(string? text, out MisfirePolicy policy)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "skip":
                policy = MisfirePolicy.Skip;
                return true;
            case "run_once" or "runonce":
                policy = MisfirePolicy.RunOnce;
                return true;
            default:
                policy = MisfirePolicy.Skip;
                return false;
        }
    }
}
