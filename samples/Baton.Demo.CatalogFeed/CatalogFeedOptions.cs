namespace Baton.Demo.CatalogFeed;

/// <summary>What a bad line injected into the feed looks like (the issue's bad-input list).</summary>
public enum BadLineKind
{
    InvalidJson,
    NoId,
    NameNumber,
    UpdatedAtString,
    /// <summary>A second copy of the product just before it (same id, same meta).</summary>
    DuplicateId,
    EmptyLine,
    InvalidUtf8,
    /// <summary>A 5 MB line (a valid JSON record with an enormous description).</summary>
    LongLine,
    /// <summary>A product whose name is <c>"x\ud800"</c>: half a surrogate pair as an escape, which is no text.</summary>
    LoneSurrogateInName,
    /// <summary>A product whose id ends in <c>\udc00</c> (the low half alone).</summary>
    LoneSurrogateInId,
    /// <summary>A product whose name holds <c>\u0000</c>, which PostgreSQL text cannot store.</summary>
    NulInName,
    /// <summary>A line that is not JSON: a literal cut by a raw 0x00 byte (<c>tru</c>, NUL), which the JSON reader quotes in its message.</summary>
    NulByteInLiteral,
    /// <summary>A product whose <c>description</c> (a field no column takes) holds <c>\u0000</c>, which PostgreSQL's jsonb refuses.</summary>
    NulInDescription,
    /// <summary>A product whose <c>description</c> (a field no column takes) is <c>"x\ud800"</c>, which PostgreSQL's jsonb refuses.</summary>
    LoneSurrogateInDescription,
    /// <summary>A product whose <c>weight</c> (a field no column takes) is <c>1e1000000</c>: valid JSON, but out of the range of PostgreSQL's numeric, which jsonb keeps numbers as.</summary>
    HugeNumberOutsideTheColumns,
    /// <summary>A product whose <c>price</c> (a field no column takes) has 16,384 digits after the point, one more than PostgreSQL's numeric holds.</summary>
    LongFractionOutsideTheColumns,
}

/// <summary>A bad line placed just before product <paramref name="BeforeProduct"/> (or at the end when it is past the last product).</summary>
public sealed record BadLine(int BeforeProduct, BadLineKind Kind);

/// <summary>How the first requests fail when <see cref="CatalogFeedOptions.FailFirst"/> is set.</summary>
public enum FeedFailure
{
    Status500,
    Status401,
    /// <summary>200 with an HTML page (a proxy's or a login page) instead of NDJSON.</summary>
    Html,
    /// <summary>The connection is closed without an answer (a proxy or load balancer dropping it).</summary>
    CloseWithoutAnswer,
    /// <summary>503 with <c>Retry-After: 1</c> (a feed under maintenance that says when to come back).</summary>
    Status503RetryAfter,
}

/// <summary>
/// The catalog a feed serves and the faults it injects. The catalog part (<see cref="Products"/>,
/// <see cref="Seed"/>, <see cref="Day"/>, <see cref="ChangeFraction"/>, line endings, bad lines) fixes the
/// bytes: the same values always give the same body. Mutable so a test can move the day or add a
/// fault between requests.
/// </summary>
public sealed class CatalogFeedOptions
{
    /// <summary>Products in the catalog. The default is 1,000.</summary>
    public int Products { get; set; } = 1_000;

    /// <summary>Seed of the synthetic catalog. The default is 42.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>The catalog's day; from one day to the next <see cref="ChangeFraction"/> of the products change (their meta.updatedAt moves). The default is 1. A <c>?day=</c> query overrides it.</summary>
    public int Day { get; set; } = 1;

    /// <summary>Share of the products that change each day. The default is 0.01.</summary>
    public double ChangeFraction { get; set; } = 0.01;

    /// <summary>Basic auth user name. The default is <c>feed-user</c>.</summary>
    public string User { get; set; } = "feed-user";

