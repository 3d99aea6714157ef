namespace Baton.Apps.CatalogSync.Processing;

/// <summary>Counters of one chunk (and, summed, of a run).</summary>
public sealed record ChunkStats(int Chunk, long Records, long Inserted, long Updated, long Skipped, long Failed, long Blank)
{
    public static ChunkStats operator +(ChunkStats a, ChunkStats b) =>
        new(-1, a.Records + b.Records, a.Inserted + b.Inserted, a.Updated + b.Updated, a.Skipped + b.Skipped, a.Failed + b.Failed, a.Blank + b.Blank);

    public static ChunkStats Zero { get; } = new(-1, 0, 0, 0, 0, 0, 0);
}

/// <summary>
/// A product line of a chunk: its 1-based line number, byte offset in the file, id and meta.updatedAt
/// (what change detection reads), and its bytes, parsed into the full <see cref="Product"/> only when a
/// store writes it. A skipped line is never parsed past the scan.
/// </summary>
internal sealed class ParsedLine
{
    private readonly ReadOnlyMemory<byte> _bytes;
    private ProductRecord? _product;

    /// <summary>A scanned line (<see cref="ProductScanner.TryScan"/> accepted it, so it parses).</summary>
    public ParsedLine(long line, long offset, string id, long metaUpdatedAt, ReadOnlyMemory<byte> bytes)
    {
        Line = line;
        Offset = offset;
        Id = id;
        MetaUpdatedAt = metaUpdatedAt;
        _bytes = bytes;
        Scanned = true;
    }

    /// <summary>A line already parsed.</summary>
    public ParsedLine(long line, long offset, ReadOnlyMemory<byte> bytes, ProductRecord product)
        : this(line, offset, product.Id, product.MetaUpdatedAt, bytes)
    {
        _product = product;
        Scanned = false;
    }

    public long Line { get; }

    public long Offset { get; }

    public string Id { get; }

    public long MetaUpdatedAt { get; }

    /// <summary>Whether <see cref="Bytes"/> is a line <see cref="ProductScanner.TryScan"/> accepted (else the product was given parsed).</summary>
    public bool Scanned { get; }

    /// <summary>The line's bytes (kept in the chunk's arena; valid until the chunk is applied).</summary>
    public ReadOnlyMemory<byte> Bytes => _bytes;

    /// <summary>The first 200 bytes, as a dead letter keeps them.</summary>
    public byte[] Head => ProductParser.Head(_bytes.Span);

    /// <summary>The full record, parsed on first use.</summary>
    public ProductRecord Product => _product ??= ProductParser.Parse(_bytes, out var reason)
        ?? throw new InvalidOperationException($"line {Line} was scanned as a product but does not parse: {reason}");
}

/// <summary>A line set aside: where it is and why.</summary>
internal sealed record DeadLetter(long Line, long ByteOffset, string Reason, byte[] Head);

/// <summary>
/// One parsed chunk to apply: its products in file order, the lines already set aside, its blank lines, and the XXH128
/// checksum of the bytes it was read from (stored with its counters, so the same chunk of another download of the feed can be
/// told apart; null when the fetch did not record one).
/// </summary>
internal sealed record ChunkWrite(string RunId, int Chunk, IReadOnlyList<ParsedLine> Products, IReadOnlyList<DeadLetter> DeadLetters, long Blank, DateTimeOffset Now, string? Checksum = null);

/// <summary>A chunk a run committed: its counters and the checksum of the bytes it was applied from (null for a chunk applied by a version that did not store it).</summary>
internal sealed record AppliedChunk(ChunkStats Stats, string? Checksum);

/// <summary>
/// Where the catalog lives: <c>products</c> (the seed's columns plus <c>sync_run</c>, <c>sync_line</c>),
/// <c>dead_letters</c> and <c>chunk_results</c>. Every store applies the same rules, and the shared
/// behaviour tests hold each to them:
/// <list type="bullet">
/// <item>a new id is inserted, a newer <c>meta.updatedAt</c> updates, an equal or older one is skipped (nothing written);</item>
/// <item>a line whose id this run already wrote from another line is a dead letter
/// <c>duplicate id X in this feed (line N is kept)</c>: within a chunk the first line in file order is kept,
/// across chunks the chunk that commits first;</item>
/// <item>a chunk's rows, dead letters, counters and checksum are one transaction, and a chunk already committed for the run is never applied twice.</item>
/// </list>
/// Chunks of one run are applied concurrently; implementations must be safe under that.
/// </summary>
internal interface IProductStore
{
    /// <summary>What the store is, for logs (never a secret).</summary>
    string Description { get; }

    /// <summary>Creates the tables if missing. Safe to call from several nodes at once.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>The stored counters and checksum of a chunk this run already committed, or null.</summary>
    Task<AppliedChunk?> StoredChunkAsync(string runId, int chunk, CancellationToken cancellationToken = default);

    /// <summary>Every chunk this run committed, by index, with the checksum of the bytes it was applied from (null if not stored).</summary>
    Task<IReadOnlyDictionary<int, string?>> AppliedChecksumsAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>The sum of the counters of every chunk this run committed; <see cref="ChunkStats.Chunk"/> is the number of chunks.</summary>
    Task<ChunkStats> RunTotalsAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Applies one chunk in one transaction and returns its counters.</summary>
    Task<ChunkStats> ApplyAsync(ChunkWrite write, CancellationToken cancellationToken = default);

    /// <summary>At most <paramref name="limit"/> dead letters of the run with a line after <paramref name="afterLine"/>, in line order (the <c>(run_id, line)</c> index).</summary>
    Task<IReadOnlyList<Baton.Server.Views.CatalogDeadLetter>> ReadDeadLettersAsync(string runId, long afterLine, int limit, CancellationToken cancellationToken = default);
}
