import type { Revocations } from './ports.js';

/** One revocation: the user's tokens issued at or before `before` (seconds) are refused. */
export interface Revoked {
  readonly userId: string;
  readonly before: number;
}

/**
 * This process's copy of the hub's token revocations (user id → `before`), so that checking a
 * token costs a map lookup and no round trip to the store. Loaded from the store at start, kept
 * current by the bus (the `revoke` control message) and re-read now and then in case the bus
 * missed one; entries go once TOKEN_MAX_TTL has passed since their `before`.
 */
export class RevocationList {
  private readonly byUser = new Map<string, number>();

  constructor(private readonly store: Revocations, private readonly keepSec: number) {}

  /**
   * True when a token of this user issued at `iat` is revoked. `iat` has one-second resolution, so
   * a token issued in the same second as `before` counts as issued at or before it (the safe side);
   * a token without `iat` is refused by any revocation of its user.
   */
  refuses(userId: string, iat: number | undefined): boolean {
    const before = this.byUser.get(userId);
    if (before === undefined) return false;
    if (before + this.keepSec < Date.now() / 1000) {
      this.byUser.delete(userId);
      return false;
    }
    return iat === undefined || iat <= before;
  }

  /** Applies one revocation; true when it refuses more than before (a later `before`). */
  apply(userId: string, before: number): boolean {
    if (before + this.keepSec < Date.now() / 1000) return false;
    const current = this.byUser.get(userId);
    if (current !== undefined && current >= before) return false;
    if (current === undefined) this.sweep();
    this.byUser.set(userId, before);
    return true;
  }

  /** Drops the entries no token can need any more (revocations are rare: a walk over them is cheap). */
  private sweep(): void {
    const oldest = Date.now() / 1000 - this.keepSec;
    for (const [userId, before] of this.byUser) if (before < oldest) this.byUser.delete(userId);
  }

  /** Records a revocation in the store (durable, hub-wide) and applies it here; the bus takes it to the other processes. */
  async record(userId: string, before: number): Promise<void> {
    await this.store.revoke(userId, before);
    this.apply(userId, before);
  }

  /** Reads every kept revocation from the store; answers those that refuse more than this copy did. */
  async load(): Promise<Revoked[]> {
    const widened: Revoked[] = [];
    for (const [userId, before] of await this.store.list()) {
      if (this.apply(userId, before)) widened.push({ userId, before });
    }
    return widened;
  }

  /** Number of users with a revocation in this copy. */
  get size(): number {
    return this.byUser.size;
  }
}
