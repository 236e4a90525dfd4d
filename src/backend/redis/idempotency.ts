import { createHash, randomBytes } from 'node:crypto';
import type { RedisClient, RedisErrors } from './client.js';
import { HubError } from '../../core/errors.js';
import { ANSWER_ID_SLOT, type IdempotencyStore, type RecordAnswer } from '../../core/ports.js';
import { IDEMPOTENCY_TTL_MS } from '../memory/idempotency.js';
import { REDIS_RETRY_AFTER_SEC } from './client.js';
import './commands.js';

/** How often a repeat polls for the first request's answer while it is still running. */
const POLL_MS = 25;
/** How long a repeat waits for the first request (on another process) to finish. */
const WAIT_MS = 10_000;
/**
 * How long a claim lasts without an answer. A run ends well within it (each Redis command gives up
 * after 5 s); a claim whose process died before it could settle lapses after it.
 */
export const PENDING_TTL_MS = 30_000;
/** Pause between attempts to settle a claim while Redis is unreachable (an outage, a failover). */
const SETTLE_RETRY_MS = 250;

/** Compare-and-swap: replaces (or with an empty replacement deletes) the key only when it holds `expected`. */
const SWAP_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
`;

type Record_ = { state: 'pending'; owner: string } | { state: 'done'; answer: unknown };

/** ANSWER_ID_SLOT as it reads inside a JSON string. */
const SLOT_IN_JSON = JSON.stringify(ANSWER_ID_SLOT).slice(1, -1);

/**
 * Idempotency keys shared by every process: the first request claims the key (SET NX, for
 * PENDING_TTL_MS) and stores its answer as soon as it has one; a repeat on any process within the
 * TTL answers that answer (waiting while the first is still running). A failed run releases its
 * claim, and when Redis cannot be reached at that moment (a failover) it keeps trying in the
 * background until the claim would have lapsed anyway, so a retry does not wait for a dead claim.
 * The run gets a RecordAnswer: the broker stores the answer in the same script as the events, so a
 * process that dies, or a reply lost, right after publishing leaves the answer behind for the retry
 * (the claim's release then finds it and changes nothing). Repeats on this process share the first
 * request's promise directly.
 */
export class RedisIdempotency implements IdempotencyStore {
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly errors: RedisErrors,
    private readonly ttlMs: number = IDEMPOTENCY_TTL_MS,
  ) {
    redis.defineCommand('roomcastSwap', { numberOfKeys: 1, lua: SWAP_LUA });
  }

  private keyOf(key: string): string {
    return `${this.prefix}idem:${createHash('sha256').update(key).digest('hex')}`;
  }

  once<T>(key: string, run: (record?: RecordAnswer) => Promise<T>): Promise<T> {
    const local = this.inFlight.get(key);
    if (local !== undefined) return local as Promise<T>;
    const p = this.claim(key, run).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  /** Forgets a stored answer (its event was lost in a failover), so the next repeat runs again. */
  async forget(key: string): Promise<void> {
    const rkey = this.keyOf(key);
    const raw = await this.errors.guard('idempotency-get', this.redis.get(rkey), { rkey });
    if (raw !== null && (JSON.parse(raw) as Record_).state === 'done') {
      await this.errors.guard('idempotency-forget', this.redis.roomcastSwap(rkey, raw, '', 0), { rkey });
    }
  }

  private async claim<T>(key: string, run: (record?: RecordAnswer) => Promise<T>): Promise<T> {
    const rkey = this.keyOf(key);
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const pending = JSON.stringify({ state: 'pending', owner: randomBytes(9).toString('base64url') } satisfies Record_);
      const claimed = await this.errors.guard('idempotency-claim', this.redis.set(rkey, pending, 'PX', PENDING_TTL_MS, 'NX'), { rkey });
      if (claimed === 'OK') return this.runClaimed(rkey, pending, run);
      const raw = await this.errors.guard('idempotency-get', this.redis.get(rkey), { rkey });
      if (raw !== null) {
        const rec = JSON.parse(raw) as Record_;
        if (rec.state === 'done') return rec.answer as T;
      }
      // Pending on another process (or released by a failed run, then we claim it next round).
      if (Date.now() >= deadline) {
        throw new HubError('unavailable', 'a request with this Idempotency-Key is still being processed; try again', undefined, REDIS_RETRY_AFTER_SEC);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  private async runClaimed<T>(rkey: string, pending: string, run: (record?: RecordAnswer) => Promise<T>): Promise<T> {
    const claimedAt = Date.now();
    let recorded = false;
    const record: RecordAnswer = (answer) => {
      recorded = true;
      return {
        key: rkey, expected: pending, ttlMs: this.ttlMs,
        parts: JSON.stringify({ state: 'done', answer } satisfies Record_).split(SLOT_IN_JSON),
      };
    };
    let answer: T;
    try {
      answer = await run(record);
    } catch (err) {
      await this.settle(rkey, pending, '', 0, claimedAt, 'idempotency-release');
      throw err;
    }
    // The event is published: from here on, a repeat must get this answer, never a second publish.
    // A run that handed its record to the publish script succeeded only once that script ran, and
    // the script stored the answer (or found the claim gone, where this swap would fail too).
    if (recorded) return answer;
    const done = JSON.stringify({ state: 'done', answer } satisfies Record_);
    await this.settle(rkey, pending, done, this.ttlMs, claimedAt, 'idempotency-store');
    return answer;
  }

  /**
   * Replaces our claim (with the answer, or nothing). Resolves after the first attempt; while Redis
   * is unreachable it keeps trying in the background until the claim would have lapsed. Never throws.
   */
  private async settle(rkey: string, pending: string, replacement: string, ttlMs: number, claimedAt: number, op: string): Promise<void> {
    const swap = (): Promise<number> => this.redis.roomcastSwap(rkey, pending, replacement, ttlMs);
    try {
      await swap();
      return;
    } catch (err) {
      this.errors.record(op, err, { rkey });
    }
    void (async () => {
      while (!this.closed && Date.now() + SETTLE_RETRY_MS < claimedAt + PENDING_TTL_MS) {
        await new Promise((r) => setTimeout(r, SETTLE_RETRY_MS));
        try {
          await swap();
          return;
        } catch {
          // recorded once above; Redis is still unreachable
        }
      }
    })();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.inFlight.clear();
  }
}
