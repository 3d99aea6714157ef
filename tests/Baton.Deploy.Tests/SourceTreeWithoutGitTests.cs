using System.Diagnostics;

namespace Baton.Deploy.Tests;

/// <summary>
/// The container build copies the repository without <c>.git</c> (deploy/Dockerfile.dockerignore), as a source archive
/// does: the build there must be as clean as in a clone (warnings are errors in this repository's own builds).
/// </summary>
public sealed class SourceTreeWithoutGitTests
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task Build_PackageProjectInASourceTreeWithoutGit_NoWarnings()
    {
        var work = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "baton-nogit-" + Guid.NewGuid().ToString("N"))).FullName;
        try
        {
            // What the build of one package project reads: the repository's build files and the project itself.
            foreach (var file in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props", "LICENSE", "README.md" })
            {
                File.Copy(Path.Combine(TestPaths.RepoRoot, file), Path.Combine(work, file));
            }

            var src = Directory.CreateDirectory(Path.Combine(work, "src")).FullName;
            File.Copy(Path.Combine(TestPaths.RepoRoot, "src", "Directory.Build.props"), Path.Combine(src, "Directory.Build.props"));
            const string Project = "Baton.Storage.Abstractions";
            CopySources(Path.Combine(TestPaths.RepoRoot, "src", Project), Directory.CreateDirectory(Path.Combine(src, Project)).FullName);
            Assert.False(Directory.Exists(Path.Combine(work, ".git")) || File.Exists(Path.Combine(work, ".git")));

            var start = new ProcessStartInfo("dotnet") { WorkingDirectory = Path.Combine(src, Project) };
            foreach (var argument in new[] { "build", "-c", "Release", "-nologo", "-v", "q", "-p:ContinuousIntegrationBuild=true" })
            {
                start.ArgumentList.Add(argument);
            }

            var (exitCode, log) = await ProcessRunner.RunAsync(start, BuildTimeout);

            Assert.True(exitCode == 0, $"dotnet build of {Project} without .git failed ({exitCode}):\n{log}");
            Assert.DoesNotContain(": warning ", log, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(src, Project, "bin", "Release", "net10.0", Project + ".dll")), log);
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>The project's files and folders, without its build output.</summary>
    private static void CopySources(string from, string to)
    {
        foreach (var directory in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, directory);
            if (!IsBuildOutput(relative))
            {
                Directory.CreateDirectory(Path.Combine(to, relative));
            }
        }

        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (!IsBuildOutput(relative))
            {
                File.Copy(file, Path.Combine(to, relative));
            }
        }
    }

    private static bool IsBuildOutput(string relative)
    {
        var first = relative.Split(Path.DirectorySeparatorChar)[0];
        return first is "bin" or "obj";
    }
}
