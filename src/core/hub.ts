import { randomBytes } from 'node:crypto';
import { Connection, filtersMatch, type CloseReason, type SseSink } from './connection.js';
import { ConnectionManager } from './connection-manager.js';
import { HubError } from './errors.js';
import { parseEventId } from './event-id.js';
import { userRoom } from './names.js';
import { mayJoin, maySeeRoom } from './policy.js';
import { encodeControl, encodeEvent, encodeRetry, eventJson, toPublicEvent } from './sse.js';
import type {
  Broker, BrokerListener, ControlMessage, DeliveryCounters, EventDraft, HistoryInfo, HubEvent, IdempotencyStore,
  Metadata, NodeSummary, PresenceStore, Principal, PublicEvent, RoomSummary,
} from './types.js';

/** The hub's tunables (from config). */
export interface HubOptions {
  nodeId: string;
  retryMs: number;
  heartbeatMs: number;
  maxEventBytes: number;
  maxBufferedBytes: number;
  maxConnectionsPerUser: number;
  /** Whether Redis backs the hub: reported as `redis` in stats. */
  redisConfigured: boolean;
  /** When this process started, ms since the epoch. */
  startedAt: number;
}

/** What the hub logs through (pino's shape). */
export interface HubLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Hooks for metrics; called once per event, never per delivery. */
export interface HubObserver {
  /** One event was written to this process's recipients, `latencyMs` after it was published. */
  dispatched(latencyMs: number): void;
}

/** The collaborators a hub is built from (chosen in main.ts). */
export interface HubDeps {
  broker: Broker;
  presence: PresenceStore;
  idempotency: IdempotencyStore;
  manager: ConnectionManager;
  logger: HubLogger;
  observer?: HubObserver;
}

/** A validated publish request. */
export interface PublishInput {
  type: string;
  data: unknown;
  room: string | null;
  userId: string | null;
  connectionId: string | null;
  filters: Metadata | null;
}

/** The answer to one publish. */
export interface PublishResult {
  id: string;
  recipients: number;
}

/** What a client asked for when opening a stream. */
export interface StreamRequest {
  rooms: readonly string[];
  metadata: Metadata;
  lastEventId: string | null;
}

/** A history query. */
export interface HistoryQuery {
  after: string | null;
  limit: number;
  room: string | null;
  metadata: Metadata;
}

/** The answer to a history query. */
export interface HistoryAnswer {
  events: PublicEvent[];
  oldestAvailable: string | null;
  gap: boolean;
}

/** Hub-wide figures for `/stats`. */
export interface HubStats {
  nodes: { nodeId: string; connections: number; uptimeSec: number }[];
  totalConnections: number;
  activeUsers: number;
  totalRooms: number;
  roomStats: Record<string, number>;
  events: DeliveryCounters;
  history: { size: number; oldestId: string | null; newestId: string | null };
  redis: 'up' | 'down' | 'disabled';
}

/** Events read per history round trip during replay and history queries. */
const HISTORY_PAGE = 200;
/** Placeholders of the exact width of a real id and timestamp, to size a frame before publishing. */
const ID_PLACEHOLDER = '0'.repeat(16);
const TIMESTAMP_PLACEHOLDER = new Date(0).toISOString();

/**
 * The hub: validates nothing HTTP-shaped, owns the event path
 * (publish → broker → every process's ConnectionManager) and the stream lifecycle.
 */
