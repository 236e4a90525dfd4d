/**
 * The ports of the hub: what core/ needs from the state-keeping parts. Each has a memory
 * implementation (src/backend/memory, one process) and a Redis one (src/backend/redis, many
 * processes as one hub); test/contract runs one suite against both.
 */
import type { DeliveryCounters } from './counters.js';
import type { EventDraft, HubEvent, Target } from './events.js';

/** Messages between processes that are not published events (they carry no id). */
export type ControlMessage =
  | { readonly kind: 'join'; readonly room: string; readonly userId: string; readonly connectionId: string | null }
  | { readonly kind: 'leave'; readonly room: string; readonly userId: string; readonly connectionId: string | null }
  | { readonly kind: 'room-signal'; readonly room: string; readonly type: string; readonly data: unknown }
  /** End the streams of a user, or one stream (exactly one of the two is set), after `disconnected`. */
  | { readonly kind: 'disconnect'; readonly userId: string | null; readonly connectionId: string | null; readonly reason: string }
  /** The user's tokens issued (iat) at or before `before` (seconds since the epoch) are refused from now on. */
  | { readonly kind: 'revoke'; readonly userId: string; readonly before: number };

/** What a broker calls back with, for events and control messages from every process (its own included). */
export interface BrokerListener {
  onEvent(event: HubEvent, frame: Buffer | undefined): void;
  onControl(message: ControlMessage): void;
}

/** One slice of history. */
export interface HistorySlice {
  /** Events with id greater than `after`, oldest first. */
  readonly events: readonly HubEvent[];
  /** True when more events follow the last one returned. */
  readonly more: boolean;
}

/** What the history holds. */
export interface HistoryInfo {
  readonly size: number;
  readonly oldestId: string | null;
  readonly newestId: string | null;
}

/**
 * Appends events to the history and fans them out to every process, as one step;
 * also carries control messages.
 */
export interface Broker {
  /**
   * Assigns the ids (increasing, in the given order), keeps the events in history and delivers them
   * to every subscriber, all in one atomic step: a batch is stored whole or not at all. `answer`,
   * when given, is stored in that same step.
   */
  publish(drafts: readonly EventDraft[], answer?: AnswerRecord): Promise<HubEvent[]>;
  /** Delivers a control message to every process (this one included). */
  publishControl(message: ControlMessage): Promise<void>;
  /** Registers the one listener of this process. */
  subscribe(listener: BrokerListener): Promise<void>;
  /** Up to `limit` events with id greater than `after` (null: from the oldest kept). */
  historyAfter(after: string | null, limit: number): Promise<HistorySlice>;
  /** True when an event with exactly this id is still kept. */
  historyHas(id: string): Promise<boolean>;
  historyInfo(): Promise<HistoryInfo>;
  /** True while the backing store is reachable. */
  isHealthy(): boolean;
  /**
   * Where the store replicates (REDIS_WAIT_REPLICAS): resolves true once these events are kept as
   * durably as configured, false when one was lost (a failover); throws a 503 HubError when that is
   * not known in time. Absent: a published event is as durable as it gets.
   */
  confirm?(ids: readonly string[]): Promise<boolean>;
  close(): Promise<void>;
}

/** A connection as presence records it. */
export interface ConnectionInfo {
  readonly id: string;
  readonly userId: string;
  readonly rooms: Iterable<string>;
}

/** What this process's ConnectionManager saw change when a connection was indexed. */
export interface LocalOpen {
  /** Rooms where it is its user's first connection on this process. */
  readonly firsts: readonly string[];
  /** The user's connections on this process, this one included. */
  readonly userConnections: number;
}

/**
 * Hub-wide presence: records each change this process's ConnectionManager made and answers
 * the hub-wide transitions to announce: a user's first or last connection in a room, in rooms
 * of at most PRESENCE_EVENTS_MAX_USERS users after the change (in a larger room every arrival
 * would cost a frame per member). The local transition is passed along; one process alone has
 * no other answer.
 */
export interface Presence {
  /**
   * Records an opened connection; resolves with the rooms where it is its user's first connection
   * hub-wide, or with null (recording nothing) when the user already holds `maxPerUser` connections.
   */
  opened(conn: ConnectionInfo, maxPerUser: number, local: LocalOpen): Promise<string[] | null>;
  /** Records a closed connection; resolves with the rooms where it was its user's last connection hub-wide. */
  closed(conn: ConnectionInfo, localLasts: readonly string[]): Promise<string[]>;
  /** Records a join; true when it is the user's first connection in the room hub-wide. */
  joined(conn: ConnectionInfo, room: string, localFirst: boolean): Promise<boolean>;
  /** Records a leave; true when it was the user's last connection in the room hub-wide. */
  left(conn: ConnectionInfo, room: string, localLast: boolean): Promise<boolean>;
}

