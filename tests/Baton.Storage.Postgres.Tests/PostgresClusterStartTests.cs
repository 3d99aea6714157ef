using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Baton.Testing;
using Npgsql;

namespace Baton.Storage.Postgres.Tests;

/// <summary>
/// The test helper's start (<see cref="PostgresCluster"/>): its port comes from the ephemeral range, so another process
/// can take it between the choice and the bind. Here the test holds the port itself, as a listener, so the bind is refused.
/// </summary>
public sealed class PostgresClusterStartTests
{
    // Before: the postmaster logged "could not bind IPv4 address "127.0.0.1": Address already in use", pg_ctl exited
    // with 1 ("could not start server. Examine the log output.") and the start failed, failing whatever test needed it.
    [Fact]
    public async Task StartAsync_FirstPortTakenBeforeTheBind_StartsOnANewPortAndAnswersAQuery()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var taken = ((IPEndPoint)holder.LocalEndpoint).Port;
        var chosen = new List<int>();

        await using var cluster = await PostgresCluster.StartAsync(choosePort: () =>
        {
            chosen.Add(chosen.Count == 0 ? taken : Ports.Free());
            return chosen[^1];
        });

        Assert.Equal([taken, cluster.Port], chosen);
        Assert.NotEqual(taken, cluster.Port);
        await using var connection = new NpgsqlConnection(cluster.ConnectionString("postgres") + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SHOW port", connection);
        Assert.Equal(cluster.Port.ToString(CultureInfo.InvariantCulture), (string?)await command.ExecuteScalarAsync());
    }
}
