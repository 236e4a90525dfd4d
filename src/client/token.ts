/** Tokens: reading a JWT's times, getting and renewing tokens, and renewing them on time. */
import { fullJitterDelay } from './backoff.js';
import { RoomcastError } from './errors.js';
import { requestJson, type HttpSettings } from './http.js';

/** A token is renewed this long before it expires at most, in milliseconds. */
export const MAX_RENEW_LEAD_MS = 60_000;
/** ...and at least this share of its lifetime before (short-lived tokens). */
export const RENEW_LEAD_FRACTION = 0.25;
/** A failed renewal is tried again after a backoff with this base, in milliseconds. */
export const RENEW_RETRY_BASE_MS = 500;
/** ...capped at this, in milliseconds. */
export const RENEW_RETRY_MAX_MS = 15_000;
/** Renewals are at least this far apart, in milliseconds, even when getToken hands back a token about to expire. */
export const MIN_RENEW_INTERVAL_MS = 1_000;

/** A JWT's `exp` and `iat` claims in milliseconds, read without verifying the token (the hub does). */
export function tokenTimes(token: string): { expMs: number | null; iatMs: number | null } {
  try {
    const part = token.split('.')[1] ?? '';
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const json = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const claims = JSON.parse(json) as { exp?: unknown; iat?: unknown };
    return {
      expMs: typeof claims.exp === 'number' ? claims.exp * 1000 : null,
      iatMs: typeof claims.iat === 'number' ? claims.iat * 1000 : null,
    };
  } catch {
    return { expMs: null, iatMs: null };
  }
}

/**
 * Milliseconds until a token should be renewed: min(60 s, a quarter of its lifetime) before its
 * `exp`, so that a new stream is open before the hub ends the old one. Times in the token are the
 * hub's clock; `clockOffsetMs` is hub time minus local time. Null for a token without `exp`.
 */
export function renewalDelayMs(token: string, receivedAtMs: number, nowMs: number, clockOffsetMs = 0): number | null {
  const { expMs, iatMs } = tokenTimes(token);
  if (expMs === null) return null;
  const issuedMs = iatMs ?? receivedAtMs + clockOffsetMs;
  const lead = Math.min(MAX_RENEW_LEAD_MS, Math.max(0, expMs - issuedMs) * RENEW_LEAD_FRACTION);
  return Math.max(0, expMs - lead - clockOffsetMs - nowMs);
}

/** `POST /auth/refresh`'s answer. */
interface RefreshAnswer {
  token: string;
}

/** Holds the current token and gets new ones: from getToken, or by refreshing the one it holds. */
export class TokenKeeper {
  /** Hub time minus local time, learned from each stream's `connected.serverTime`. */
  clockOffsetMs = 0;
  private token: string | undefined;
  private receivedAtMs = 0;
  private inflight: Promise<string | undefined> | null = null;

  constructor(
    private readonly http: HttpSettings,
    private readonly getToken: (() => string | Promise<string>) | undefined,
    initial: string | undefined,
  ) {
    if (initial !== undefined) this.set(initial);
  }

  /** The token now held (undefined: none yet, or cookie authentication). */
  get current(): string | undefined {
    return this.token;
  }

  /** True when a new token can be had: there is a getToken, or a token to refresh. */
  get renewable(): boolean {
    return this.getToken !== undefined || this.token !== undefined;
  }

  /** The token, asking getToken for a first one when none is held. */
  async get(): Promise<string | undefined> {
    if (this.token === undefined && this.getToken !== undefined) return this.renew();
    return this.token;
  }

  /** A new token (getToken, else `POST /auth/refresh`); concurrent callers share one request. */
  renew(): Promise<string | undefined> {
    if (!this.renewable) return Promise.resolve(undefined);
    this.inflight ??= this.fetchNew().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /** Milliseconds until the held token should be renewed; null when it need not be. */
  renewalDelay(nowMs: number = Date.now()): number | null {
    if (this.token === undefined || !this.renewable) return null;
    return renewalDelayMs(this.token, this.receivedAtMs, nowMs, this.clockOffsetMs);
  }

  private set(token: string): void {
    this.token = token;
    this.receivedAtMs = Date.now();
  }

  private async fetchNew(): Promise<string | undefined> {
    let next: string;
    if (this.getToken !== undefined) {
      try {
        next = await this.getToken();
      } catch (err) {
        throw err instanceof RoomcastError ? err : new RoomcastError('get_token_failed', 'getToken failed', { cause: err });
      }
      if (typeof next !== 'string' || next === '') throw new RoomcastError('get_token_failed', 'getToken gave no token');
    } else {
      next = (await requestJson<RefreshAnswer>(this.http, { method: 'POST', path: '/auth/refresh', token: this.token })).token;
    }
    this.set(next);
    return next;
  }
}

/** True for an error that a later renewal cannot cure (the hub refuses the token or the user). */
export function isFinalAuthError(err: unknown): boolean {
  return err instanceof RoomcastError && (err.status === 401 || err.status === 403);
}

/** Renews a keeper's token before it expires, over and over, while started. */
export class RenewalSchedule {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private running = false;

  constructor(
    private readonly keeper: TokenKeeper,
    private readonly on: { renewed(token: string): void; failed(err: unknown, final: boolean): void },
  ) {}

  /** Starts (or re-plans) renewals from the token held now. */
  start(): void {
    this.running = true;
    this.plan(this.keeper.renewalDelay());
  }

  /** Stops planning renewals. */
  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private plan(ms: number | null): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running || ms === null) return;
    this.timer = setTimeout(() => void this.fire(), ms);
  }

  private async fire(): Promise<void> {
    try {
      const token = await this.keeper.renew();
      this.failures = 0;
      if (!this.running) return;
      if (token !== undefined) this.on.renewed(token);
      const next = this.keeper.renewalDelay();
      this.plan(next === null ? null : Math.max(MIN_RENEW_INTERVAL_MS, next));
    } catch (err) {
      if (!this.running) return;
      const final = isFinalAuthError(err);
      this.on.failed(err, final);
      if (!final) this.plan(fullJitterDelay(this.failures++, { baseMs: RENEW_RETRY_BASE_MS, maxMs: RENEW_RETRY_MAX_MS }));
    }
  }
}
