namespace Baton.Testing;

public static class TestPaths
{
    /// <summary>The repository root (the folder holding Baton.slnx).</summary>
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>Debug or Release: the configuration this test assembly was built in.</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>The server's own build output (built before the tests through the project reference).</summary>
    public static string ServerDirectory => Path.Combine(RepoRoot, "src", "Baton.Server", "bin", Configuration, "net10.0");

    /// <summary>The build output of the project <c>{folder}/{project}</c> (e.g. <c>tools</c>, <c>Baton.Simulators</c>).</summary>
    public static string OutputDirectory(string folder, string project) => Path.Combine(RepoRoot, folder, project, "bin", Configuration, "net10.0");

    public static string NewTempDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "baton-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        return path;
    }

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Baton.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Baton.slnx not found above " + AppContext.BaseDirectory);
    }
}
