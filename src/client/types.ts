/** The public shapes the client library hands out: events, control payloads, options and answers. */
import type { RoomcastError } from './errors.js';

/** A published event, as every stream, replay and history answer carries it. */
export interface RoomcastEvent<D = unknown, T extends string = string> {
  /** 16-digit decimal string; ids increase in publish order across the whole hub. */
  id: string;
  type: T;
  data: D;
  /** The target room, or null. */
  room: string | null;
  /** The target user, or null. */
  userId: string | null;
  /** The publishing token's `sub` (`system` for the built-in feeds). */
  sender: string;
  /** ISO-8601. */
  timestamp: string;
}

/** Published event types mapped to their `data`: what a TypeScript user declares for `subscribe<M>()`. */
export type EventDataMap = Record<string, unknown>;

/** Any published event of a map, as a union discriminated by `type`. */
export type AnyEvent<M extends EventDataMap> = { [K in keyof M & string]: RoomcastEvent<M[K], K> }[keyof M & string];

/** Where a subscription is. */
export type SubscriptionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** `connected`: the first event of every stream. */
export interface ConnectedInfo {
  connectionId: string;
  userId: string;
  role: string;
  rooms: string[];
  nodeId: string;
  serverTime: string;
}

/** `history-gap`: the hub no longer holds every event after the id the subscription resumed from. */
export interface GapInfo {
  lastEventId: string | null;
  oldestAvailable: string | null;
}

/** `room-joined` and `room-left`. */
export interface RoomInfo {
  roomId: string;
}

/** `presence-join` and `presence-leave`. */
export interface PresenceInfo {
  roomId: string;
  userId: string;
}

/** `shutdown`: the hub is stopping; the subscription reconnects after `retryMs`. */
export interface ShutdownInfo {
  reason: string;
  retryMs: number;
}

/** `disconnected`, `token-revoked`, `token-expired`. */
export interface ReasonInfo {
  reason: string;
  expiredAt?: string;
}

/** Everything a subscription emits besides published events of a declared type. */
export interface SubscriptionEvents<M extends EventDataMap = EventDataMap> {
  /** Every published event, whatever its type. */
  event: AnyEvent<M>;
  state: SubscriptionState;
  gap: GapInfo;
  connected: ConnectedInfo;
  'room-joined': RoomInfo;
  'room-left': RoomInfo;
  'presence-join': PresenceInfo;
  'presence-leave': PresenceInfo;
  'token-expired': ReasonInfo;
  'token-revoked': ReasonInfo;
  disconnected: ReasonInfo;
  shutdown: ShutdownInfo;
  /** A failure: retried ones (the subscription goes on) and the one that closed it. */
  error: RoomcastError;
}

/** Names a published event is never delivered under (it still reaches `event` listeners). */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'event', 'state', 'gap', 'error', 'connected', 'history-gap', 'room-joined', 'room-left', 'presence-join',
  'presence-leave', 'token-expired', 'token-revoked', 'disconnected', 'shutdown',
]);

/** Whether fetches send cookies, as fetch's `credentials`. */
export type Credentials = 'omit' | 'same-origin' | 'include';

/** How a client or publisher authenticates. Neither token nor getToken: the browser's cookie. */
export interface AuthOptions {
  /** The hub's base URL, e.g. `https://hub.example` (a path prefix is kept). */
  url: string;
  /** A token to start with; renewed with `POST /auth/refresh` before it expires when there is no getToken. */
  token?: string;
  /** Called for the first token and again before each one expires. */
  getToken?: () => string | Promise<string>;
  /** Whether fetches send cookies: `include` for the `roomcast_token` cookie across origins. Default `same-origin`. */
  credentials?: Credentials;
  /** Bound on one HTTP request (not a stream), in milliseconds. Default 10 000. */
  requestTimeoutMs?: number;
}

/** Options of a RoomcastClient. */
export interface ClientOptions extends AuthOptions {
  /** Reconnect backoff: `baseMs` until the stream's `retry:` says otherwise (default 1000), `maxMs` the cap (default 30 000). */
  backoff?: { baseMs?: number; maxMs?: number };
  /** A stream silent (not even a heartbeat) for this long is dropped and reopened. Default 45 000; 0 turns it off. */
  idleTimeoutMs?: number;
}

/** What to subscribe to. */
export interface SubscribeOptions {
  /** Rooms this connection joins at connect (and again at every reconnect). */
  rooms?: string[];
  /** Connection metadata that broadcasts can filter on (`meta.<key>=<value>`). */
  metadata?: Record<string, string>;
  /** Resume after this event id (for example one kept from an earlier page). */
  lastEventId?: string | null;
}

/** One event to publish. At most one of room, userId, connectionId; none means everyone. */
export interface PublishInput<D = unknown> {
  type: string;
  data?: D;
  room?: string;
  userId?: string;
  connectionId?: string;
  filters?: Record<string, string>;
}

/** `POST /broadcast`'s answer. */
export interface PublishResult {
  id: string;
  recipients: number;
}

/** `POST /broadcast/batch`'s answer: ids in the given order. */
export interface BatchResult {
  ids: string[];
}

/** Options of a RoomcastPublisher. */
export interface PublisherOptions extends AuthOptions {
  /** Attempts per publish, the first included. Default 6. */
  maxAttempts?: number;
  /** Backoff between attempts (default base 250 ms, cap 10 000 ms); a 503's Retry-After wins. */
  backoff?: { baseMs?: number; maxMs?: number };
}

/** Options of one publish. */
export interface PublishOptions {
  /** Overrides the generated key (e.g. to retry a publish across process restarts). */
  idempotencyKey?: string;
  /** Stops waiting and retrying. */
  signal?: AbortSignal;
}

/** `POST /rooms/:id/join`'s answer. */
export interface JoinResult {
  roomId: string;
  joined: number;
}

/** `POST /rooms/:id/leave`'s answer. */
export interface LeaveResult {
  roomId: string;
  left: number;
}
