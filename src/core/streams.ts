import { randomFillSync } from 'node:crypto';
import { Connection, type CloseReason, type SseSink } from './connection.js';
import type { HubContext } from './context.js';
import { HubError, STORE_RETRY_AFTER_SEC } from './errors.js';
import type { Metadata } from './events.js';
import { parseEventId } from './event-id.js';
import { StreamSlots, assertRoomsFit } from './limits.js';
import { encodeControl, encodeRetry, frameOf } from './frame.js';
import { userRoom } from './names.js';
import { mayJoin } from './policy.js';
import type { Principal } from './principal.js';

/** What a client asked for when opening a stream. */
export interface StreamRequest {
  rooms: readonly string[];
  metadata: Metadata;
  lastEventId: string | null;
}

/** Random bytes drawn at once for connection ids (one system call per this many connects ÷ 12). */
const ID_POOL_BYTES = 12 * 512;
const idPool = Buffer.alloc(ID_POOL_BYTES);
let idPoolAt = ID_POOL_BYTES;

/** A new connection id: 12 random bytes, base64url (16 characters). */
function connectionId(): string {
  if (idPoolAt >= ID_POOL_BYTES) {
    randomFillSync(idPool);
    idPoolAt = 0;
  }
  idPoolAt += 12;
  return idPool.toString('base64url', idPoolAt - 12, idPoolAt);
}

/** Of a user's user-level memberships, those this token may join (a narrower token leaves some out). */
function stickyOf(principal: Principal, memberships: readonly string[]): string[] {
  return memberships.filter((r) => mayJoin(principal, r));
}

/** Events read per history round trip during replay. */
export const HISTORY_PAGE = 200;

/** The stream use-case: admit, register, preamble, replay, go live; and forget a closed stream. */
export class Streams {
  private readonly retryFrame: Buffer;
  /** This process's stream slots (MAX_STREAMS). */
  readonly slots: StreamSlots;

  constructor(private readonly ctx: HubContext) {
    this.retryFrame = encodeRetry(ctx.opts.retryMs);
    this.slots = new StreamSlots(ctx);
  }

  /**
   * Admits a stream (policy, per-user limit) before any byte is written, then calls `open` for
   * the sink, registers the connection, writes the preamble and replays history.
   */
  async open(principal: Principal, req: StreamRequest, open: () => SseSink): Promise<Connection> {
    this.ctx.life.assertOpen();
    this.slots.take();
    try {
      return await this.admit(principal, req, open);
    } finally {
      this.slots.release();
    }
  }

  private async admit(principal: Principal, req: StreamRequest, open: () => SseSink): Promise<Connection> {
    const { life, manager, opts, logger } = this.ctx;
    // Rooms asked for count against the user's room limit: checked and recorded in turn with the
    // user's other room changes on this process.
    const { conn, sticky, firsts } = req.rooms.length > 0
      ? await this.ctx.roomChanges.run(principal.userId, () => this.register(principal, req, open))
      : await this.register(principal, req, open);
    try {
      if (conn.closed !== null) return conn;
      await this.reconcileSticky(principal, conn, sticky, req.rooms);
      // One write for the preamble (the sink adds the response head to it).
      conn.writeNow(Buffer.concat([this.retryFrame, encodeControl('connected', {
        connectionId: conn.id, userId: conn.userId, role: conn.role, rooms: [...conn.rooms],
        nodeId: opts.nodeId, serverTime: new Date().toISOString(),
      })]));
      life.track('presence join', Promise.all(firsts.map((room) => this.ctx.signals.joined(room, conn.userId))));
      if (req.lastEventId !== null) await this.replay(conn, req.lastEventId);
    } catch (err) {
      logger.error({ err, connectionId: conn.id }, 'opening the stream failed; closing it so the client retries');
      conn.sink.destroy();
      this.close(conn);
      return conn;
    }
    if (!conn.goLive()) manager.evict(conn);
    return conn;
  }

