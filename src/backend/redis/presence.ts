import type { ConnectionManager } from '../../core/connection-manager.js';
import type { Counters, DeliveryCounters } from '../../core/counters.js';
import type { Target } from '../../core/events.js';
import type {
  ConnectionInfo, Directory, HubCensus, NodeSummary, Presence, RoomSummary,
} from '../../core/ports.js';
import type { RedisClient, RedisErrors, RedisLogger } from './client.js';
import './commands.js';
import { CLOSED_LUA, MEMBERSHIP_LUA, OPENED_LUA, USER_ROOM_LUA } from './presence-lua.js';
import { HEARTBEAT_LUA, LEAVE_LUA, READ_LUA, REAP_LUA, RESYNC_LUA } from './presence-node-lua.js';

/**
 * A node is dead once this many heartbeat intervals pass without its beat: under the contract's
 * three, so a SIGKILLed node is gone within three intervals even counting the last beat's age,
 * and over two, so one late beat (a busy event loop) does not declare a live node dead.
 */
export const DEAD_AFTER_BEATS = 2.5;
/** Node keys outlive the liveness window by this many beats, so a reaper can still read them. */
const KEY_TTL_BEATS = 6;

/** What a RedisPresence is built from. */
export interface RedisPresenceOptions {
  prefix: string;
  nodeId: string;
  heartbeatMs: number;
  startedAt: number;
  /** How long a user's memberships outlive its last stream (USER_ROOMS_TTL), ms. */
  userRoomsTtlMs: number;
  /** Presence transitions are answered only for rooms of at most this many users (PRESENCE_EVENTS_MAX_USERS). */
  announceMaxUsers: number;
  counters: Counters;
  errors: RedisErrors;
  logger: RedisLogger;
  /** Called for each (room, user) whose last connection died with another process (presence-leave). */
  onGhostLeft?: (room: string, userId: string) => Promise<void>;
  /** What the scripts record for webhooks (webhook-lua.ts); absent: nothing. */
  webhookSpec?: string;
}

/** The presence scripts, by the name their commands are defined under. */
const SCRIPTS = {
  roomcastPresenceOpened: OPENED_LUA, roomcastPresenceClosed: CLOSED_LUA, roomcastPresenceMembership: MEMBERSHIP_LUA,
  roomcastPresenceRead: READ_LUA, roomcastPresenceHeartbeat: HEARTBEAT_LUA, roomcastPresenceReap: REAP_LUA,
  roomcastPresenceResync: RESYNC_LUA, roomcastPresenceLeave: LEAVE_LUA, roomcastPresenceUserRoom: USER_ROOM_LUA,
} as const;
type ScriptName = keyof typeof SCRIPTS;

/**
 * Hub-wide presence in Redis. Each process mirrors its own connections under per-node keys and
 * moves its deadline in a registry every heartbeat; readers sum over live nodes only, so a
 * process that dies (even by SIGKILL) drops out of every answer within three heartbeats, and
 * the first heartbeat of a survivor after that reaps its keys and announces presence-leave.
 * Each change is one Lua script, so first/last-connection answers are exact hub-wide. When a
 * change could not be written (an outage) or the node's keys vanished (a Redis restart), the
 * next heartbeat rewrites this node's whole state from the local ConnectionManager.
 */
export class RedisPresence implements Presence, Directory, HubCensus {
  readonly distributed = true;
  private readonly ttlMs: number;
  private readonly windowMs: number;
  /** The prelude's third argument: key TTL and the presence-event room size cap. */
  private readonly limits: string;
  /** The webhook spec argument of the recording scripts ('' = off). */
  private readonly wh: string;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  /** Writes that failed since the last successful resync (a resync is due while this moves). */
  private failures = 1;
  private syncedAt = 0;
  /** Successful heartbeats so far (the first one finds no info: nothing was lost). */
  private beats = 0;
  /** Set when this node was cut off from Redis (a failed beat, a reconnection, a failover). */
  private cut = false;
  private closed_ = false;

