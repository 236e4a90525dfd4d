/** A subscription: one logical stream that resumes, deduplicates, backs off and renews its token. */
import { compareEventIds, fullJitterDelay, type BackoffOptions } from './backoff.js';
import { Emitter, type Listener } from './emitter.js';
import { RoomcastError } from './errors.js';
import { controlData, streamUrl, toEvent } from './frames.js';
import type { HttpSettings } from './http.js';
import type { SseFrame } from './sse-parser.js';
import { SseStream } from './stream.js';
import { isFinalAuthError, type TokenKeeper } from './token.js';
import {
  RESERVED_NAMES, type ConnectedInfo, type EventDataMap, type GapInfo, type RoomcastEvent, type SubscribeOptions,
  type SubscriptionEvents, type SubscriptionState,
} from './types.js';

/** What a subscription needs from the client that made it. */
export interface SubscriptionHost {
  readonly http: HttpSettings;
  readonly keeper: TokenKeeper;
  readonly backoff: BackoffOptions;
  readonly idleTimeoutMs: number;
  /** A stream of this subscription is open (the client plans token renewals from here). */
  opened(sub: Subscription<EventDataMap>): void;
  /** The subscription closed for good. */
  detach(sub: Subscription<EventDataMap>): void;
}

/** Control events the hub sends that are handed on as they are. */
const PASSED_ON = new Set(['room-joined', 'room-left', 'presence-join', 'presence-leave', 'disconnected', 'token-expired', 'token-revoked', 'shutdown']);

/** True for a refusal that trying again cannot change (bad request, forbidden room, too many rooms). */
function isFinalRefusal(err: RoomcastError): boolean {
  if (err.status < 400 || err.status >= 500) return false;
  return err.status !== 408 && !(err.status === 429 && err.code === 'too_many_connections');
}

/**
 * One subscription to the hub's stream. It hands each published event once, in order, and keeps
 * going across drops, hub restarts and token renewals; `close()` ends it.
 */
export class Subscription<M extends EventDataMap = EventDataMap> {
  /** Events the hub sent again (an overlap of a replay) and this subscription dropped. */
  duplicatesDropped = 0;
  private readonly emitter = new Emitter();
  private readonly rooms: Set<string>;
  private readonly metadata: Record<string, string>;
  private current: SubscriptionState = 'connecting';
  private lastId: string | null;
  private connection: ConnectedInfo | null = null;
  /** The stream events are taken from. */
  private active: SseStream | null = null;
  /** A stream opened with a renewed token; it replaces `active` when it says `connected`. */
  private pending: SseStream | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private retryBaseMs: number;
  /** A shutdown's `retryMs`: the wait before the next attempt. */
  private shutdownWaitMs: number | null = null;
  private everOpen = false;
  private authRetried = false;

  constructor(private readonly host: SubscriptionHost, opts: SubscribeOptions = {}) {
    this.rooms = new Set(opts.rooms ?? []);
    this.metadata = { ...opts.metadata };
    this.lastId = opts.lastEventId ?? null;
    this.retryBaseMs = host.backoff.baseMs;
    // Listeners added right after subscribe() see the first state.
    queueMicrotask(() => void this.connect());
  }

  /** Where the subscription is now. */
  get state(): SubscriptionState {
    return this.current;
  }

  /** The id of the last event handed out (the subscription resumes after it). */
  get lastEventId(): string | null {
    return this.lastId;
  }

  /** The open stream's `connected` event, or null while there is none. */
  get connected(): ConnectedInfo | null {
    return this.connection;
  }

  /** Listens for a lifecycle or control event. Returns the function that removes the listener. */
  on<K extends keyof SubscriptionEvents<M>>(name: K, fn: Listener<SubscriptionEvents<M>[K]>): () => void;
  /** Listens for published events of one type. */
  on<K extends Exclude<keyof M & string, keyof SubscriptionEvents<M>>>(type: K, fn: Listener<RoomcastEvent<M[K], K>>): () => void;
  /** Listens for published events of a type the map does not name. */
  on(type: string, fn: Listener<RoomcastEvent>): () => void;
  on(name: string, fn: Listener<never>): () => void {
    return this.emitter.on(name, fn);
  }

  /** Removes a listener. */
  off(name: string, fn: Listener<never>): void {
    this.emitter.off(name, fn);
  }

  /** Ends the subscription: no more events, no reconnects. */
  close(): void {
    this.finish(undefined);
  }

  /** @internal The client joined a room for its user: a reconnect names it too. */
  noteJoined(roomId: string): void {
    this.rooms.add(roomId);
  }

  /** @internal The client left a room: a reconnect must not join it again. */
  noteLeft(roomId: string): void {
    this.rooms.delete(roomId);
  }

  /** @internal The client renewed its token: open a stream with it beside the old one, and switch when it is up. */
  renewed(token: string): void {
    if (this.current !== 'open' || this.active === null) return;
    this.pending?.abort();
    this.pending = this.open(token);
  }

  /** @internal The client could not renew the token; the subscription carries on until the hub ends it. */
  renewalFailed(err: unknown): void {
    if (err instanceof RoomcastError) this.emitter.emit('error', err);
  }

  private get ended(): boolean {
    return this.current === 'closed';
  }

  private setState(s: SubscriptionState): void {
    if (s === this.current && s !== 'connecting') return;
    this.current = s;
    this.emitter.emit('state', s);
  }

  private open(token: string | undefined): SseStream {
    const stream: SseStream = new SseStream(
      { url: streamUrl(this.host.http.baseUrl, this.rooms, this.metadata), token, lastEventId: this.lastId, credentials: this.host.http.credentials, idleTimeoutMs: this.host.idleTimeoutMs },
      {
        frame: (f) => this.onFrame(stream, f),
        retry: (ms) => {
          this.retryBaseMs = ms;
        },
        end: (err) => this.onEnd(stream, err),
      },
    );
    return stream;
  }

