/** The Lua of the Redis broker (key layout: see presence-lua.ts). Each script runs atomically. */

/**
 * Publish: assigns the next id (max(last + 1, Redis time in µs)), appends to the stream trimmed to
 * exactly MAXLEN, and publishes the pre-encoded frame on the bus — all in one step.
 * KEYS: seq, history. ARGV: channel, maxlen, header, afterId, afterDataId, data, afterData.
 * The frame is `id: ` .. id .. afterId .. id .. afterDataId .. data .. afterData (the pieces come
 * from core/frame.ts, the one owner of the layout).
 * Bus message: 'E' .. id(16) .. headerBytes .. '\n' .. header .. frame.
 */
export const PUBLISH_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = last + 1
if now > n then n = now end
local id = string.format('%016.0f', n)
redis.call('SET', KEYS[1], id)
redis.call('XADD', KEYS[2], 'MAXLEN', '=', ARGV[2], string.format('%.0f', n) .. '-0', 'h', ARGV[3], 'd', ARGV[6])
local frame = 'id: ' .. id .. ARGV[4] .. id .. ARGV[5] .. ARGV[6] .. ARGV[7]
redis.call('PUBLISH', ARGV[1], 'E' .. id .. string.len(ARGV[3]) .. '\\n' .. ARGV[3] .. frame)
return id
`;

/** History figures in one consistent read. KEYS: history. Returns {size, oldestEntryId|false, newestEntryId|false}. */
export const HISTORY_INFO_LUA = `
local size = redis.call('XLEN', KEYS[1])
if size == 0 then return {0, false, false} end
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
return {size, first[1][1], last[1][1]}
`;