  constructor(private readonly redis: RedisClient, private readonly manager: ConnectionManager, private readonly opts: RedisPresenceOptions) {
    this.ttlMs = opts.heartbeatMs * KEY_TTL_BEATS;
    this.windowMs = Math.ceil(opts.heartbeatMs * DEAD_AFTER_BEATS);
    this.limits = `${this.ttlMs}:${opts.announceMaxUsers}`;
    this.wh = opts.webhookSpec ?? '';
    // One declared key, the node registry: it routes the script to the hub's slot on a Cluster (the
    // scripts build the other key names from the prefix, all in that same slot).
    for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { numberOfKeys: 1, lua });
    // After a reconnection, whatever failed meanwhile is rewritten at once rather than at the next beat.
    redis.on('ready', () => this.rewrite());
  }

  /** Runs one of the presence scripts with this node's prelude arguments. */
  run<T>(op: string, script: ScriptName, args: (string | number)[], context: object = {}): Promise<T> {
    const call = this.redis[script](`${this.opts.prefix}nodes`, this.opts.prefix, this.opts.nodeId, this.limits, ...args) as Promise<unknown>;
    return this.opts.errors.guard(op, call, context) as Promise<T>;
  }

  /** A change to this node's state; a failure leaves a resync due. */
  private async write<T>(op: string, script: ScriptName, args: (string | number)[], context: object): Promise<T> {
    try {
      return await this.run<T>(op, script, args, context);
    } catch (err) {
      this.failures++;
      throw err;
    }
  }

  /** Registers this node (rewriting any state a previous run with the same id left) and starts beating. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.opts.heartbeatMs);
    this.timer.unref();
  }

  /** The store may have lost this node's latest writes (a failover): rewrite its whole state now. */
  rewrite(): void {
    if (this.timer === undefined || this.closed_) return;
    this.cut = true;
    this.failures++;
    void this.beat();
  }

  /** One heartbeat; never throws (failures are counted and logged, and leave a resync due). */
  beat(): Promise<void> {
    this.beating ??= this.beatOnce().finally(() => {
      this.beating = undefined;
    });
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    if (this.closed_) return;
    try {
      if (this.failures !== this.syncedAt) await this.resync();
      const c = this.opts.counters.snapshot();
      const [existed, ...dead] = await this.run<[number, ...string[]]>('heartbeat', 'roomcastPresenceHeartbeat', [
        this.windowMs, 'startedAt', this.opts.startedAt, 'published', c.published, 'delivered', c.delivered,
        'evicted', c.evicted, 'replayed', c.replayed,
      ]);
      if (existed === 0 && this.beats > 0) {
        // Our keys vanished (Redis restarted, or we stalled past the TTL and were reaped): rewrite them.
        this.opts.logger.warn({ nodeId: this.opts.nodeId }, 'presence state of this node was missing in Redis; rewriting it');
        this.failures++;
        await this.resync();
      }
      this.beats++;
      // Just back from a cut (an outage, a failover), every other node missed its beats as we did:
      // they get one more beat to show they are alive before they are reaped.
      const afterCut = this.cut;
      this.cut = false;
      if (!afterCut) for (const node of dead) await this.reap(node);
    } catch {
      // recorded by guard(); the next beat tries again
      this.cut = true;
    }
  }

  private async resync(): Promise<void> {
    const gen = this.failures;
    const snap: string[][] = [];
    // Snapshot and send in one synchronous step, so changes sent later apply on top of it in order.
    for (const userId of this.manager.users()) {
      for (const conn of this.manager.ofUser(userId)) snap.push([conn.id, conn.userId, ...conn.rooms]);
    }
    await this.run('resync', 'roomcastPresenceResync', [JSON.stringify(snap)], { connections: snap.length });
    this.syncedAt = gen;
  }

  private async reap(node: string): Promise<void> {
    const gone = await this.run<string[]>('reap', 'roomcastPresenceReap', [node, this.opts.userRoomsTtlMs, this.wh], { deadNode: node });
    if (gone.length === 0) return;
    this.opts.logger.warn({ deadNode: node, presenceLeaves: gone.length / 2 }, 'reaped the state of a dead process');
    for (let i = 0; i + 1 < gone.length; i += 2) {
      try {
        await this.opts.onGhostLeft?.(gone[i] as string, gone[i + 1] as string);
      } catch (err) {
        this.opts.errors.record('ghost-presence-leave', err, { deadNode: node });
      }
    }
  }

  // ---- changes (each sent synchronously after the manager changed, so they apply in order;
  // the hub-wide answer comes from the script, so the local transitions passed in are not needed) ----

  async opened(conn: ConnectionInfo, maxPerUser: number): Promise<string[] | null> {
    const r = await this.write<string[] | number>('presence-opened', 'roomcastPresenceOpened', [conn.id, conn.userId, String(maxPerUser), this.wh, ...conn.rooms], { connectionId: conn.id });
    return r === -1 ? null : (r as string[]);
  }

  closed(conn: ConnectionInfo): Promise<string[]> {
    return this.write('presence-closed', 'roomcastPresenceClosed', [conn.id, this.opts.userRoomsTtlMs, this.wh], { connectionId: conn.id });
  }

  async joined(conn: ConnectionInfo, room: string): Promise<boolean> {
    return (await this.write<number>('presence-joined', 'roomcastPresenceMembership', [conn.id, room, '1', this.wh], { connectionId: conn.id, room })) === 1;
  }

  async left(conn: ConnectionInfo, room: string): Promise<boolean> {
    return (await this.write<number>('presence-left', 'roomcastPresenceMembership', [conn.id, room, '0', this.wh], { connectionId: conn.id, room })) === 1;
  }

  // ---- hub-wide reads ----

  private read<T>(op: string, ...args: string[]): Promise<T> {
    return this.run<T>(`presence-${op}`, 'roomcastPresenceRead', [op, ...args], { args });
  }

  async userConnections(userId: string): Promise<number> {
    return this.read<number>('user-conns', userId);
  }

  async userRooms(userId: string): Promise<string[]> {
    return this.read<string[]>('user-rooms', userId);
  }

  async connectionOwner(connectionId: string): Promise<string | null> {
    const local = this.manager.get(connectionId);
    if (local !== undefined) return local.userId;
    return this.read<string | null>('owner', connectionId);
  }

  async userInRoom(userId: string, room: string): Promise<boolean> {
    return (await this.read<number>('in-room', userId, room)) === 1;
  }

  async rooms(): Promise<RoomSummary[]> {
    const flat = await this.read<(string | number)[]>('rooms');
    const out: RoomSummary[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      out.push({ roomId: String(flat[i]), connections: Number(flat[i + 1]), users: Number(flat[i + 2]) });
    }
    return out;
  }

  async members(room: string): Promise<Map<string, number>> {
    const flat = await this.read<(string | number)[]>('members', room);
    const out = new Map<string, number>();
    for (let i = 0; i + 1 < flat.length; i += 2) out.set(String(flat[i]), Number(flat[i + 1]));
    return out;
  }

  async nodes(): Promise<NodeSummary[]> {
    const flat = await this.read<unknown[]>('nodes');
    const now = Date.now();
    const out: NodeSummary[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const nodeId = String(flat[i]);
      const info = new Map<string, string>();
      const pairs = flat[i + 2] as string[];
      for (let j = 0; j + 1 < pairs.length; j += 2) info.set(pairs[j] as string, pairs[j + 1] as string);
      if (nodeId === this.opts.nodeId) {
        // This node's own figures are read live rather than from its last beat.
        out.push({
          nodeId, connections: this.manager.size, uptimeSec: Math.floor((now - this.opts.startedAt) / 1000),
          counters: this.opts.counters.snapshot(),
        });
        continue;
      }
      const num = (k: string): number => Number(info.get(k) ?? 0) || 0;
      const counters: DeliveryCounters = {
        published: num('published'), delivered: num('delivered'), evicted: num('evicted'), replayed: num('replayed'),
      };
      const startedAt = num('startedAt') || now;
      out.push({ nodeId, connections: Number(flat[i + 1]), uptimeSec: Math.max(0, Math.floor((now - startedAt) / 1000)), counters });
    }
    return out.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  async activeUsers(): Promise<number> {
    return this.read<number>('active-users');
  }

  async targetCount(target: Target): Promise<number> {
    if (target.connectionId !== null) return (await this.connectionOwner(target.connectionId)) === null ? 0 : 1;
    if (target.userId !== null) return this.userConnections(target.userId);
    if (target.room !== null) return this.read<number>('count-room', target.room);
    return this.read<number>('count-all');
  }

  /** Stops beating and removes this node's state (graceful shutdown). */
  async close(): Promise<void> {
    if (this.closed_) return;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    this.closed_ = true;
    try {
      await this.run('presence-leave-hub', 'roomcastPresenceLeave', [this.wh]);
    } catch {
      // recorded; the keys expire and readers ignore this node after its deadline anyway
    }
  }
}
