// Usage: dotnet run --project tools/Baton.Simulators -- <simulator> [options]
// Each simulator lives in its own folder and adds one entry here.
var simulators = new Dictionary<string, Func<string[], Task<int>>>(StringComparer.OrdinalIgnoreCase)
{
    ["catalog-feed"] = Baton.Demo.CatalogFeed.CatalogFeedServer.RunAsync,
    ["brand-workers"] = Baton.Simulators.BrandWorkers.BrandWorkersSimulator.RunAsync,
    ["worker-node"] = Baton.Simulators.WorkerNode.WorkerNodeSimulator.RunAsync,
    ["doctor-services"] = Baton.Simulators.DoctorServices.DoctorServicesHost.RunAsync,
};

if (args.Length == 0 || !simulators.TryGetValue(args[0], out var run))
{
    await Console.Error.WriteLineAsync($"usage: Baton.Simulators <{string.Join('|', simulators.Keys.Order(StringComparer.Ordinal))}> [options]");
    return 2;
}

return await run(args[1..]);
