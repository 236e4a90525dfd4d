/** The Lua of the Redis broker (key layout: see presence-lua.ts). Each script runs atomically. */

/**
 * Publish: assigns the next ids, appends to the stream trimmed to exactly MAXLEN, publishes each
 * pre-encoded frame on the bus, and stores the idempotency answer — all in one step, so a batch is
 * stored whole or not at all, and no crash or lost reply comes between the events and their answer.
 * KEYS: seq, history, bus[, answer]. ARGV: maxlen, publish command (PUBLISH, or SPUBLISH on a
 * Cluster), floor, event count, expected claim, answer TTL (ms), then five per event (header,
 * afterId, afterDataId, data, afterData), then the answer's count + 1 parts.
 * The first id is max(last + 1, Redis time in µs, floor + 1), each next one 1 more. `last` is the
 * seq key, which a promoted replica may hold behind what the old primary handed out; the clock keeps
 * ids above everything published before a failover that took longer than the servers' clock skew,
 * and `floor` (the newest id the publishing process delivered) keeps them above everything that
 * process has seen.
 * The frame is `id: ` .. id .. afterId .. id .. afterDataId .. data .. afterData (the pieces come
 * from core/frame.ts, the one owner of the layout).
 * Bus message: 'E' .. id(16) .. headerBytes .. '\n' .. header .. frame.
 * The answer (parts[1] .. id1 .. parts[2] .. … .. idN .. parts[N+1]) is written only while the
 * answer key still holds this run's claim. Returns the ids.
 */
export const PUBLISH_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = tonumber(redis.call('GET', KEYS[1]) or '0') + 1
if now > n then n = now end
local floor = tonumber(ARGV[3]) + 1
if floor > n then n = floor end
local count = tonumber(ARGV[4])
local ids = {}
for i = 0, count - 1 do
  local a = 7 + i * 5
  local id = string.format('%016.0f', n)
  redis.call('XADD', KEYS[2], 'MAXLEN', '=', ARGV[1], string.format('%.0f', n) .. '-0', 'h', ARGV[a], 'd', ARGV[a + 3])
  local frame = 'id: ' .. id .. ARGV[a + 1] .. id .. ARGV[a + 2] .. ARGV[a + 3] .. ARGV[a + 4]
  redis.call(ARGV[2], KEYS[3], 'E' .. id .. string.len(ARGV[a]) .. '\\n' .. ARGV[a] .. frame)
  ids[i + 1] = id
  n = n + 1
end
redis.call('SET', KEYS[1], ids[count])
if KEYS[4] and redis.call('GET', KEYS[4]) == ARGV[5] then
  local p = 7 + count * 5
  local answer = {ARGV[p]}
  for i = 1, count do
    answer[#answer + 1] = ids[i]
    answer[#answer + 1] = ARGV[p + i]
  end
  redis.call('SET', KEYS[4], table.concat(answer), 'PX', ARGV[6])
end
return ids
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
