import type { Memberships } from '../../core/ports.js';
import type { UserActivity } from './presence.js';

/** How often expired memberships are swept, in milliseconds; reads also drop them lazily. */
export const MEMBERSHIP_SWEEP_MS = 60_000;

/**
 * User-level room memberships of one process. A user's memberships expire `ttlMs` after its last
 * stream closed (a user that never had a stream: after its last change). Deadlines sit in
 * per-sweep buckets, so a sweep visits only the users due then, never every user.
 */
export class MemoryMemberships implements Memberships, UserActivity {
  private readonly byUser = new Map<string, Set<string>>();
  private readonly online_ = new Set<string>();
  /** User → when its memberships expire (absent while online). */
  private readonly deadline = new Map<string, number>();
  /** Sweep slot → users whose deadline falls in it. */
  private readonly buckets = new Map<number, Set<string>>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly ttlMs: number) {
    this.timer = setInterval(() => this.sweep(Date.now()), MEMBERSHIP_SWEEP_MS);
    this.timer.unref();
  }

  async list(userId: string): Promise<string[]> {
    this.expireIfDue(userId, Date.now());
    return [...(this.byUser.get(userId) ?? [])];
  }

  async add(userId: string, room: string): Promise<void> {
    this.expireIfDue(userId, Date.now());
    let set = this.byUser.get(userId);
    if (set === undefined) this.byUser.set(userId, (set = new Set()));
    set.add(room);
    if (!this.online_.has(userId)) this.startClock(userId);
  }

  async remove(userId: string, room: string): Promise<void> {
    const set = this.byUser.get(userId);
    if (set === undefined) return;
    set.delete(room);
    if (set.size === 0) this.forget(userId);
  }

  online(userId: string): void {
    this.online_.add(userId);
    this.deadline.delete(userId);
  }

  offline(userId: string): void {
    this.online_.delete(userId);
    if (this.byUser.has(userId)) this.startClock(userId);
  }

  /** Stops the sweep timer. */
  close(): void {
    clearInterval(this.timer);
  }

  private startClock(userId: string): void {
    const at = Date.now() + this.ttlMs;
    this.deadline.set(userId, at);
    const slot = Math.ceil(at / MEMBERSHIP_SWEEP_MS);
    let bucket = this.buckets.get(slot);
    if (bucket === undefined) this.buckets.set(slot, (bucket = new Set()));
    bucket.add(userId);
  }

  private expireIfDue(userId: string, now: number): void {
    const at = this.deadline.get(userId);
    if (at !== undefined && at <= now) this.forget(userId);
  }

  private forget(userId: string): void {
    this.byUser.delete(userId);
    this.deadline.delete(userId);
  }

  /** Drops the memberships whose deadline passed, visiting only the buckets now due. */
  private sweep(now: number): void {
    const due = Math.floor(now / MEMBERSHIP_SWEEP_MS);
    for (const [slot, users] of this.buckets) {
      if (slot > due) continue;
      this.buckets.delete(slot);
      // A user's deadline may have moved (back online, or a later close): only a passed one counts.
      for (const userId of users) this.expireIfDue(userId, now);
    }
  }
}
