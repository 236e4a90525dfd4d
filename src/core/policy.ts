import { USER_ROOM_PREFIX, userRoom } from './names.js';
import type { Principal } from './principal.js';

/** True when `room` matches one `rooms`-claim entry: an exact id or a `prefix*` pattern. */
function matchesPattern(pattern: string, room: string): boolean {
  return pattern.endsWith('*') ? room.startsWith(pattern.slice(0, -1)) : pattern === room;
}

/** The room policy of the contract: who may join (and so read) which room. */
export function mayJoin(principal: Principal, room: string): boolean {
  if (principal.role === 'admin') return true;
  if (room === userRoom(principal.userId)) return true;
  if (room.startsWith(USER_ROOM_PREFIX)) return false;
  if (room === 'admin' || room.startsWith('admin:')) return false;
  if (principal.rooms === undefined) return true;
  return principal.rooms.some((p) => matchesPattern(p, room));
}

/** True when the caller may see a room in `GET /rooms` (others' private rooms are hidden). */
export function maySeeRoom(principal: Principal, room: string): boolean {
  if (principal.role === 'admin') return true;
  return !room.startsWith(USER_ROOM_PREFIX) || room === userRoom(principal.userId);
}

/** Publishing needs role `publisher` or `admin`. */
export function mayPublish(principal: Principal): boolean {
  return principal.role === 'publisher' || principal.role === 'admin';
}