/** User-level room memberships: they outlive a user's connections (reconnects, new tabs). */
export interface Memberships {
  /** The rooms a user joined at user level. */
  list(userId: string): Promise<string[]>;
  add(userId: string, room: string): Promise<void>;
  remove(userId: string, room: string): Promise<void>;
}

/** One room, hub-wide. */
export interface RoomSummary {
  roomId: string;
  connections: number;
  users: number;
}

/** One live process of the hub. */
export interface NodeSummary {
  nodeId: string;
  connections: number;
  uptimeSec: number;
  counters: DeliveryCounters;
}

/** Hub-wide answers about who is connected where. */
export interface Directory {
  /** The user owning a connection, or null when no such connection is open. */
  connectionOwner(connectionId: string): Promise<string | null>;
  /** Open connections of one user. */
  userConnections(userId: string): Promise<number>;
  /** Rooms any of the user's open connections is in. */
  userRooms(userId: string): Promise<string[]>;
  /** True when one of the user's connections is in the room. */
  userInRoom(userId: string, room: string): Promise<boolean>;
  /** User id → connection count, for one room. */
  members(room: string): Promise<Map<string, number>>;
  /** Connections a target reaches, ignoring filters. */
  targetCount(target: Target): Promise<number>;
  /** True when this directory sees other processes too (so local counts are not the whole answer). */
  readonly distributed: boolean;
}

/** Hub-wide figures for `/stats`. */
export interface HubCensus {
  rooms(): Promise<RoomSummary[]>;
  nodes(): Promise<NodeSummary[]>;
  activeUsers(): Promise<number>;
}

/**
 * An idempotency answer stored in the same atomic step as the events it answers, so that no crash
 * or lost reply between the two lets a retry publish them again. What is stored is
 * `parts[0] + id₁ + parts[1] + … + idₙ + parts[n]`, for `ttlMs`, and only while `key` still holds
 * `expected` (the run's own claim).
 */
export interface AnswerRecord {
  readonly key: string;
  readonly expected: string;
  readonly parts: readonly string[];
  readonly ttlMs: number;
}

/** Stands in for each event id in an answer given to a RecordAnswer (the broker puts the ids there). */
export const ANSWER_ID_SLOT = '\u0000event-id\u0000';

/** Given to a run by a store shared between processes: the record of its answer, ids as ANSWER_ID_SLOT. */
export type RecordAnswer = (answer: unknown) => AnswerRecord;

/** Runs a publish once per key within a time window; repeats answer the first answer. */
export interface IdempotencyStore {
  /** Runs `run` unless the key has an answer; a shared store hands it `record`, to store its answer with its events. */
  once<T>(key: string, run: (record?: RecordAnswer) => Promise<T>): Promise<T>;
  /** Forgets a key's stored answer, so its next repeat runs again (its event was lost in a failover). */
  forget?(key: string): Promise<void>;
  close(): Promise<void>;
}

/** Decides, hub-wide, which one process runs the built-in feeds. */
export interface FeedLease {
  /** Calls `onAcquire` when this process becomes the holder and `onLose` when it stops being it. */
  start(onAcquire: () => void, onLose: () => void): void;
  stop(): Promise<void>;
}

/**
 * Token revocations, durably and hub-wide: the store each process loads its own copy from
 * (src/core/revocations.ts). An entry is kept for TOKEN_MAX_TTL after its `before`: no token it
 * refuses can outlive that.
 */
export interface Revocations {
  /** Records that the user's tokens issued at or before `beforeSec` are refused; an earlier `beforeSec` than the one kept changes nothing. */
  revoke(userId: string, beforeSec: number): Promise<void>;
  /** Every revocation still kept: user id → `before` in seconds since the epoch. */
  list(): Promise<Map<string, number>>;
}

/** The shared-state ports the hub's use-cases work with (one implementation each, memory or Redis). */
export interface HubStores {
  broker: Broker;
  presence: Presence;
  memberships: Memberships;
  directory: Directory;
  census: HubCensus;
  idempotency: IdempotencyStore;
}
