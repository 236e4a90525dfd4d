import type { Redis } from 'ioredis';
import type { FeedLease } from '../../core/ports.js';
import type { RedisErrors, RedisLogger } from './client.js';
import './commands.js';

/** Lease renewal: PEXPIRE only when we still hold it. KEYS: lease. ARGV: holder, ttl ms. */
const LEASE_RENEW_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/** Lease release: DEL only when we hold it. KEYS: lease. ARGV: holder. */
const LEASE_RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Lease lifetime: a dead holder's lease lapses this long after its last renewal. */
export const LEASE_TTL_MS = 5_000;

/**
 * A lease in Redis: `SET key nodeId NX PX ttl` to take it, a compare-and-PEXPIRE every ttl/3 to
 * keep it. A holder that cannot renew (Redis unreachable, or the lease was taken) stops its work
 * before the lease could lapse, so two processes never run the feeds at once for long; others
 * try to take it every ttl/3, so a dead holder is replaced within ttl + ttl/3.
 */
export class RedisLease implements FeedLease {
  private timer: NodeJS.Timeout | undefined;
  private holding = false;
  /** When our lease lapses at the latest (local clock), counted from the last successful take/renew. */
  private validUntil = 0;
  private running: Promise<void> | undefined;
  private onAcquire: () => void = () => {};
  private onLose: () => void = () => {};

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly holder: string,
    private readonly errors: RedisErrors,
    private readonly logger: RedisLogger,
    private readonly ttlMs: number = LEASE_TTL_MS,
  ) {
    redis.defineCommand('roomcastLeaseRenew', { numberOfKeys: 1, lua: LEASE_RENEW_LUA });
    redis.defineCommand('roomcastLeaseRelease', { numberOfKeys: 1, lua: LEASE_RELEASE_LUA });
  }

  start(onAcquire: () => void, onLose: () => void): void {
    this.onAcquire = onAcquire;
    this.onLose = onLose;
    this.timer = setInterval(() => void this.tick(), Math.max(50, Math.floor(this.ttlMs / 3)));
    void this.tick();
  }

  /** True while this process holds the lease. */
  get held(): boolean {
    return this.holding;
  }

  private tick(): Promise<void> {
    this.running ??= this.tickOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async tickOnce(): Promise<void> {
    const startedAt = Date.now();
    try {
      if (this.holding) {
        const renew = this.redis.roomcastLeaseRenew(this.key, this.holder, this.ttlMs);
        if ((await this.errors.guard('lease-renew', renew, { key: this.key })) === 1) {
          this.validUntil = startedAt + this.ttlMs;
        } else {
          this.lose('the lease was taken by another process');
        }
      } else {
        const taken = await this.errors.guard('lease-acquire', this.redis.set(this.key, this.holder, 'PX', this.ttlMs, 'NX'), { key: this.key });
        if (taken === 'OK') {
          this.holding = true;
          this.validUntil = startedAt + this.ttlMs;
          this.logger.info({ key: this.key }, 'acquired the lease');
          this.onAcquire();
        }
      }
    } catch {
      // Cannot tell whether we still hold it: stop before it could have lapsed elsewhere.
      if (this.holding && Date.now() + Math.floor(this.ttlMs / 3) >= this.validUntil) this.lose('the lease could not be renewed');
    }
  }

  private lose(why: string): void {
    if (!this.holding) return;
    this.holding = false;
    this.logger.warn({ key: this.key, why }, 'lost the lease');
    this.onLose();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    if (!this.holding) return;
    this.holding = false;
    try {
      const release = this.redis.roomcastLeaseRelease(this.key, this.holder);
      await this.errors.guard('lease-release', release, { key: this.key });
    } catch {
      // recorded; the lease lapses with its TTL
    }
  }
}
