import { Sent, type CloseReason, type Connection } from './connection.js';
import type { Counters } from './counters.js';
import { filtersMatch } from './entitlement.js';
import type { HubEvent, Metadata, Target } from './events.js';
import { PING_FRAME, encodeControl } from './frame.js';
import type { LocalOpen } from './ports.js';

/** A room as seen from this process. */
export interface LocalRoom {
  roomId: string;
  connections: number;
  users: number;
}

/**
 * What a join or leave changed here: nothing (already in, or not in), the room's membership,
 * or the membership and the user's presence (its first connection in the room here, or its last).
 */
export type RoomChange = 'none' | 'changed' | 'edge';

/** Called when the hub closes a connection itself (eviction, expiry). */
export type CloseListener = (conn: Connection, reason: CloseReason) => void;

/** Seconds in one expiry bucket; expiry is checked once a second. */
const EXPIRY_TICK_MS = 1000;

function addTo<K, V>(index: Map<K, Set<V>>, key: K, value: V): Set<V> {
  let set = index.get(key);
  if (set === undefined) {
    set = new Set();
    index.set(key, set);
  }
  set.add(value);
  return set;
}

function removeFrom<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(value);
  if (set.size === 0) index.delete(key);
}

/**
 * The one owner of this process's rooms ↔ connections ↔ users indexes. Picks the recipients
 * of each event from the indexes and writes one shared frame to each; sweeps heartbeats and
 * token expiry for all connections with one timer each.
 */
export class ConnectionManager {
  private readonly byId = new Map<string, Connection>();
  private readonly byUser = new Map<string, Set<Connection>>();
  private readonly byRoom = new Map<string, Set<Connection>>();
  /** Room → user → that user's connections in the room here (presence and member counts). */
  private readonly roomUsers = new Map<string, Map<string, number>>();
  /** Expiry second → connections whose token expires then. */
  private readonly expiries = new Map<number, Set<Connection>>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private onClose: CloseListener = () => {};
  /** Coarse clock for lastActivity, refreshed per event rather than per write. */
  private now = Date.now();
  /** Connections with frames queued since the last flush. */
  private dirty: Connection[] = [];
  private flushScheduled = false;
  private readonly flushAll = (): void => this.flush();

  constructor(private readonly counters: Counters) {}

  /** Starts the heartbeat and expiry sweeps. */
  start(heartbeatMs: number, onClose: CloseListener): void {
    this.onClose = onClose;
    this.heartbeatTimer = setInterval(() => this.heartbeat(), heartbeatMs);
    this.expiryTimer = setInterval(() => this.expireTokens(Math.floor(Date.now() / 1000)), EXPIRY_TICK_MS);
  }

  /** Stops the sweeps. */
  stop(): void {
    clearInterval(this.heartbeatTimer);
    clearInterval(this.expiryTimer);
  }

  /** Indexes a new connection (and its rooms); answers where it is its user's first one here. */
  add(conn: Connection): LocalOpen {
    this.byId.set(conn.id, conn);
    const mine = addTo(this.byUser, conn.userId, conn);
    const firsts: string[] = [];
    for (const room of conn.rooms) if (this.enter(conn, room)) firsts.push(room);
    addTo(this.expiries, conn.exp, conn);
    return { firsts, userConnections: mine.size };
  }

  /** Drops a connection from every index; empty rooms disappear. Answers where it was its user's last one here. */
  remove(conn: Connection): string[] {
    if (this.byId.get(conn.id) !== conn) return [];
    this.byId.delete(conn.id);
    removeFrom(this.byUser, conn.userId, conn);
    removeFrom(this.expiries, conn.exp, conn);
    const lasts: string[] = [];
    for (const room of conn.rooms) if (this.exit(conn, room)) lasts.push(room);
    return lasts;
  }

  /** Puts an indexed connection in a room. */
  join(conn: Connection, room: string): RoomChange {
    if (conn.rooms.has(room) || !this.byId.has(conn.id)) return 'none';
    conn.rooms.add(room);
    return this.enter(conn, room) ? 'edge' : 'changed';
  }

  /** Takes a connection out of a room. */
  leave(conn: Connection, room: string): RoomChange {
    if (!conn.rooms.delete(room)) return 'none';
    return this.exit(conn, room) ? 'edge' : 'changed';
  }

  /** Indexes one membership; true when it is the user's first connection in the room here. */
  private enter(conn: Connection, room: string): boolean {
    addTo(this.byRoom, room, conn);
    let users = this.roomUsers.get(room);
    if (users === undefined) this.roomUsers.set(room, (users = new Map()));
    const n = (users.get(conn.userId) ?? 0) + 1;
    users.set(conn.userId, n);
    return n === 1;
  }

  /** Drops one membership; true when it was the user's last connection in the room here. */
  private exit(conn: Connection, room: string): boolean {
    removeFrom(this.byRoom, room, conn);
    const users = this.roomUsers.get(room);
    if (users === undefined) return false;
    const n = (users.get(conn.userId) ?? 0) - 1;
    if (n > 0) {
      users.set(conn.userId, n);
      return false;
    }
    users.delete(conn.userId);
    if (users.size === 0) this.roomUsers.delete(room);
    return true;
  }

  /** One connection by id. */
  get(id: string): Connection | undefined {
    return this.byId.get(id);
  }

  /** This process's connections of one user. */
  ofUser(userId: string): ReadonlySet<Connection> {
    return this.byUser.get(userId) ?? new Set();
  }