  private async connect(): Promise<void> {
    this.timer = undefined;
    if (this.ended) return;
    this.setState(this.everOpen || this.attempt > 0 ? 'reconnecting' : 'connecting');
    let token: string | undefined;
    try {
      token = await this.host.keeper.get();
    } catch (err) {
      this.retryOrFinish(err);
      return;
    }
    if (this.ended) return;
    this.active = this.open(token);
  }

  private onFrame(stream: SseStream, f: SseFrame): void {
    if (stream !== this.active && stream !== this.pending) return;
    if (f.id !== undefined) {
      this.onPublished(f.id, f);
      return;
    }
    const data = controlData(f);
    if (f.event === 'connected') {
      this.onConnected(stream, data as unknown as ConnectedInfo);
      return;
    }
    if (f.event === 'history-gap') {
      const gap: GapInfo = { lastEventId: (data.lastEventId as string | null) ?? null, oldestAvailable: (data.oldestAvailable as string | null) ?? null };
      // Ids only restart when the hub lost everything; then forget the old watermark.
      if (gap.oldestAvailable !== null && this.lastId !== null && compareEventIds(gap.oldestAvailable, this.lastId) <= 0) this.lastId = null;
      this.emitter.emit('gap', gap);
      return;
    }
    if (f.event === 'token-expired') stream.endedBy = 'token_expired';
    if (f.event === 'token-revoked') stream.endedBy = 'token_revoked';
    if (f.event === 'shutdown' && typeof data.retryMs === 'number') this.shutdownWaitMs = data.retryMs;
    if (PASSED_ON.has(f.event)) this.emitter.emit(f.event, data);
  }

  private onConnected(stream: SseStream, info: ConnectedInfo): void {
    if (stream === this.pending) {
      // The renewed stream is up and replays from the last id handed out: the old one can go.
      this.active?.abort();
      this.active = stream;
      this.pending = null;
    }
    const serverMs = Date.parse(info.serverTime);
    if (!Number.isNaN(serverMs)) this.host.keeper.clockOffsetMs = serverMs - Date.now();
    this.connection = info;
    this.attempt = 0;
    this.everOpen = true;
    this.authRetried = false;
    this.shutdownWaitMs = null;
    this.setState('open');
    this.emitter.emit('connected', info);
    this.host.opened(this as unknown as Subscription<EventDataMap>);
  }

  private onPublished(id: string, f: SseFrame): void {
    if (this.lastId !== null && compareEventIds(id, this.lastId) <= 0) {
      this.duplicatesDropped += 1;
      return;
    }
    this.lastId = id;
    const event = toEvent(id, f);
    this.emitter.emit('event', event);
    if (!RESERVED_NAMES.has(event.type)) this.emitter.emit(event.type, event);
  }

  private onEnd(stream: SseStream, err: RoomcastError | undefined): void {
    if (this.ended) return;
    if (stream === this.pending) {
      this.pending = null;
      if (err !== undefined) this.emitter.emit('error', err);
      // The old stream ended meanwhile: this was the way on, so try again the usual way.
      if (this.active === null) this.afterDrop(stream, err);
      return;
    }
    if (stream !== this.active) return;
    this.active = null;
    this.connection = null;
    // A renewal's stream is on its way: it takes over and replays from the last id, no gap.
    if (this.pending !== null) return;
    this.afterDrop(stream, err);
  }

  private afterDrop(stream: SseStream, err: RoomcastError | undefined): void {
    const keeper = this.host.keeper;
    if (err?.status === 401 || stream.endedBy !== null) {
      if (keeper.current !== undefined && keeper.current !== stream.token) {
        this.schedule(0);
        return;
      }
      if (!keeper.renewable || this.authRetried) {
        const code = stream.endedBy ?? err?.code ?? 'unauthenticated';
        this.finish(err ?? new RoomcastError(code, code === 'token_revoked' ? 'the token was revoked' : 'the token expired', { status: 401 }));
        return;
      }
      this.authRetried = true;
      this.setState('reconnecting');
      keeper.renew().then(() => this.schedule(0), (e: unknown) => this.retryOrFinish(e));
      return;
    }
    if (err !== undefined && isFinalRefusal(err)) {
      this.finish(err);
      return;
    }
    if (err !== undefined) this.emitter.emit('error', err);
    this.retryOrFinish(undefined, err?.retryAfterMs ?? null);
  }

  /** Plans the next attempt with backoff, unless `err` says no attempt can succeed. */
  private retryOrFinish(err: unknown, retryAfterMs: number | null = null): void {
    if (this.ended) return;
    if (err !== undefined) {
      const e = err instanceof RoomcastError ? err : new RoomcastError('get_token_failed', 'no token', { cause: err });
      if (isFinalAuthError(e)) {
        this.finish(e);
        return;
      }
      this.emitter.emit('error', e);
    }
    const jitter = fullJitterDelay(this.attempt++, { baseMs: this.retryBaseMs, maxMs: this.host.backoff.maxMs });
    const wait = this.shutdownWaitMs ?? Math.max(retryAfterMs ?? 0, jitter);
    this.shutdownWaitMs = null;
    this.setState('reconnecting');
    this.schedule(wait);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), ms);
  }

  private finish(err: RoomcastError | undefined): void {
    if (this.ended) return;
    clearTimeout(this.timer);
    this.active?.abort();
    this.pending?.abort();
    this.active = null;
    this.pending = null;
    this.connection = null;
    if (err !== undefined) this.emitter.emit('error', err);
    this.setState('closed');
    this.emitter.clear();
    this.host.detach(this as unknown as Subscription<EventDataMap>);
  }
}
