// Quartz.NET 4.7 as a peer of bench/peers/run.sh: one process, one ADO.NET job store (SQLite through
// Microsoft.Data.Sqlite, or PostgreSQL clustered), the scheduler and its callers side by side, as Baton.Bench runs
// Baton's client and worker in one process.
using Baton.Bench.Peers;

return await PeerBench.MainAsync("quartz", args, settings => new QuartzPeer(settings));