    /// <summary>Basic auth password. The default is <c>feed-secret</c>.</summary>
    public string Password { get; set; } = "feed-secret";

    public bool Crlf { get; set; }

    public bool Bom { get; set; }

    /// <summary>The last line is cut in half and has no newline.</summary>
    public bool TruncateLast { get; set; }

    public List<BadLine> BadLines { get; set; } = [];

    /// <summary>Whether <c>Range: bytes=N-</c> is honoured (206); when false the full body is always sent (200). The default is true.</summary>
    public bool SupportsRange { get; set; } = true;

    /// <summary>
    /// Whether answers carry a strong <c>ETag</c> of the body (a hash of what fixes its bytes) and a Range request with an
    /// <c>If-Range</c> that does not match it gets the whole body (200), as RFC 9110 has it. The default is true.
    /// </summary>
    public bool ETag { get; set; } = true;

    /// <summary>
    /// With <see cref="ETag"/>: each answer carries a strong ETag of its own (the body's tag and the request's number), as a
    /// load balancer in front of origins that tag the same export differently does, so an <c>If-Range</c> never matches and
    /// a Range request that sends one gets the whole body (200). The default is false.
    /// </summary>
    public bool ETagPerResponse { get; set; }

    /// <summary>A broken server: a Range request is answered 206 from one byte after the one asked for. The default is false.</summary>
    public bool MisalignRanges { get; set; }

    /// <summary>
    /// A Range request from byte 0 (<c>bytes=0-</c>) is answered with the whole body (200) instead of 206, as servers may
    /// (it is the same bytes). The default is false.
    /// </summary>
    public bool WholeForRangeFromZero { get; set; }

    /// <summary>The first K requests fail with <see cref="FailWith"/>.</summary>
    public int FailFirst { get; set; }

    public FeedFailure FailWith { get; set; } = FeedFailure.Status500;

    /// <summary>When set, a response that reaches this byte of the file stops there and the connection is aborted, <see cref="CutTimes"/> times.</summary>
    public long? CutAtByte { get; set; }

    /// <summary>How many responses are cut at <see cref="CutAtByte"/>. The default is 1.</summary>
    public int CutTimes { get; set; } = 1;

    /// <summary>
    /// Awaited when a response reaches <see cref="CutAtByte"/>, after the bytes before it were sent and before the connection
    /// is aborted: a test holds the cut until the client has done what the test needs with those bytes (an abort discards
    /// what the client had not read yet, so without it how much arrived depends on the machine's load).
    /// </summary>
    public Func<Task>? BeforeCut { get; set; }

    /// <summary>Called with these options after a response is cut, before the next request: a new export between a broken download and its resume.</summary>
    public Action<CatalogFeedOptions>? AfterCut { get; set; }

    /// <summary>
    /// Renders each day's body once, in memory, and serves copies of it. For benchmarks: a real feed's cost of
    /// producing the catalog is not on the syncing machine, and generating 660 MB of JSON per request took more
    /// than one of the two cores. The default (false) generates every line as it streams.
    /// </summary>
    public bool Prerender { get; set; }

    /// <summary>Throttles the body to about this many bytes per second; 0 is unthrottled.</summary>
    public long BytesPerSecond { get; set; }

    internal CatalogSpec ToSpec(int? day) =>
        new(Products, Seed, day ?? Day, ChangeFraction, Crlf, Bom, TruncateLast, [.. BadLines]);
}

/// <summary>The part of the options that fixes the bytes of the body.</summary>
internal sealed record CatalogSpec(int Products, int Seed, int Day, double ChangeFraction, bool Crlf, bool Bom, bool TruncateLast, BadLine[] BadLines)
{
    public string Key =>
        FormattableString.Invariant($"{Products}|{Seed}|{Day}|{ChangeFraction}|{Crlf}|{Bom}|{TruncateLast}|{string.Join(',', BadLines.Select(b => $"{b.BeforeProduct}:{b.Kind}"))}");
}
