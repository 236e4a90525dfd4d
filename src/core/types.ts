/** Roles a token may carry. */
export type Role = 'user' | 'publisher' | 'admin';

/** The authenticated caller, taken from a verified token. */
export interface Principal {
  /** User id (the token's `sub`). */
  readonly userId: string;
  readonly role: Role;
  /** Room ids or `prefix*` patterns the holder may join; undefined means no narrowing. */
  readonly rooms: readonly string[] | undefined;
  /** Token expiry, seconds since the epoch. */
  readonly exp: number;
}

/** Metadata key → value; broadcasts filter on it. */
export type Metadata = Readonly<Record<string, string>>;

/** Who an event is for: everyone (all null), a room, a user or one connection, narrowed by filters. */
export interface Target {
  readonly room: string | null;
  readonly userId: string | null;
  readonly connectionId: string | null;
  readonly filters: Metadata | null;
}

/** An event before the history assigns its id. */
export interface EventDraft extends Target {
  readonly type: string;
  readonly data: unknown;
  /** The publishing token's `sub`, or `system` for the built-in feeds. */
  readonly sender: string;
  /** For a connection-targeted event: the user owning that connection (history entitlement). */
  readonly ownerUserId: string | null;
  /** `data` already serialized, when the publisher had it; saves a second stringify. */
  readonly dataJson?: string;
}

/** A published event, as kept in history. */
export interface HubEvent extends EventDraft {
  readonly id: string;
  /** ISO-8601. */
  readonly timestamp: string;
}

/** The public JSON shape of an event (the SSE `data:` line and history answers). */
export interface PublicEvent {
  id: string;
  type: string;
  data: unknown;
  room: string | null;
  userId: string | null;
  sender: string;
  timestamp: string;
}

/** Messages between processes that are not published events (they carry no id). */
export type ControlMessage =
  | { readonly kind: 'join'; readonly room: string; readonly userId: string; readonly connectionId: string | null }
  | { readonly kind: 'leave'; readonly room: string; readonly userId: string; readonly connectionId: string | null }
  | { readonly kind: 'room-signal'; readonly room: string; readonly type: string; readonly data: unknown };

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
 * also carries control messages. Memory and Redis implementations.
 */
export interface Broker {
  /** Assigns the id, keeps the event in history and delivers it to every subscriber, atomically. */
  publish(draft: EventDraft): Promise<HubEvent>;
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
  close(): Promise<void>;
}

/** What the built-in feeds publish through (the same path as `/broadcast`). */
export interface FeedPublisher {
  publish(input: { type: string; data: unknown; room?: string | null; sender: string }): Promise<unknown>;
}

/** A connection as the hub-wide presence view records it. */
export interface ConnectionInfo {
  readonly id: string;
  readonly userId: string;
  readonly rooms: Iterable<string>;
}

/** One room, hub-wide. */
export interface RoomSummary {
  roomId: string;
  connections: number;
  users: number;
}

/** Running totals of one process. */
export interface DeliveryCounters {
  published: number;
  delivered: number;
  evicted: number;
  replayed: number;
}

/** One live process of the hub. */
export interface NodeSummary {
  nodeId: string;
  connections: number;
  uptimeSec: number;
  counters: DeliveryCounters;
}

/**
 * The hub-wide view of connections, rooms and user memberships. The memory implementation reads
 * this process's indexes; the Redis one mirrors every process's state with a heartbeat and TTL.
 */
export interface PresenceStore {
  /**
   * Records an opened connection; resolves with the rooms where it is its user's first connection
   * hub-wide, or with null (recording nothing) when the user already holds `maxPerUser` connections.
   */
  opened(conn: ConnectionInfo, maxPerUser: number): Promise<string[] | null>;
  /** Records a closed connection; resolves with the rooms where it was its user's last connection hub-wide. */
  closed(conn: ConnectionInfo): Promise<string[]>;
  /** Records a join; true when it is the user's first connection in the room hub-wide. */
  joined(conn: ConnectionInfo, room: string): Promise<boolean>;
  /** Records a leave; true when it was the user's last connection in the room hub-wide. */
  left(conn: ConnectionInfo, room: string): Promise<boolean>;
  /** The rooms a user joined at user level (sticky across reconnects). */
  userRooms(userId: string): Promise<string[]>;
  addUserRoom(userId: string, room: string): Promise<void>;
  removeUserRoom(userId: string, room: string): Promise<void>;
  /** Open connections of one user, hub-wide. */
  userConnections(userId: string): Promise<number>;
  /** The user owning a connection, or null when no such connection is open. */
  connectionOwner(connectionId: string): Promise<string | null>;
  /** True when one of the user's connections is in the room. */
  userInRoom(userId: string, room: string): Promise<boolean>;
  rooms(): Promise<RoomSummary[]>;
  /** User id → connection count, for one room. */
  members(room: string): Promise<Map<string, number>>;
  nodes(): Promise<NodeSummary[]>;
  activeUsers(): Promise<number>;
  /** Connections a target reaches hub-wide, ignoring filters. */
  targetCount(target: Target): Promise<number>;
  /** True when this store keeps state of other processes too (so local counts are not the whole answer). */
  readonly distributed: boolean;
  close(): Promise<void>;
}

/** Runs a publish once per key within a time window; repeats answer the first answer. */
export interface IdempotencyStore {
  once<T>(key: string, run: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
