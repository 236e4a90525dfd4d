import { USER_ROOM_PREFIX, userRoom } from './names.js';
import type { Connection } from './connection.js';
import type { Principal } from './principal.js';

/** True when `room` matches one `rooms`-claim entry: an exact id or a `prefix*` pattern. */
function matchesPattern(pattern: string, room: string): boolean {
  return pattern.endsWith('*') ? room.startsWith(pattern.slice(0, -1)) : pattern === room;
}

/** The room policy of the contract: who may join (and so read) which room. */
export function mayJoin(principal: Pick<Principal, 'userId' | 'role' | 'rooms'>, room: string): boolean {
  if (principal.role === 'admin') return true;
  if (room === userRoom(principal.userId)) return true;
  if (room.startsWith(USER_ROOM_PREFIX)) return false;
  if (room === 'admin' || room.startsWith('admin:')) return false;
  if (principal.rooms === undefined) return true;
  return principal.rooms.some((p) => matchesPattern(p, room));
}

/**
 * The same policy for one open stream, by the token it was opened with: a user-level join asked
 * with another token of the same user (a wider one, or an admin's) does not carry it into a room
 * its own token may not join.
 */
export function connectionMayJoin(conn: Pick<Connection, 'userId' | 'role' | 'roomClaim'>, room: string): boolean {
  return mayJoin({ userId: conn.userId, role: conn.role, rooms: conn.roomClaim }, room);
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