  /**
   * Checks the stream's rooms (policy, room limit), registers the connection and records it
   * hub-wide, the per-user stream limit checked in the same step; no byte is written yet.
   */
  private async register(
    principal: Principal, req: StreamRequest, open: () => SseSink,
  ): Promise<{ conn: Connection; sticky: string[]; firsts: string[] }> {
    const { life, manager, presence, opts, logger } = this.ctx;
    for (const room of req.rooms) {
      if (!mayJoin(principal, room)) throw new HubError('forbidden', `you may not join room "${room}"`);
    }
    // One read serves both: the sticky rooms this token may join, and every membership for the limit.
    const member = await this.ctx.memberships.list(principal.userId);
    const sticky = stickyOf(principal, member);
    const asked = req.rooms.filter((r) => !sticky.includes(r));
    if (asked.length > 0) await assertRoomsFit(this.ctx, principal.userId, asked, member);
    life.assertOpen();

    const conn = new Connection(
      connectionId(), principal.userId, principal.role, req.metadata,
      principal.exp, open(), Date.now(), opts.maxBufferedBytes, principal.iat, principal.rooms,
    );
    for (const room of [userRoom(principal.userId), ...sticky, ...req.rooms]) conn.rooms.add(room);
    // Registered before history is read, so nothing published from here on is missed;
    // live frames are held until the replay is written.
    const local = manager.add(conn);
    // Recorded hub-wide, and the per-user limit checked in the same step, before any byte is
    // written: a refusal is still an ordinary HTTP answer, and once a client sees `connected`,
    // stats, members and limits count it.
    let firsts: string[] | null;
    try {
      firsts = await presence.opened(conn, opts.maxConnectionsPerUser, local);
    } catch (err) {
      manager.remove(conn);
      logger.error({ err, userId: conn.userId }, 'could not record the stream hub-wide');
      throw new HubError('unavailable', 'the hub cannot take streams right now; retry', undefined, STORE_RETRY_AFTER_SEC);
    }
    if (firsts === null) {
      manager.remove(conn);
      throw new HubError('too_many_connections', `at most ${opts.maxConnectionsPerUser} open streams per user`);
    }
    return { conn, sticky, firsts };
  }

  /** The user-level rooms this principal may still join. */
  private async stickyRooms(principal: Principal): Promise<string[]> {
    return stickyOf(principal, await this.ctx.memberships.list(principal.userId));
  }

  /**
   * A user-level join or leave racing this connect may have missed it: its control message can
   * arrive before the connection was indexed, after the first read of the user's rooms. Now that
   * the connection is indexed (and so reached by any later one), read them again and catch up.
   */
  private async reconcileSticky(principal: Principal, conn: Connection, before: readonly string[], asked: readonly string[]): Promise<void> {
    const { manager, presence, life, signals } = this.ctx;
    const now = new Set(await this.stickyRooms(principal));
    for (const room of now) {
      const change = manager.join(conn, room);
      if (change !== 'none' && (await presence.joined(conn, room, change === 'edge'))) {
        life.track('presence join', signals.joined(room, conn.userId));
      }
    }
    for (const room of before) {
      if (now.has(room) || asked.includes(room)) continue;
      const change = manager.leave(conn, room);
      if (change !== 'none' && (await presence.left(conn, room, change === 'edge'))) {
        life.track('presence leave', signals.left(room, conn.userId));
      }
    }
  }

  /** Writes the history after `lastEventId` that the connection is entitled to, pacing on drain. */
  private async replay(conn: Connection, lastEventId: string): Promise<void> {
    const { broker, counters } = this.ctx;
    const wellFormed = parseEventId(lastEventId) !== undefined;
    if (!wellFormed || !(await broker.historyHas(lastEventId))) {
      const info = await broker.historyInfo();
      conn.writeNow(encodeControl('history-gap', { lastEventId, oldestAvailable: info.oldestId }));
    }
    // An unreadable id names nothing: replay everything still kept.
    let after = wellFormed ? lastEventId : null;
    for (;;) {
      const slice = await broker.historyAfter(after, HISTORY_PAGE);
      for (const ev of slice.events) {
        if (conn.closed !== null || conn.sink.closed) return;
        after = ev.id;
        if (!conn.entitled(ev)) continue;
        conn.writeReplayed(frameOf(ev), ev.id);
        counters.replayed();
      }
      if (!slice.more || conn.closed !== null) return;
      // Pages from memory resolve at once: let I/O and timers (heartbeats, live delivery) run
      // between pages, so a storm of replays cannot hold the loop.
      if (conn.congested) await conn.sink.drained();
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Forgets a closed stream and tells its rooms when its user left them entirely. */
  close(conn: Connection, reason: CloseReason = 'client'): void {
    const { manager, presence, life, signals } = this.ctx;
    if (manager.get(conn.id) !== conn) return;
    conn.closed ??= reason;
    const lasts = manager.remove(conn);
    life.track('presence close', presence.closed(conn, lasts).then((gone) =>
      Promise.all(gone.map((room) => signals.left(room, conn.userId)))));
  }
}
