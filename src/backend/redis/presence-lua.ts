/**
 * Lua scripts run by Redis. Each runs atomically, so one script is one indivisible step of the hub.
 *
 * Key layout under the prefix P (e.g. `roomcast:`; on a Cluster hash-tagged, e.g. `{roomcast}:`):
 *   P seq                 last event id (decimal), so ids increase strictly across the hub
 *   P history             stream of kept events, entry id `<eventId>-0`, fields h (header JSON), d (data JSON)
 *   P bus                 the one pub/sub channel (a shard channel on a Cluster): events (`E…`) and control
 *                         messages (`C…`), in publish order
 *   P nodes               sorted set: nodeId → liveness deadline (ms, Redis clock)
 *   P n:<node>:c          hash connectionId → JSON [userId, room, room…] (the node's connections)
 *   P n:<node>:u          hash userId → connections on that node
 *   P n:<node>:r          hash roomId → connections on that node
 *   P n:<node>:m:<room>   hash userId → that user's connections in the room on that node
 *   P n:<node>:x:<user>   hash roomId → that user's connections in the room on that node (room limit)
 *   P n:<node>:info       hash startedAt and delivery counters
 *   P ur:<userId>         set of the rooms the user joined at user level; no TTL while the user has a
 *                         stream anywhere, else USER_ROOMS_TTL from its last stream's close
 *   P idem:<sha256>       idempotency record
 *   P wait                written before each REDIS_WAIT_REPLICAS round, so its WAIT covers the primary's data
 *   P lease:feeds         the built-in feeds' lease (holder's node id)
 *   P wh, P wh:dropped, P lease:webhooks   pending webhook events (webhook-lua.ts)
 *   P rl:<name>:…         rate-limit counters (rate-limit-redis)
 * Presence scripts build node key names from ARGV (the node list is dynamic) and declare one key,
 * P nodes, for routing. On a Cluster that is enough because every key starts with the hash-tagged
 * prefix: all of them hash to one slot, so every script touches one slot on one primary.
 */
import { WEBHOOK_LUA } from './webhook-lua.js';

/**
 * Shared prelude of the presence scripts. KEYS[1] P nodes (routing only). ARGV[1] prefix, ARGV[2]
 * this node, ARGV[3] `<key TTL (ms)>:<PRESENCE_EVENTS_MAX_USERS>` (one argument, so every script
 * keeps its own from ARGV[4]).
 */
export const PRESENCE_PRELUDE = `
local P = ARGV[1]
local N = ARGV[2]
local ttl_s, max_s = string.match(ARGV[3], '^(%d+):(%d+)$')
local TTL = tonumber(ttl_s)
local ANNOUNCE_MAX = tonumber(max_s)
local function nk(node, s) return P .. 'n:' .. node .. ':' .. s end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Nodes whose deadline has not passed, this node always included.
local function live_nodes()
  local list = redis.call('ZRANGEBYSCORE', P .. 'nodes', '(' .. string.format('%.0f', now_ms()), '+inf')
  local self = false
  for _, x in ipairs(list) do if x == N then self = true end end
  if not self then table.insert(list, N) end
  return list
end
-- The user's connections in the room on live nodes other than this one.
local function others_in_room(live, room, uid)
  local total = 0
  for _, node in ipairs(live) do
    if node ~= N then total = total + tonumber(redis.call('HGET', nk(node, 'm:' .. room), uid) or '0') end
  end
  return total
end
local function hdecr(key, field)
  local v = redis.call('HINCRBY', key, field, -1)
  if v <= 0 then redis.call('HDEL', key, field) return 0 end
  return v
end
local function touch(key) redis.call('PEXPIRE', key, TTL) end
-- True when the room has at most ANNOUNCE_MAX users on live nodes: presence events are sent only
-- there. Bounded work: a node over the cap answers at once, and the exact count runs only when
-- each node is under it.
local function small_room(live, room)
  local sum = 0
  for _, node in ipairs(live) do
    local n = redis.call('HLEN', nk(node, 'm:' .. room))
    if n > ANNOUNCE_MAX then return false end
    sum = sum + n
  end
  if sum <= ANNOUNCE_MAX then return true end
  local seen, count = {}, 0
  for _, node in ipairs(live) do
    for _, uid in ipairs(redis.call('HKEYS', nk(node, 'm:' .. room))) do
      if not seen[uid] then
        seen[uid] = true
        count = count + 1
        if count > ANNOUNCE_MAX then return false end
      end
    end
  end
  return true
end
-- The user's open connections on live nodes.
local function user_conns(live, uid)
  local total = 0
  for _, node in ipairs(live) do total = total + tonumber(redis.call('HGET', nk(node, 'u'), uid) or '0') end
  return total
end
-- Starts the clock on a user's memberships once the user has no stream left anywhere.
local function expire_user_rooms(uid, ttl)
  if ttl > 0 then redis.call('PEXPIRE', P .. 'ur:' .. uid, ttl) end
end
local function touch_node()
  touch(nk(N, 'c')) touch(nk(N, 'u')) touch(nk(N, 'r'))
end
`;

/** The prelude of the scripts that record webhook events (each takes the spec W, webhook-lua.ts). */
export const WEBHOOK_PRELUDE = PRESENCE_PRELUDE + WEBHOOK_LUA;

