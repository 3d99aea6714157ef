using Baton.Demo.CatalogFeed;

namespace Baton.Apps.CatalogSync.Tests.Infrastructure;

/// <summary>
/// Lines of the simulator's catalog for the property tests of the fast line readers (scanner, column
/// writer), which check them against the full parser: the catalog with every kind of bad line, and seeded
/// random byte mutations of real lines.
/// </summary>
internal static class FeedLines
{
    /// <summary>300 products with CRLF line ends and one of each <see cref="BadLineKind"/>, split at '\n' (the '\r' kept).</summary>
    public static async Task<List<ReadOnlyMemory<byte>>> WithEveryBadLineAsync()
    {
        var options = new CatalogFeedOptions
        {
            Products = 300, User = SyncHarness.FeedUser, Password = SyncHarness.FeedSecret, Crlf = true,
            BadLines = [.. Enum.GetValues<BadLineKind>().Select((kind, i) => new BadLine(10 + (i * 20), kind))],
        };
        await using var feed = await CatalogFeedServer.StartAsync(options);
        return Split(feed.BodyBytes());
    }

    /// <summary>
    /// Makes <paramref name="count"/> mutants of 40 real lines (1 to 3 bytes replaced from <paramref name="alphabet"/>
    /// at positions from <paramref name="position"/>, seeded) and counts those <paramref name="check"/> takes and declines.
    /// </summary>
    public static async Task<(int Taken, int Declined)> MutateAsync(int count, byte[] alphabet, Func<Random, int, int> position, Func<ReadOnlyMemory<byte>, bool> check)
    {
        await using var feed = await CatalogFeedServer.StartAsync(new CatalogFeedOptions { Products = 40, User = SyncHarness.FeedUser, Password = SyncHarness.FeedSecret });
        var lines = Split(feed.BodyBytes());
        var random = new Random(20261130);
        int taken = 0, declined = 0;
        for (var i = 0; i < count; i++)
        {
            var line = lines[random.Next(lines.Count)].ToArray();
            var edits = random.Next(1, 4);
            for (var e = 0; e < edits; e++)
            {
                line[position(random, line.Length)] = alphabet[random.Next(alphabet.Length)];
            }

            _ = check(line) ? taken++ : declined++;
        }

        return (taken, declined);
    }

    public static List<ReadOnlyMemory<byte>> Split(byte[] body)
    {
        var lines = new List<ReadOnlyMemory<byte>>();
        var start = 0;
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] == (byte)'\n')
            {
                lines.Add(body.AsMemory(start, i - start));
                start = i + 1;
            }
        }

        if (start < body.Length)
        {
            lines.Add(body.AsMemory(start));
        }

        return lines;
    }
}
