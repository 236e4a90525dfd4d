/** RoomcastClient: subscriptions, the user's room memberships, and the token they share. */
import type { BackoffOptions } from './backoff.js';
import { RoomcastError } from './errors.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, requestJson, type HttpSettings, type JsonRequest } from './http.js';
import { Subscription, type SubscriptionHost } from './subscription.js';
import { RenewalSchedule, TokenKeeper } from './token.js';
import type { ClientOptions, EventDataMap, JoinResult, LeaveResult, SubscribeOptions } from './types.js';

/** First reconnect backoff base until a stream's `retry:` gives one, in milliseconds. */
export const DEFAULT_BACKOFF_BASE_MS = 1_000;
/** Longest wait between reconnect attempts, in milliseconds. */
export const DEFAULT_BACKOFF_MAX_MS = 30_000;
/** A stream silent this long is taken for dead, in milliseconds (three of the hub's default heartbeats). */
export const DEFAULT_IDLE_TIMEOUT_MS = 45_000;

/** Settings shared by every HTTP call of a client or publisher. */
export function httpSettings(opts: ClientOptions): HttpSettings {
  if (typeof opts.url !== 'string' || opts.url === '') throw new TypeError('url is required');
  return { baseUrl: opts.url, credentials: opts.credentials ?? 'same-origin', timeoutMs: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS };
}

/** Sends a request with the keeper's token; on a 401, renews the token once and sends it again. */
export async function withToken<T>(http: HttpSettings, keeper: TokenKeeper, req: Omit<JsonRequest, 'token'>): Promise<T> {
  const token = await keeper.get();
  try {
    return await requestJson<T>(http, { ...req, token });
  } catch (err) {
    if (!(err instanceof RoomcastError) || err.status !== 401 || !keeper.renewable) throw err;
    // Another call may have renewed it already; otherwise ask for a new one.
    const next = keeper.current !== token ? keeper.current : await keeper.renew();
    return requestJson<T>(http, { ...req, token: next });
  }
}

/**
 * A connection to one hub for one user: streams (`subscribe`), user-level room membership
 * (`join`, `leave`), and the token they use, renewed before it expires.
 */
export class RoomcastClient {
  private readonly http: HttpSettings;
  private readonly keeper: TokenKeeper;
  private readonly schedule: RenewalSchedule;
  private readonly subs = new Set<Subscription<EventDataMap>>();
  private readonly host: SubscriptionHost;
  private closed = false;

  constructor(opts: ClientOptions) {
    this.http = httpSettings(opts);
    this.keeper = new TokenKeeper(this.http, opts.getToken, opts.token);
    const backoff: BackoffOptions = {
      baseMs: opts.backoff?.baseMs ?? DEFAULT_BACKOFF_BASE_MS,
      maxMs: opts.backoff?.maxMs ?? DEFAULT_BACKOFF_MAX_MS,
    };
    this.schedule = new RenewalSchedule(this.keeper, {
      renewed: (token) => {
        for (const s of this.subs) s.renewed(token);
      },
      failed: (err) => {
        for (const s of this.subs) s.renewalFailed(err);
      },
    });
    this.host = {
      http: this.http,
      keeper: this.keeper,
      backoff,
      idleTimeoutMs: opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      // Each new stream re-plans renewal from the token it was opened with (it may be new).
      opened: () => this.schedule.start(),
      detach: (sub) => {
        this.subs.delete(sub);
        if (this.subs.size === 0) this.schedule.stop();
      },
    };
  }

  /** The token held now (undefined with cookie authentication or before getToken answered). */
  get token(): string | undefined {
    return this.keeper.current;
  }

  /** Opens a subscription; declare `M` (event type → data) for typed listeners. */
  subscribe<M extends EventDataMap = EventDataMap>(opts: SubscribeOptions = {}): Subscription<M> {
    if (this.closed) throw new Error('the client is closed');
    const sub = new Subscription<M>(this.host, opts);
    this.subs.add(sub as unknown as Subscription<EventDataMap>);
    return sub;
  }

  /**
   * Joins a room for the user: every open connection of the user joins now, later ones too.
   * This client's subscriptions also name the room when they reconnect.
   * With `connectionId`, only that connection joins.
   */
  async join(roomId: string, opts: { connectionId?: string } = {}): Promise<JoinResult> {
    const answer = await withToken<JoinResult>(this.http, this.keeper, { method: 'POST', path: `/rooms/${encodeURIComponent(roomId)}/join`, body: opts });
    if (opts.connectionId === undefined) for (const s of this.subs) s.noteJoined(roomId);
    return answer;
  }

  /** Leaves a room for the user (or one connection); subscriptions stop naming it when they reconnect. */
  async leave(roomId: string, opts: { connectionId?: string } = {}): Promise<LeaveResult> {
    const answer = await withToken<LeaveResult>(this.http, this.keeper, { method: 'POST', path: `/rooms/${encodeURIComponent(roomId)}/leave`, body: opts });
    if (opts.connectionId === undefined) for (const s of this.subs) s.noteLeft(roomId);
    return answer;
  }

  /** Closes every subscription and stops renewing the token. */
  close(): void {
    this.closed = true;
    for (const s of [...this.subs]) s.close();
    this.schedule.stop();
  }
}