/**
 * Opened connection. ARGV[4] connectionId, ARGV[5] userId, ARGV[6] the per-user limit, ARGV[7]
 * webhook spec, ARGV[8..] rooms.
 * The user's memberships stop expiring while it has a stream.
 * Returns the rooms where it is the user's first connection hub-wide and that have at most
 * PRESENCE_EVENTS_MAX_USERS users (presence-join goes there), or -1 (nothing recorded) when the
 * user already holds `limit` connections.
 */
export const OPENED_LUA = WEBHOOK_PRELUDE + `
local cid, uid, limit, W = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
local c = nk(N, 'c')
if redis.call('HEXISTS', c, cid) == 1 then return {} end
-- The per-user limit, checked and taken in the same step, so racing connects on different
-- processes cannot both pass it.
local open = user_conns(live_nodes(), uid)
if open >= limit then return -1 end
if open == 0 then redis.call('PERSIST', P .. 'ur:' .. uid) end
local rec = {uid}
for i = 8, #ARGV do table.insert(rec, ARGV[i]) end
redis.call('HSET', c, cid, cjson.encode(rec))
redis.call('HINCRBY', nk(N, 'u'), uid, 1)
local xk = nk(N, 'x:' .. uid)
local firsts = {}
local live = nil
for i = 8, #ARGV do
  local room = ARGV[i]
  redis.call('HINCRBY', nk(N, 'r'), room, 1)
  redis.call('HINCRBY', xk, room, 1)
  local mk = nk(N, 'm:' .. room)
  local n = redis.call('HINCRBY', mk, uid, 1)
  touch(mk)
  local first = false
  if n == 1 then
    live = live or live_nodes()
    if others_in_room(live, room, uid) == 0 then
      first = true
      if small_room(live, room) then table.insert(firsts, room) end
    end
  end
  wh_entered(W, room, uid, first)
end
touch(xk)
touch_node()
return firsts
`;

/**
 * Closed connection. ARGV[4] connectionId, ARGV[5] USER_ROOMS_TTL (ms), ARGV[6] webhook spec.
 * Returns the rooms where it was the user's last connection hub-wide and that are left with at most
 * PRESENCE_EVENTS_MAX_USERS users; its user's memberships start expiring with its last stream.
 */
export const CLOSED_LUA = WEBHOOK_PRELUDE + `
local c = nk(N, 'c')
local raw = redis.call('HGET', c, ARGV[4])
if not raw then return {} end
redis.call('HDEL', c, ARGV[4])
local rec = cjson.decode(raw)
local uid = rec[1]
hdecr(nk(N, 'u'), uid)
local lasts = {}
local live = live_nodes()
for i = 2, #rec do
  local room = rec[i]
  hdecr(nk(N, 'r'), room)
  hdecr(nk(N, 'x:' .. uid), room)
  local last = false
  if hdecr(nk(N, 'm:' .. room), uid) == 0 then
    if others_in_room(live, room, uid) == 0 then
      last = true
      if small_room(live, room) then table.insert(lasts, room) end
    end
  end
  wh_exited(ARGV[6], room, uid, last)
end
if user_conns(live, uid) == 0 then expire_user_rooms(uid, tonumber(ARGV[5])) end
return lasts
`;

/**
 * Join (ARGV[6] = '1') or leave ('0') of one connection. ARGV[4] connectionId, ARGV[5] room,
 * ARGV[7] webhook spec. Returns 1 when first/last hub-wide in a room of at most
 * PRESENCE_EVENTS_MAX_USERS users after the change.
 */
export const MEMBERSHIP_LUA = WEBHOOK_PRELUDE + `
local c = nk(N, 'c')
local raw = redis.call('HGET', c, ARGV[4])
if not raw then return 0 end
local rec = cjson.decode(raw)
local uid, room, join = rec[1], ARGV[5], ARGV[6] == '1'
local at = nil
for i = 2, #rec do if rec[i] == room then at = i end end
if join == (at ~= nil) then return 0 end
local mk = nk(N, 'm:' .. room)
local n
if join then
  table.insert(rec, room)
  redis.call('HINCRBY', nk(N, 'r'), room, 1)
  redis.call('HINCRBY', nk(N, 'x:' .. uid), room, 1)
  touch(nk(N, 'x:' .. uid))
  n = redis.call('HINCRBY', mk, uid, 1)
  touch(mk)
  touch_node()
else
  table.remove(rec, at)
  hdecr(nk(N, 'r'), room)
  hdecr(nk(N, 'x:' .. uid), room)
  n = hdecr(mk, uid)
end
redis.call('HSET', c, ARGV[4], cjson.encode(rec))
local edge = 0
local live = live_nodes()
if (join and n == 1) or (not join and n == 0) then
  if others_in_room(live, room, uid) == 0 then edge = 1 end
end
if join then wh_entered(ARGV[7], room, uid, edge == 1) else wh_exited(ARGV[7], room, uid, edge == 1) end
if edge == 1 and small_room(live, room) then return 1 end
return 0
`;

/**
 * User-level membership. ARGV[4] userId, ARGV[5] room, ARGV[6] '1' add / '0' remove, ARGV[7]
 * USER_ROOMS_TTL (ms). The set keeps no TTL while the user has a stream anywhere.
 */
export const USER_ROOM_LUA = PRESENCE_PRELUDE + `
local uid, room = ARGV[4], ARGV[5]
local key = P .. 'ur:' .. uid
if ARGV[6] == '1' then
  redis.call('SADD', key, room)
  if user_conns(live_nodes(), uid) == 0 then expire_user_rooms(uid, tonumber(ARGV[7])) end
else
  redis.call('SREM', key, room)
end
return 1
`;
