namespace Baton.Docs.Tests;

/// <summary>The checked-out repository these tests read: the folder that holds <c>Baton.slnx</c>.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string ReadText(string relativePath) => File.ReadAllText(Path.Combine(Root, relativePath));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Baton.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Baton.slnx above {AppContext.BaseDirectory}");
    }
}
