using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Baton.Dashboard.Pages;

/// <summary>The stylesheet and the script, embedded in the assembly (works offline, no static files on disk).</summary>
internal static class AssetEndpoints
{
    private static readonly byte[] Css = Read("dashboard.css");
    private static readonly byte[] Js = Read("dashboard.js");

    public static void Map(RouteGroupBuilder ui)
    {
        ui.MapPage("/assets/dashboard.css", () => Results.Bytes(Css, "text/css; charset=utf-8"));
        ui.MapPage("/assets/dashboard.js", () => Results.Bytes(Js, "text/javascript; charset=utf-8"));
    }

    private static byte[] Read(string name)
    {
        using var stream = typeof(AssetEndpoints).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"the dashboard asset {name} is not embedded");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
