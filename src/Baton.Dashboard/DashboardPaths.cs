namespace Baton.Dashboard;

/// <summary>The dashboard's URLs, all under <see cref="Root"/>.</summary>
internal static class DashboardPaths
{
    public const string Root = "/ui";
    public const string SignIn = Root + "/signin";
    public const string Runs = Root + "/runs";
    public const string Schedules = Root + "/schedules";
    public const string Nodes = Root + "/nodes";
    public const string CatalogSync = Root + "/apps/catalog-sync";

    public static string Run(string id) => $"{Runs}/{Uri.EscapeDataString(id)}";
}
