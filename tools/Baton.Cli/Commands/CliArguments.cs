using System.CommandLine;

namespace Baton.Cli.Commands;

internal static class CliArguments
{
    /// <summary>
    /// A text argument that is refused as a usage error (exit code 2) when empty or blank: the client refuses such a
    /// value too, and an exception from it would print a stack trace instead.
    /// </summary>
    public static Argument<string> NotBlank(this Argument<string> argument)
    {
        argument.Validators.Add(result =>
        {
            if (result.Tokens.Any(t => string.IsNullOrWhiteSpace(t.Value)))
            {
                result.AddError($"<{argument.Name}> cannot be empty");
            }
        });
        return argument;
    }
}
