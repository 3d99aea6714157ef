using System.CommandLine;
using Baton.Cli;

return await BatonCli.RunAsync(args, Console.Out, Console.Error, !Console.IsOutputRedirected);
