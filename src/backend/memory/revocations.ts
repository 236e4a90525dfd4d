import type { Revocations } from '../../core/ports.js';

/** Token revocations of a hub that is one process: a map, swept on each change. */
export class MemoryRevocations implements Revocations {
  private readonly byUser = new Map<string, number>();

  /** `keepSec`: how long after its `before` an entry is kept (TOKEN_MAX_TTL). */
  constructor(private readonly keepSec: number) {}

  async revoke(userId: string, beforeSec: number): Promise<void> {
    this.sweep();
    const current = this.byUser.get(userId);
    if (current === undefined || current < beforeSec) this.byUser.set(userId, beforeSec);
  }

  async list(): Promise<Map<string, number>> {
    this.sweep();
    return new Map(this.byUser);
  }

  private sweep(): void {
    const oldest = Date.now() / 1000 - this.keepSec;
    for (const [userId, before] of this.byUser) if (before < oldest) this.byUser.delete(userId);
  }
}
