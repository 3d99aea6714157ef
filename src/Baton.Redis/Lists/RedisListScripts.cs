namespace Baton.Redis;

/// <summary>
/// The Lua scripts of the list trigger. Each runs atomically on the server, so an item is always in exactly one of its
/// source list, a processing list or a dead-letter list. Scripts that compute key names at run time (recovery) need a
/// single Redis server (not a cluster), as the whole transport does.
/// </summary>
internal static class RedisListScripts
{
    /// <summary>
    /// Take: KEYS = source, processing list, this consumer's set of source lists, optionally the list's lease key;
    /// ARGV = batch size, this consumer's id. When the processing list still holds items (a conflict, a failed inbox
    /// call, a crash), returns {1, its first items} without moving anything. When a lease key is given and does not
    /// hold this consumer's id, returns {2, {}} and moves nothing. Otherwise moves up to batch size items from the head
    /// of the source to the processing list in one step (LRANGE + LTRIM + RPUSH, the equivalent of that many LMOVE LEFT
    /// RIGHT) and returns {0, items}.
    /// </summary>
    public const string Take = """
        local n = tonumber(ARGV[1])
        local held = redis.call('LRANGE', KEYS[2], 0, n - 1)
        if #held > 0 then return {1, held} end
        if KEYS[4] and redis.call('GET', KEYS[4]) ~= ARGV[2] then return {2, {}} end
        local items = redis.call('LRANGE', KEYS[1], 0, n - 1)
        if #items > 0 then
          redis.call('LTRIM', KEYS[1], #items, -1)
          redis.call('RPUSH', KEYS[2], unpack(items))
          redis.call('SADD', KEYS[3], KEYS[1])
        end
        return {0, items}
        """;

    /// <summary>
    /// Ack: KEYS = processing list, dead-letter list, this consumer's acknowledgement record of the list; ARGV = count
    /// handled, this acknowledgement's token, the record's time to live in milliseconds, then the items to dead-letter.
    /// Pushes the dead items and removes the first count items of the processing list together, so a crash never both
    /// keeps and dead-letters an item. With dead items it also records the token, so a consumer that lost the reply can
    /// tell whether this ran.
    /// </summary>
    public const string Ack = """
        if #ARGV > 3 then
          redis.call('RPUSH', KEYS[2], unpack(ARGV, 4))
          redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
        end
        redis.call('LTRIM', KEYS[1], tonumber(ARGV[1]), -1)
        return 1
        """;

    /// <summary>Return: KEYS = processing list, source. Moves everything back onto the head of the source, keeping its order.</summary>
    public const string Return = """
        local n = 0
        while redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT') do n = n + 1 end
        return n
        """;

    /// <summary>
    /// Heartbeat: KEYS = this consumer's heartbeat key; ARGV = this process's instance token, the value to store (the
    /// token, a space, the time), its time to live in milliseconds. Refreshes the key when it is missing or holds this
    /// token and returns 1; returns 0 and changes nothing when another process's token is there (it consumes under the
    /// same id).
    /// </summary>
    public const string Heartbeat = """
        local held = redis.call('GET', KEYS[1])
        if held and string.sub(held, 1, #ARGV[1]) ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
        return 1
        """;

    /// <summary>Release: KEYS = this consumer's heartbeat key; ARGV = this process's instance token. Deletes the key if it holds the token.</summary>
    public const string Release = """
        local held = redis.call('GET', KEYS[1])
        if held and string.sub(held, 1, #ARGV[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
        return 0
        """;

    /// <summary>
    /// Recover: KEYS = the dead consumer's heartbeat key, its set of source lists, the set of consumers; ARGV = its
    /// processing list prefix, its id. Does nothing (-1) when the heartbeat key exists; otherwise moves every processing
    /// list back onto the head of its source, keeping order, forgets the consumer and returns the number of items moved.
    /// </summary>
    public const string Recover = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
        local n = 0
        for _, source in ipairs(redis.call('SMEMBERS', KEYS[2])) do
          local processing = ARGV[1] .. source
          while redis.call('LMOVE', processing, source, 'RIGHT', 'LEFT') do n = n + 1 end
        end
        redis.call('DEL', KEYS[2])
        redis.call('SREM', KEYS[3], ARGV[2])
        return n
        """;
}
