/**
 * The presence scripts that read the hub-wide view and keep each node's state alive (heartbeat,
 * reaping a dead node, resync, graceful leave). The preludes and the key layout are in presence-lua.ts.
 */
import { PRESENCE_PRELUDE, WEBHOOK_PRELUDE } from './presence-lua.js';

/**
 * Hub-wide reads over the live nodes. ARGV[4] operation, ARGV[5..] its arguments:
 *   user-conns uid → n;  owner cid → userId|false;  in-room uid room → 0|1;  count-room room → n;
 *   user-rooms uid → {room, …} (rooms any of the user's connections is in);
 *   count-all → n;  rooms → {room, connections, users, …};  members room → {uid, n, …};
 *   active-users → n;  nodes → {nodeId, connections, {infoField, value, …}, …}
 */
export const READ_LUA = PRESENCE_PRELUDE + `
local op = ARGV[4]
local live = live_nodes()
if op == 'user-conns' then
  return user_conns(live, ARGV[5])
elseif op == 'user-rooms' then
  local seen, out = {}, {}
  for _, node in ipairs(live) do
    for _, room in ipairs(redis.call('HKEYS', nk(node, 'x:' .. ARGV[5]))) do
      if not seen[room] then seen[room] = true table.insert(out, room) end
    end
  end
  return out
elseif op == 'owner' then
  for _, node in ipairs(live) do
    local raw = redis.call('HGET', nk(node, 'c'), ARGV[5])
    if raw then return cjson.decode(raw)[1] end
  end
  return false
elseif op == 'in-room' then
  for _, node in ipairs(live) do
    if tonumber(redis.call('HGET', nk(node, 'm:' .. ARGV[6]), ARGV[5]) or '0') > 0 then return 1 end
  end
  return 0
elseif op == 'count-room' then
  local total = 0
  for _, node in ipairs(live) do total = total + tonumber(redis.call('HGET', nk(node, 'r'), ARGV[5]) or '0') end
  return total
elseif op == 'count-all' then
  local total = 0
  for _, node in ipairs(live) do total = total + redis.call('HLEN', nk(node, 'c')) end
  return total
elseif op == 'rooms' then
  local conns, users, order = {}, {}, {}
  for _, node in ipairs(live) do
    local flat = redis.call('HGETALL', nk(node, 'r'))
    for i = 1, #flat, 2 do
      local room = flat[i]
      if conns[room] == nil then conns[room] = 0 users[room] = {} table.insert(order, room) end
      conns[room] = conns[room] + tonumber(flat[i + 1])
      for _, uid in ipairs(redis.call('HKEYS', nk(node, 'm:' .. room))) do users[room][uid] = true end
    end
  end
  local out = {}
  for _, room in ipairs(order) do
    local nu = 0
    for _ in pairs(users[room]) do nu = nu + 1 end
    if conns[room] > 0 then
      table.insert(out, room) table.insert(out, conns[room]) table.insert(out, nu)
    end
  end
  return out
elseif op == 'members' then
  local counts, order = {}, {}
  for _, node in ipairs(live) do
    local flat = redis.call('HGETALL', nk(node, 'm:' .. ARGV[5]))
    for i = 1, #flat, 2 do
      if counts[flat[i]] == nil then counts[flat[i]] = 0 table.insert(order, flat[i]) end
      counts[flat[i]] = counts[flat[i]] + tonumber(flat[i + 1])
    end
  end
  local out = {}
  for _, uid in ipairs(order) do table.insert(out, uid) table.insert(out, counts[uid]) end
  return out
elseif op == 'active-users' then
  local seen, n = {}, 0
  for _, node in ipairs(live) do
    for _, uid in ipairs(redis.call('HKEYS', nk(node, 'u'))) do
      if not seen[uid] then seen[uid] = true n = n + 1 end
    end
  end
  return n
elseif op == 'nodes' then
  local out = {}
  for _, node in ipairs(live) do
    table.insert(out, node)
    table.insert(out, redis.call('HLEN', nk(node, 'c')))
    table.insert(out, redis.call('HGETALL', nk(node, 'info')))
  end
  return out
end
return redis.error_reply('unknown presence read ' .. tostring(op))
`;

/**
 * Heartbeat. ARGV[4] liveness window (ms), ARGV[5..] info field/value pairs. Moves this node's
 * deadline, writes its info, refreshes the TTL of its keys. Returns {infoExisted (0|1), deadNode…}.
 */
