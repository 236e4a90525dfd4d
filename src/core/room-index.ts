import type { Connection } from './connection.js';

/** A room as seen from this process. */
export interface LocalRoom {
  roomId: string;
  connections: number;
  users: number;
}

/** Adds a value to the set under a key (made on first use); returns the set. */
export function addTo<K, V>(index: Map<K, Set<V>>, key: K, value: V): Set<V> {
  let set = index.get(key);
  if (set === undefined) {
    set = new Set();
    index.set(key, set);
  }
  set.add(value);
  return set;
}

/** Removes a value from the set under a key; an emptied set is dropped. */
export function removeFrom<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(value);
  if (set.size === 0) index.delete(key);
}

/**
 * This process's rooms: room → connections, room → user → connections, and the same counts by
 * user. Owned by the ConnectionManager, which calls `enter`/`exit` as memberships change.
 */
export class RoomIndex {
  private readonly byRoom = new Map<string, Set<Connection>>();
  /** Room → user → that user's connections in the room here (presence and member counts). */
  private readonly roomUsers = new Map<string, Map<string, number>>();
  /** User → room → the same counts, by user (the rooms-per-user limit). */
  private readonly userRooms = new Map<string, Map<string, number>>();

  /** Indexes one membership; true when it is the user's first connection in the room here. */
  enter(conn: Connection, room: string): boolean {
    addTo(this.byRoom, room, conn);
    let users = this.roomUsers.get(room);
    if (users === undefined) this.roomUsers.set(room, (users = new Map()));
    const n = (users.get(conn.userId) ?? 0) + 1;
    users.set(conn.userId, n);
    let rooms = this.userRooms.get(conn.userId);
    if (rooms === undefined) this.userRooms.set(conn.userId, (rooms = new Map()));
    rooms.set(room, n);
    return n === 1;
  }

  /** Drops one membership; true when it was the user's last connection in the room here. */
  exit(conn: Connection, room: string): boolean {
    removeFrom(this.byRoom, room, conn);
    const users = this.roomUsers.get(room);
    if (users === undefined) return false;
    const n = (users.get(conn.userId) ?? 0) - 1;
    const rooms = this.userRooms.get(conn.userId);
    if (n > 0) {
      users.set(conn.userId, n);
      rooms?.set(room, n);
      return false;
    }
    users.delete(conn.userId);
    if (users.size === 0) this.roomUsers.delete(room);
    rooms?.delete(room);
    if (rooms?.size === 0) this.userRooms.delete(conn.userId);
    return true;
  }

  /** The connections in a room here, if any. */
  connections(room: string): ReadonlySet<Connection> | undefined {
    return this.byRoom.get(room);
  }

  /** The user's connections in a room here. */
  userConnections(room: string, userId: string): number {
    return this.roomUsers.get(room)?.get(userId) ?? 0;
  }

  /** Distinct users in a room here. */
  userCount(room: string): number {
    return this.roomUsers.get(room)?.size ?? 0;
  }

  /** Rooms any of the user's connections here is in. */
  ofUser(userId: string): string[] {
    return [...(this.userRooms.get(userId)?.keys() ?? [])];
  }

  /** Users in a room here, with their connection counts. */
  members(room: string): Map<string, number> {
    return new Map(this.roomUsers.get(room));
  }

  /** Every room with a connection here. */
  summaries(): LocalRoom[] {
    const out: LocalRoom[] = [];
    for (const [roomId, conns] of this.byRoom) out.push({ roomId, connections: conns.size, users: this.userCount(roomId) });
    return out;
  }
}
