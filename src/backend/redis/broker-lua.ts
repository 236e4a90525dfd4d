/** The Lua of the Redis broker (key layout: see presence-lua.ts). Each script runs atomically. */

/**
 * Publish: assigns the next id, appends to the stream trimmed to exactly MAXLEN, and publishes the
 * pre-encoded frame on the bus — all in one step.
 * KEYS: seq, history, bus. ARGV: maxlen, header, afterId, afterDataId, data, afterData,
 * publish command (PUBLISH, or SPUBLISH on a Cluster), floor.
 * The id is max(last + 1, Redis time in µs, floor + 1). `last` is the seq key, which a promoted
 * replica may hold behind what the old primary handed out; the clock keeps ids above everything
 * published before a failover that took longer than the servers' clock skew, and `floor` (the
 * newest id the publishing process delivered) keeps them above everything that process has seen.
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
local floor = tonumber(ARGV[8]) + 1
if floor > n then n = floor end
local id = string.format('%016.0f', n)
redis.call('SET', KEYS[1], id)
redis.call('XADD', KEYS[2], 'MAXLEN', '=', ARGV[1], string.format('%.0f', n) .. '-0', 'h', ARGV[2], 'd', ARGV[5])
local frame = 'id: ' .. id .. ARGV[3] .. id .. ARGV[4] .. ARGV[5] .. ARGV[6]
redis.call(ARGV[7], KEYS[3], 'E' .. id .. string.len(ARGV[2]) .. '\\n' .. ARGV[2] .. frame)
return id
`;

/**
 * Before a WAIT: which of these event ids the serving primary does not hold (lost with a primary
 * that died before its replicas had them), plus one write, so the WAIT that follows on the same
 * connection covers everything this primary holds. An id older than the oldest kept entry was
 * trimmed, not lost. KEYS: history, marker. ARGV: event ids. Returns the missing ids.
 */
export const CONFIRM_LUA = `
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local oldest = nil
if first[1] then oldest = tonumber(string.match(first[1][1], '^(%d+)')) end
local missing = {}
for i = 1, #ARGV do
  local n = tonumber(ARGV[i])
  local entry = string.format('%.0f', n) .. '-0'
  if #redis.call('XRANGE', KEYS[1], entry, entry) == 0 and not (oldest and n < oldest) then
    table.insert(missing, ARGV[i])
  end
end
redis.call('SET', KEYS[2], '1', 'PX', 60000)
return missing
`;

/** History figures in one consistent read. KEYS: history. Returns {size, oldestEntryId|false, newestEntryId|false}. */
export const HISTORY_INFO_LUA = `
local size = redis.call('XLEN', KEYS[1])
if size == 0 then return {0, false, false} end
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
return {size, first[1][1], last[1][1]}
`;