export class Hub {
  private readonly broker: Broker;
  private readonly presence: PresenceStore;
  private readonly idempotency: IdempotencyStore;
  readonly manager: ConnectionManager;
  private readonly logger: HubLogger;
  private readonly observer: HubObserver | undefined;
  private readonly retryFrame: Buffer;
  private shuttingDown = false;
  /** The last history figures read, for stats while the store is unreachable. */
  private lastHistory: HistoryInfo = { size: 0, oldestId: null, newestId: null };
  /** Background work (presence updates, control fan-out) awaited on shutdown. */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly opts: HubOptions, deps: HubDeps) {
    this.broker = deps.broker;
    this.presence = deps.presence;
    this.idempotency = deps.idempotency;
    this.manager = deps.manager;
    this.logger = deps.logger;
    this.observer = deps.observer;
    this.retryFrame = encodeRetry(opts.retryMs);
  }

  /** Subscribes to the broker and starts the sweeps. */
  async start(): Promise<void> {
    const listener: BrokerListener = {
      onEvent: (ev, frame) => this.deliver(ev, frame),
      onControl: (msg) => this.applyControl(msg),
    };
    await this.broker.subscribe(listener);
    this.manager.start(this.opts.heartbeatMs, (conn) => this.closeStream(conn));
  }

  /** The one entry of events into this process's sockets: the broker's callback. */
  private deliver(ev: HubEvent, frame: Buffer | undefined): void {
    const n = this.manager.dispatch(ev, frame ?? encodeEvent(ev, ev.dataJson));
    if (n > 0) this.observer?.dispatched(Date.now() - Date.parse(ev.timestamp));
  }

  /** Runs background work, logging (never throwing) its failure. */
  private track(what: string, work: Promise<unknown>): void {
    const p = work.catch((err: unknown) => this.logger.error({ err, what }, 'background hub operation failed'));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private signalPresence(room: string, type: 'presence-join' | 'presence-leave', userId: string): Promise<void> {
    return this.broker.publishControl({ kind: 'room-signal', room, type, data: { roomId: room, userId } });
  }

  private applyControl(msg: ControlMessage): void {
    if (msg.kind === 'room-signal') {
      this.manager.signalRoom(msg.room, encodeControl(msg.type, msg.data));
      return;
    }
    const targets = msg.connectionId !== null
      ? [this.manager.get(msg.connectionId)].filter((c): c is Connection => c !== undefined && c.userId === msg.userId)
      : [...this.manager.ofUser(msg.userId)];
    const frame = encodeControl(msg.kind === 'join' ? 'room-joined' : 'room-left', { roomId: msg.room });
    for (const conn of targets) {
      if (msg.kind === 'join') {
        if (!this.manager.join(conn, msg.room)) continue;
        this.manager.signal(conn, frame);
        this.track('presence join', this.presence.joined(conn, msg.room).then((first) =>
          first ? this.signalPresence(msg.room, 'presence-join', conn.userId) : undefined));
      } else {
        if (!this.manager.leave(conn, msg.room)) continue;
        this.manager.signal(conn, frame);
        this.track('presence leave', this.presence.left(conn, msg.room).then((last) =>
          last ? this.signalPresence(msg.room, 'presence-leave', conn.userId) : undefined));
      }
    }
  }

  /** Refuses work once shutdown began. */
  private assertOpen(): void {
    if (this.shuttingDown) throw new HubError('unavailable', 'the hub is shutting down');
  }

  // ---- publishing ----

  /** Publishes one event (history append, then fan-out to every process); sender is the token's sub. */
  async publish(sender: string, input: PublishInput): Promise<PublishResult> {
    return this.emit(await this.prepare(sender, input));
  }

  /** Publishes events in order; all are checked first (size, target), so a bad one publishes nothing. */
  async publishBatch(sender: string, inputs: readonly PublishInput[]): Promise<{ ids: string[] }> {
    const drafts: EventDraft[] = [];
    for (const input of inputs) drafts.push(await this.prepare(sender, input));
    const ids: string[] = [];
    for (const draft of drafts) ids.push((await this.emit(draft)).id);
    return { ids };
  }

  /** Checks one event (the target connection is open, the encoded size fits) and builds its draft. */
  private async prepare(sender: string, input: PublishInput): Promise<EventDraft> {
    this.assertOpen();
    let ownerUserId: string | null = null;
    if (input.connectionId !== null) {
      ownerUserId = await this.presence.connectionOwner(input.connectionId);
      if (ownerUserId === null) throw new HubError('not_found', `no open connection "${input.connectionId}"`);
    }
    const dataJson = JSON.stringify(input.data ?? null);
    const draft: EventDraft = {
      type: input.type, data: input.data ?? null, room: input.room, userId: input.userId,
      connectionId: input.connectionId, filters: input.filters, sender, ownerUserId, dataJson,
    };
    this.assertSize(draft, dataJson);
    return draft;
  }

  /** Appends a checked draft to history and fans it out; counts who it reaches. */
  private async emit(draft: EventDraft): Promise<PublishResult> {
    this.assertOpen();
    const recipients = await this.countRecipients(draft);
    let ev: HubEvent;
    try {
      ev = await this.broker.publish(draft);
    } catch (err) {
      this.logger.error({ err, type: draft.type }, 'publish failed: history or fan-out unreachable');
      throw new HubError('unavailable', 'the event could not be stored; try again');
    }
    this.manager.counters.published++;
    return { id: ev.id, recipients };
  }

  /** Runs a publish once per idempotency key (scoped to the sender). */
  idempotent<T>(sender: string, key: string | undefined, run: () => Promise<T>): Promise<T> {
    if (key === undefined) return run();
    return this.idempotency.once(`${sender}\u0000${key}`, run);
  }

  private assertSize(draft: EventDraft, dataJson: string): void {
    const probe = { ...draft, id: ID_PLACEHOLDER, timestamp: TIMESTAMP_PLACEHOLDER } as HubEvent;
    // Frame = "id: " + id + "\nevent: " + type + "\ndata: " + json + "\n\n"
    const bytes = 4 + ID_PLACEHOLDER.length + 8 + Buffer.byteLength(draft.type) + 7 +
      Buffer.byteLength(eventJson(probe, dataJson)) + 2;
    if (bytes > this.opts.maxEventBytes) {
      throw new HubError('payload_too_large', `the encoded event is ${bytes} bytes; the limit is ${this.opts.maxEventBytes}`);
    }
  }

  private async countRecipients(draft: EventDraft): Promise<number> {
    const local = this.manager.countRecipients(draft);
    if (!this.presence.distributed) return local;
    // Other processes' connections are counted from presence, without their filters.
    const hubWide = await this.presence.targetCount(draft);
    const localUnfiltered = draft.filters === null ? local : this.manager.countRecipients({ ...draft, filters: null });
    return local + Math.max(0, hubWide - localUnfiltered);
  }

  // ---- streams ----

  /**
   * Admits a stream (policy, per-user limit) before any byte is written, then calls `open` for
   * the sink, registers the connection, writes the preamble and replays history.
   */
  async openStream(principal: Principal, req: StreamRequest, open: () => SseSink): Promise<Connection> {
    this.assertOpen();
    for (const room of req.rooms) {
      if (!mayJoin(principal, room)) throw new HubError('forbidden', `you may not join room "${room}"`);
    }
    const sticky = (await this.presence.userRooms(principal.userId)).filter((r) => mayJoin(principal, r));
    this.assertOpen();

    const conn = new Connection(
      randomBytes(12).toString('base64url'), principal.userId, principal.role, req.metadata,
      principal.exp, open(), Date.now(), this.opts.maxBufferedBytes,
    );
    for (const room of [userRoom(principal.userId), ...sticky, ...req.rooms]) conn.rooms.add(room);
    // Registered before history is read, so nothing published from here on is missed;
    // live frames are held until the replay is written.
    this.manager.add(conn);
    // Recorded hub-wide, and the per-user limit checked in the same step, before any byte is
    // written: a refusal is still an ordinary HTTP answer, and once a client sees `connected`,
    // stats, members and limits count it.
    let firsts: string[] | null;
    try {
      firsts = await this.presence.opened(conn, this.opts.maxConnectionsPerUser);
    } catch (err) {
      this.manager.remove(conn);
      this.logger.error({ err, userId: conn.userId }, 'could not record the stream hub-wide');
      throw new HubError('unavailable', 'the hub cannot take streams right now; retry');
    }
    if (firsts === null) {
      this.manager.remove(conn);
      throw new HubError('too_many_connections', `at most ${this.opts.maxConnectionsPerUser} open streams per user`);
    }
    try {
      if (conn.closed !== null) return conn;
      await this.reconcileSticky(principal, conn, sticky, req.rooms);
      conn.writeNow(this.retryFrame);
      conn.writeNow(encodeControl('connected', {
        connectionId: conn.id, userId: conn.userId, role: conn.role, rooms: [...conn.rooms],
        nodeId: this.opts.nodeId, serverTime: new Date().toISOString(),
      }));
      this.track('presence join', Promise.all(firsts.map((room) => this.signalPresence(room, 'presence-join', conn.userId))));
      if (req.lastEventId !== null) await this.replay(conn, req.lastEventId);
    } catch (err) {
      this.logger.error({ err, connectionId: conn.id }, 'opening the stream failed; closing it so the client retries');
      conn.sink.destroy();
      this.closeStream(conn);
      return conn;
    }
    if (!conn.goLive()) this.manager.evict(conn);
    return conn;
  }

  /**
   * A user-level join or leave racing this connect may have missed it: its control message can
   * arrive before the connection was indexed, after the first read of the user's rooms. Now that
   * the connection is indexed (and so reached by any later one), read them again and catch up.
   */
  private async reconcileSticky(principal: Principal, conn: Connection, before: readonly string[], asked: readonly string[]): Promise<void> {
    const now = new Set((await this.presence.userRooms(principal.userId)).filter((r) => mayJoin(principal, r)));
    for (const room of now) {
      if (this.manager.join(conn, room) && (await this.presence.joined(conn, room))) {
        this.track('presence join', this.signalPresence(room, 'presence-join', conn.userId));
      }
    }
    for (const room of before) {
      if (now.has(room) || asked.includes(room) || !this.manager.leave(conn, room)) continue;
      if (await this.presence.left(conn, room)) this.track('presence leave', this.signalPresence(room, 'presence-leave', conn.userId));
    }
  }

  /** Writes the history after `lastEventId` that the connection is entitled to, pacing on drain. */
  private async replay(conn: Connection, lastEventId: string): Promise<void> {
    const wellFormed = parseEventId(lastEventId) !== undefined;
    if (!wellFormed || !(await this.broker.historyHas(lastEventId))) {
      const info = await this.broker.historyInfo();
      conn.writeNow(encodeControl('history-gap', { lastEventId, oldestAvailable: info.oldestId }));
    }
    // An unreadable id names nothing: replay everything still kept.
    let after = wellFormed ? lastEventId : null;
    for (;;) {
      const slice = await this.broker.historyAfter(after, HISTORY_PAGE);
      for (const ev of slice.events) {
        if (conn.closed !== null || conn.sink.closed) return;
        after = ev.id;
        if (!conn.entitled(ev)) continue;
        conn.writeReplayed(encodeEvent(ev, ev.dataJson), ev.id);
        this.manager.counters.replayed++;
      }
      if (!slice.more || conn.closed !== null) return;
      if (conn.congested) await conn.sink.drained();
    }
  }

  /** Forgets a closed stream and tells its rooms when its user left them entirely. */
  closeStream(conn: Connection, reason: CloseReason = 'client'): void {
    if (this.manager.get(conn.id) !== conn) return;
    conn.closed ??= reason;
    this.manager.remove(conn);
    this.track('presence close', this.presence.closed(conn).then((lasts) =>
      Promise.all(lasts.map((room) => this.signalPresence(room, 'presence-leave', conn.userId)))));
  }

  // ---- rooms ----

  private async ownedConnection(principal: Principal, connectionId: string): Promise<string> {
    const owner = await this.presence.connectionOwner(connectionId);
    if (owner === null) throw new HubError('not_found', `no open connection "${connectionId}"`);
    if (owner !== principal.userId && principal.role !== 'admin') {
      throw new HubError('forbidden', 'that connection is not yours');
    }
    return owner;
  }

  /** Joins the user's connections (membership sticks to the user), or one connection, to a room. */
  async join(principal: Principal, room: string, connectionId: string | null): Promise<number> {
    this.assertOpen();
    if (!mayJoin(principal, room)) throw new HubError('forbidden', `you may not join room "${room}"`);
    if (connectionId !== null) {
      const owner = await this.ownedConnection(principal, connectionId);
      await this.broker.publishControl({ kind: 'join', room, userId: owner, connectionId });
      return 1;
    }
    await this.presence.addUserRoom(principal.userId, room);
    await this.broker.publishControl({ kind: 'join', room, userId: principal.userId, connectionId: null });
    return this.presence.userConnections(principal.userId);
  }

  /** Leaves a room: the user's membership and all its connections, or one connection. */
  async leave(principal: Principal, room: string, connectionId: string | null): Promise<number> {
    this.assertOpen();
    if (connectionId !== null) {
      const owner = await this.ownedConnection(principal, connectionId);
      await this.broker.publishControl({ kind: 'leave', room, userId: owner, connectionId });
      return 1;
    }
    const inRoom = (await this.presence.members(room)).get(principal.userId) ?? 0;
    await this.presence.removeUserRoom(principal.userId, room);
    await this.broker.publishControl({ kind: 'leave', room, userId: principal.userId, connectionId: null });
    return inRoom;
  }

  /** Rooms the caller may see, hub-wide. */
  async rooms(principal: Principal): Promise<RoomSummary[]> {
    const all = await this.presence.rooms();
    return all.filter((r) => maySeeRoom(principal, r.roomId)).sort((a, b) => (a.roomId < b.roomId ? -1 : 1));
  }

  /** Members of a room, for its members and admins. */
  async members(principal: Principal, room: string): Promise<{ userId: string; connections: number }[]> {
    if (principal.role !== 'admin' && !(await this.presence.userInRoom(principal.userId, room))) {
      throw new HubError('forbidden', 'only members of the room and admins may list its members');
    }
    const members = await this.presence.members(room);
    return [...members].map(([userId, connections]) => ({ userId, connections }))
      .sort((a, b) => (a.userId < b.userId ? -1 : 1));
  }

  /** A chat message from a member of the room. */
  async chat(principal: Principal, room: string, text: string): Promise<{ id: string }> {
    if (!mayJoin(principal, room) || !(await this.presence.userInRoom(principal.userId, room))) {
      throw new HubError('forbidden', 'you need a connection in the room to post to it');
    }
    const res = await this.publish(principal.userId, {
      type: 'chat-message', data: { userId: principal.userId, username: principal.userId, text },
      room, userId: null, connectionId: null, filters: null,
    });
    return { id: res.id };
  }

  // ---- history ----

  /** True when the caller may read this event outside a stream. */
  private visibleTo(principal: Principal, ev: HubEvent, metadata: Metadata): boolean {
    if (!filtersMatch(ev.filters, metadata)) return false;
    if (ev.connectionId !== null) return ev.ownerUserId === principal.userId;
    if (ev.userId !== null) return ev.userId === principal.userId;
    if (ev.room !== null) return mayJoin(principal, ev.room);
    return true;
  }

  /** Kept events after an id that the caller may see, oldest first. */
  async history(principal: Principal, q: HistoryQuery): Promise<HistoryAnswer> {
    if (q.room !== null && !mayJoin(principal, q.room)) throw new HubError('forbidden', `you may not read room "${q.room}"`);
    const info = await this.broker.historyInfo();
    const wellFormed = q.after === null || parseEventId(q.after) !== undefined;
    const gap = q.after !== null && (!wellFormed || !(await this.broker.historyHas(q.after)));
    const events: PublicEvent[] = [];
    let after = wellFormed ? q.after : null;
    for (;;) {
      const slice = await this.broker.historyAfter(after, HISTORY_PAGE);
      for (const ev of slice.events) {
        after = ev.id;
        if (q.room !== null && ev.room !== q.room) continue;
        if (!this.visibleTo(principal, ev, q.metadata)) continue;
        events.push(toPublicEvent(ev));
        if (events.length >= q.limit) return { events, oldestAvailable: info.oldestId, gap };
      }
      if (!slice.more) return { events, oldestAvailable: info.oldestId, gap };
    }
  }

  // ---- operations ----

  /** True when the hub can serve everything (not shutting down, backing store reachable). */
  ready(): boolean {
    return !this.shuttingDown && this.broker.isHealthy();
  }

  /** Hub-wide figures; while the shared store is unreachable, this process's own, with `redis: "down"`. */
  async stats(): Promise<HubStats> {
    let view: [NodeSummary[], number, RoomSummary[], HistoryInfo];
    try {
      view = await Promise.all([
        this.presence.nodes(), this.presence.activeUsers(), this.presence.rooms(), this.broker.historyInfo(),
      ]);
      this.lastHistory = view[3];
    } catch (err) {
      this.logger.warn({ err }, 'stats: shared state unreachable; answering with this process only');
      view = [[{
        nodeId: this.opts.nodeId, connections: this.manager.size,
        uptimeSec: Math.floor((Date.now() - this.opts.startedAt) / 1000), counters: { ...this.manager.counters },
      }], this.manager.userCount, this.manager.rooms(), this.lastHistory];
    }
    const [nodes, activeUsers, rooms, history] = view;
    const events: DeliveryCounters = { published: 0, delivered: 0, evicted: 0, replayed: 0 };
    for (const n of nodes) {
      events.published += n.counters.published;
      events.delivered += n.counters.delivered;
      events.evicted += n.counters.evicted;
      events.replayed += n.counters.replayed;
    }
    const roomStats: Record<string, number> = {};
    for (const r of rooms.sort((a, b) => (a.roomId < b.roomId ? -1 : 1))) roomStats[r.roomId] = r.connections;
    return {
      nodes: nodes.map((n) => ({ nodeId: n.nodeId, connections: n.connections, uptimeSec: n.uptimeSec })),
      totalConnections: nodes.reduce((s, n) => s + n.connections, 0),
      activeUsers,
      totalRooms: rooms.length,
      roomStats,
      events,
      history,
      redis: this.opts.redisConfigured ? (this.broker.isHealthy() ? 'up' : 'down') : 'disabled',
    };
  }

  /** Stops taking streams and publishes, sends `shutdown` to every stream and ends it. */
  async shutdown(reason: string): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.manager.stop();
    this.manager.finishAll('shutdown', encodeControl('shutdown', { reason, retryMs: this.opts.retryMs }));
    await Promise.allSettled([...this.pending]);
  }

  /** True once shutdown began. */
  get closing(): boolean {
    return this.shuttingDown;
  }
}
