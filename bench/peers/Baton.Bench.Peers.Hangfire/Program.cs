// Hangfire 1.8 as a peer of bench/peers/run.sh: one process, one store (Hangfire.Storage.SQLite or Hangfire.PostgreSql),
// the client and a BackgroundJobServer side by side, as Baton.Bench runs Baton's client and worker in one process.
using Baton.Bench.Peers;

return await PeerBench.MainAsync("hangfire", args, settings => new HangfirePeer(settings));
