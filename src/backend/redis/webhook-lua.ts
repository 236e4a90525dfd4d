/**
 * The webhook half of the presence scripts (presence-lua.ts appends it to their prelude): each
 * script that changes who is where appends the webhook events of that change to the pending
 * stream in the same atomic step, so every transition is recorded exactly once hub-wide, by the
 * script that decided it, and outlives the process that ran it.
 *
 * Keys under the prefix P:
 *   P wh           stream of pending webhook events, fields t (code), r (room), u (user, presence
 *                  events only); the entry id is the event id. Only pending events are kept: the
 *                  delivering process trims what the receiver acknowledged (webhook-queue.ts).
 *   P wh:dropped   events dropped on overflow, not yet counted in a process's metrics
 *   P lease:webhooks  the delivery lease (holder's run id): one process delivers at a time
 *
 * Each emitting script takes a spec argument W: '' when webhooks are off (nothing is recorded),
 * else '<queue max>:<codes>' with the codes of the reported types: o room.occupied,
 * v room.vacated, j presence.join, l presence.leave.
 */
export const WEBHOOK_LUA = `
local WH_LIVE = nil
local function wh_live()
  WH_LIVE = WH_LIVE or live_nodes()
  return WH_LIVE
end
local function wh_off(W, room) return W == nil or W == '' or string.sub(room, 1, 5) == 'user:' end
-- Appends one event; when the stream is full, the oldest pending event gives way and is counted.
local function wh_add(W, code, room, uid)
  local sep = string.find(W, ':', 1, true)
  if not string.find(W, code, sep + 1, true) then return end
  local max = tonumber(string.sub(W, 1, sep - 1))
  local key = P .. 'wh'
  if redis.call('XLEN', key) >= max then
    local n = redis.call('XTRIM', key, 'MAXLEN', max - 1)
    if n > 0 then redis.call('INCRBY', P .. 'wh:dropped', n) end
  end
  if uid then redis.call('XADD', key, '*', 't', code, 'r', room, 'u', uid)
  else redis.call('XADD', key, '*', 't', code, 'r', room) end
end
-- The room's connections on the live nodes, node \`except\` left out.
local function wh_room_conns(live, room, except)
  local total = 0
  for _, node in ipairs(live) do
    if node ~= except then total = total + tonumber(redis.call('HGET', nk(node, 'r'), room) or '0') end
  end
  return total
end
-- After a connection of this node entered a room (counts already raised): room.occupied when it
-- is the room's only connection hub-wide, then presence.join when it is its user's first.
local function wh_entered(W, room, uid, first)
  if wh_off(W, room) then return end
  if wh_room_conns(wh_live(), room, nil) == 1 then wh_add(W, 'o', room) end
  if first then wh_add(W, 'j', room, uid) end
end
-- After a connection of this node left a room (counts already lowered): presence.leave when it
-- was its user's last, then room.vacated when the room has no connection left hub-wide.
local function wh_exited(W, room, uid, last)
  if wh_off(W, room) then return end
  if last then wh_add(W, 'l', room, uid) end
  if wh_room_conns(wh_live(), room, nil) == 0 then wh_add(W, 'v', room) end
end
-- Before node D's whole state goes (reaped when dead, or its graceful leave): presence.leave for
-- each user with no connection left in a room on another live node, then room.vacated per room.
local function wh_node_gone(W, D)
  if W == nil or W == '' then return end
  local live = wh_live()
  for _, room in ipairs(redis.call('HKEYS', nk(D, 'r'))) do
    if not wh_off(W, room) then
      for _, uid in ipairs(redis.call('HKEYS', nk(D, 'm:' .. room))) do
        local total = 0
        for _, node in ipairs(live) do
          if node ~= D then total = total + tonumber(redis.call('HGET', nk(node, 'm:' .. room), uid) or '0') end
        end
        if total == 0 then wh_add(W, 'l', room, uid) end
      end
      if wh_room_conns(live, room, D) == 0 then wh_add(W, 'v', room) end
    end
  end
end
`;
