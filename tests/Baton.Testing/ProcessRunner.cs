using System.Diagnostics;

namespace Baton.Testing;

/// <summary>Runs a command to its end with a bounded wait (rabbitmqctl, npm): its exit code and its output.</summary>
public static class ProcessRunner
{
    /// <summary>
    /// Runs <paramref name="start"/> (its output is captured) and returns the exit code with stdout and stderr; -1
    /// with a reason when the command is not installed or did not end within <paramref name="timeout"/> (then it is killed).
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(ProcessStartInfo start, TimeSpan timeout)
    {
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, $"{start.FileName} is not installed: {ex.Message}");
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var cancel = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return (-1, $"{start.FileName} did not finish within {timeout}");
            }

            return (process.ExitCode, await output + await error);
        }
    }
}