export const HEARTBEAT_LUA = PRESENCE_PRELUDE + `
local now = now_ms()
local info = nk(N, 'info')
local existed = redis.call('EXISTS', info)
redis.call('ZADD', P .. 'nodes', now + tonumber(ARGV[4]), N)
local fields = {}
for i = 5, #ARGV do table.insert(fields, ARGV[i]) end
if #fields > 0 then redis.call('HSET', info, unpack(fields)) end
touch(info)
touch_node()
for _, room in ipairs(redis.call('HKEYS', nk(N, 'r'))) do touch(nk(N, 'm:' .. room)) end
for _, uid in ipairs(redis.call('HKEYS', nk(N, 'u'))) do touch(nk(N, 'x:' .. uid)) end
local out = {existed}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', P .. 'nodes', '-inf', string.format('%.0f', now))) do
  if node ~= N then table.insert(out, node) end
end
return out
`;

/** Deletes a node's connection state (not its info: the heartbeat uses that to notice lost keys). */
const DROP_NODE = `
local function drop_node(node)
  for _, room in ipairs(redis.call('HKEYS', nk(node, 'r'))) do redis.call('DEL', nk(node, 'm:' .. room)) end
  for _, uid in ipairs(redis.call('HKEYS', nk(node, 'u'))) do redis.call('DEL', nk(node, 'x:' .. uid)) end
  redis.call('DEL', nk(node, 'c'), nk(node, 'u'), nk(node, 'r'))
end
`;

/**
 * Reaps a dead node ARGV[4] (ARGV[5] USER_ROOMS_TTL in ms, ARGV[6] webhook spec): only when its
 * deadline passed and nobody reaped it yet; its users with no stream left start their memberships'
 * expiry. Returns {room, userId, …} for users whose last connection in a room died with it, in rooms
 * left with at most PRESENCE_EVENTS_MAX_USERS users (presence-leave).
 */
export const REAP_LUA = WEBHOOK_PRELUDE + DROP_NODE + `
local D = ARGV[4]
local deadline = redis.call('ZSCORE', P .. 'nodes', D)
if not deadline or tonumber(deadline) > now_ms() then return {} end
redis.call('ZREM', P .. 'nodes', D)
local live = live_nodes()
local gone = {}
for _, room in ipairs(redis.call('HKEYS', nk(D, 'r'))) do
  for _, uid in ipairs(redis.call('HKEYS', nk(D, 'm:' .. room))) do
    local total = 0
    for _, node in ipairs(live) do
      if node ~= D then total = total + tonumber(redis.call('HGET', nk(node, 'm:' .. room), uid) or '0') end
    end
    if total == 0 and small_room(live, room) then table.insert(gone, room) table.insert(gone, uid) end
  end
end
local users = redis.call('HKEYS', nk(D, 'u'))
wh_node_gone(ARGV[6], D)
drop_node(D)
redis.call('DEL', nk(D, 'info'))
for _, uid in ipairs(users) do
  if user_conns(live, uid) == 0 then expire_user_rooms(uid, tonumber(ARGV[5])) end
end
return gone
`;

/**
 * Rewrites this node's whole state from a snapshot (start, after an outage, after its keys expired).
 * ARGV[4] JSON [[connectionId, userId, room…], …].
 */
export const RESYNC_LUA = PRESENCE_PRELUDE + DROP_NODE + `
drop_node(N)
local snap = cjson.decode(ARGV[4])
for _, item in ipairs(snap) do
  local cid, uid = item[1], item[2]
  local rec = {uid}
  redis.call('HINCRBY', nk(N, 'u'), uid, 1)
  for i = 3, #item do
    local room = item[i]
    table.insert(rec, room)
    redis.call('HINCRBY', nk(N, 'r'), room, 1)
    redis.call('HINCRBY', nk(N, 'x:' .. uid), room, 1)
    touch(nk(N, 'x:' .. uid))
    local mk = nk(N, 'm:' .. room)
    redis.call('HINCRBY', mk, uid, 1)
    touch(mk)
  end
  redis.call('HSET', nk(N, 'c'), cid, cjson.encode(rec))
end
touch_node()
return #snap
`;

/**
 * Graceful leave: drops this node's state and registry entry. ARGV[4] webhook spec: whatever
 * state is left (closes that could not be recorded) is reported as gone.
 */
export const LEAVE_LUA = WEBHOOK_PRELUDE + DROP_NODE + `
wh_node_gone(ARGV[4], N)
drop_node(N)
redis.call('DEL', nk(N, 'info'))
redis.call('ZREM', P .. 'nodes', N)
return 1
`;

