import { Sent, type CloseReason, type Connection } from './connection.js';
import type { Counters } from './counters.js';
import { filtersMatch } from './entitlement.js';
import type { HubEvent, Metadata, Target } from './events.js';
import { PING_FRAME, encodeControl } from './frame.js';
import { RoomIndex, addTo, removeFrom, type LocalRoom } from './room-index.js';
import type { LocalOpen } from './ports.js';


/**
 * What a join or leave changed here: nothing (already in, or not in), the room's membership,
 * or the membership and the user's presence (its first connection in the room here, or its last).
 */
export type RoomChange = 'none' | 'changed' | 'edge';

/** Called when the hub closes a connection itself (eviction, expiry). */
export type CloseListener = (conn: Connection, reason: CloseReason) => void;

/** Seconds in one expiry bucket; expiry is checked once a second. */
const EXPIRY_TICK_MS = 1000;

/**
 * The one owner of this process's rooms ↔ connections ↔ users indexes. Picks the recipients
 * of each event from the indexes and writes one shared frame to each; sweeps heartbeats and
 * token expiry for all connections with one timer each.
 */
export class ConnectionManager {
  private readonly byId = new Map<string, Connection>();
  private readonly byUser = new Map<string, Set<Connection>>();
  private readonly rooms_ = new RoomIndex();
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
    for (const room of conn.rooms) if (this.rooms_.enter(conn, room)) firsts.push(room);
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
    for (const room of conn.rooms) if (this.rooms_.exit(conn, room)) lasts.push(room);
    return lasts;
  }

  /** Puts an indexed connection in a room. */
  join(conn: Connection, room: string): RoomChange {
    if (conn.rooms.has(room) || !this.byId.has(conn.id)) return 'none';
    conn.rooms.add(room);
    return this.rooms_.enter(conn, room) ? 'edge' : 'changed';
  }

  /** Takes a connection out of a room. */
  leave(conn: Connection, room: string): RoomChange {
    if (!conn.rooms.delete(room)) return 'none';
    return this.rooms_.exit(conn, room) ? 'edge' : 'changed';
  }

  /** Distinct users with a connection in the room here. */
  roomUserCount(room: string): number {
    return this.rooms_.userCount(room);
  }

  /** Rooms any of the user's connections here is in. */
  roomsOfUser(userId: string): string[] {
    return this.rooms_.ofUser(userId);
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
    return this.rooms_.connections(room) ?? new Set();
  }

  /** True when one of the user's connections here is in the room. */
  userInRoom(userId: string, room: string): boolean {
    return this.rooms_.userConnections(room, userId) > 0;
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
    return this.rooms_.summaries();
  }

  /** Users in a room here, with their connection counts. */
  members(room: string): Map<string, number> {
    return this.rooms_.members(room);
  }

  /** The connections an event with this target reaches, from the indexes (the target half of `entitled`). */
  private candidates(target: Target): Iterable<Connection> {
    if (target.connectionId !== null) {
      const c = this.byId.get(target.connectionId);
      return c === undefined ? [] : [c];
    }
    if (target.userId !== null) return this.byUser.get(target.userId) ?? [];
    if (target.room !== null) return this.rooms_.connections(target.room) ?? [];
    return this.byId.values();
  }

  /** How many local connections a target (with its filters) reaches now. */
  countRecipients(target: Target): number {
    if (target.filters === null) {
      if (target.connectionId !== null) return this.byId.has(target.connectionId) ? 1 : 0;
      if (target.userId !== null) return this.byUser.get(target.userId)?.size ?? 0;
      if (target.room !== null) return this.rooms_.connections(target.room)?.size ?? 0;
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
    const conns = this.rooms_.connections(room);
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

  /** Ends every connection after a last frame of its own (shutdown). */
  finishAll(reason: CloseReason, frameFor: (conn: Connection) => Buffer): void {
    for (const c of [...this.byId.values()]) this.finish(c, reason, frameFor(c));
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
