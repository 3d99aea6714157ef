namespace Baton.Server.Configuration;

/// <summary>Start-up checks of a configured path, so a wrong one stops the start naming its setting instead of failing at first use.</summary>
public static class SettingPaths
{
    /// <summary>
    /// Why <paramref name="path"/> cannot be used as a file (or, with <paramref name="wantDirectory"/>, as a
    /// directory), or null: an entry of the other kind is there, a file stands where a parent directory
    /// must be created, or the nearest directory that exists cannot be written to (read-only file system,
    /// no permission: tried with a probe file that is deleted at once). Nothing else is created.
    /// </summary>
    public static string? Problem(string path, bool wantDirectory)
    {
        if (string.IsNullOrWhiteSpace(path) || path.Contains('\0', StringComparison.Ordinal) || path.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            return "is not a valid path";
        }

        if (!wantDirectory && Directory.Exists(path))
        {
            return "is a directory";
        }

        if (wantDirectory && File.Exists(path))
        {
            return "is a file";
        }

        for (var parent = Path.GetDirectoryName(Path.GetFullPath(path)); !string.IsNullOrEmpty(parent); parent = Path.GetDirectoryName(parent))
        {
            if (File.Exists(parent))
            {
                return $"cannot create its directory: '{parent}' is a file";
            }

            if (Directory.Exists(parent))
            {
                return Writable(wantDirectory && Directory.Exists(path) ? Path.GetFullPath(path) : parent);
            }
        }

        return null;
    }

    private static string? Writable(string directory)
    {
        var probe = Path.Combine(directory, $".baton-write-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }

            return null;
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            return $"cannot be written: '{directory}' is not writable by this process ({ex.Message.TrimEnd('.')})";
        }
    }
}