  /** This process's connections in one room. */
  inRoom(room: string): ReadonlySet<Connection> {
    return this.byRoom.get(room) ?? new Set();
  }

  /** True when one of the user's connections here is in the room. */
  userInRoom(userId: string, room: string): boolean {
    return (this.roomUsers.get(room)?.get(userId) ?? 0) > 0;
  }

  /** Number of open connections here. */
  get size(): number {
    return this.byId.size;
  }

  /** Number of distinct users with a connection here. */
  get userCount(): number {
    return this.byUser.size;
  }

  /** Ids of users with a connection here. */
  users(): IterableIterator<string> {
    return this.byUser.keys();
  }

  /** Every room with a connection here. */
  rooms(): LocalRoom[] {
    const out: LocalRoom[] = [];
    for (const [roomId, conns] of this.byRoom) {
      out.push({ roomId, connections: conns.size, users: this.roomUsers.get(roomId)?.size ?? 0 });
    }
    return out;
  }

  /** Users in a room here, with their connection counts. */
  members(room: string): Map<string, number> {
    return new Map(this.roomUsers.get(room));
  }

  /** The connections an event with this target reaches, from the indexes (the target half of `entitled`). */
  private candidates(target: Target): Iterable<Connection> {
    if (target.connectionId !== null) {
      const c = this.byId.get(target.connectionId);
      return c === undefined ? [] : [c];
    }
    if (target.userId !== null) return this.byUser.get(target.userId) ?? [];
    if (target.room !== null) return this.byRoom.get(target.room) ?? [];
    return this.byId.values();
  }

  /** How many local connections a target (with its filters) reaches now. */
  countRecipients(target: Target): number {
    if (target.filters === null) {
      if (target.connectionId !== null) return this.byId.has(target.connectionId) ? 1 : 0;
      if (target.userId !== null) return this.byUser.get(target.userId)?.size ?? 0;
      if (target.room !== null) return this.byRoom.get(target.room)?.size ?? 0;
      return this.byId.size;
    }
    let n = 0;
    for (const c of this.candidates(target)) if (filtersMatch(target.filters, c.metadata)) n++;
    return n;
  }

  /** Queues one event's frame for every entitled local connection; returns how many get it. */
  dispatch(ev: HubEvent, frame: Buffer): number {
    const now = (this.now = Date.now());
    const filters: Metadata | null = ev.filters;
    let n = 0;
    for (const c of this.candidates(ev)) {
      if (filters !== null && !filtersMatch(filters, c.metadata)) continue;
      n++;
      this.push(c, c.send(frame, ev.id, now));
    }
    this.counters.delivered(n);
    return n;
  }

  /** Sends a control frame to every local connection in a room. */
  signalRoom(room: string, frame: Buffer): void {
    const conns = this.byRoom.get(room);
    if (conns === undefined) return;
    for (const c of conns) this.push(c, c.send(frame, undefined, this.now));
  }

  /** Sends a control frame to one connection. */
  signal(conn: Connection, frame: Buffer): void {
    this.push(conn, conn.send(frame, undefined, this.now));
  }

  /** Acts on what `send` did: schedule the connection's flush, or evict it. */
  private push(c: Connection, sent: Sent): void {
    if (sent === Sent.First) {
      this.dirty.push(c);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // After the current I/O phase: every event published in this turn shares one write per socket.
        setImmediate(this.flushAll);
      }
    } else if (sent === Sent.Over) {
      // Evicted after the loop over recipients has moved on; a closed connection drops further frames.
      this.evict(c);
    }
  }

  /** Writes every connection's queued frames, one write each. */
  flush(): void {
    this.flushScheduled = false;
    const dirty = this.dirty;
    this.dirty = [];
    for (const c of dirty) if (!c.flush()) this.evict(c);
  }

  /** Closes a slow consumer: its client reconnects and resumes from its last event id. */
  evict(conn: Connection): void {
    if (conn.closed !== null) return;
    conn.closed = 'evicted';
    this.counters.evicted();
    conn.sink.destroy();
    this.onClose(conn, 'evicted');
  }

  /** Ends one connection after a last control frame. */
  finish(conn: Connection, reason: CloseReason, frame: Buffer): void {
    if (conn.closed !== null) return;
    conn.flush();
    conn.closed = reason;
    conn.sink.write(frame);
    conn.sink.end();
    this.onClose(conn, reason);
  }

  /** Ends every connection after a last control frame (shutdown). */
  finishAll(reason: CloseReason, frame: Buffer): void {
    for (const c of [...this.byId.values()]) this.finish(c, reason, frame);
  }

  /** Writes `: ping` to every stream (one sweep for all; no per-connection timers). */
  heartbeat(): void {
    this.now = Date.now();
    for (const c of this.byId.values()) {
      if (!c.replaying) this.push(c, c.send(PING_FRAME, undefined, this.now));
    }
  }

  /** Sends `token-expired` and closes every stream whose token expired by `nowSec`. */
  expireTokens(nowSec: number): void {
    // Buckets are per expiry second, so this walks distinct expiry times, not connections.
    for (const [s, conns] of this.expiries) {
      if (s > nowSec) continue;
      const frame = encodeControl('token-expired', { reason: 'token expired', expiredAt: new Date(s * 1000).toISOString() });
      for (const c of [...conns]) this.finish(c, 'token-expired', frame);
    }
  }
}
