import type { Memberships } from '../../core/ports.js';

/** User-level room memberships of one process. */
export class MemoryMemberships implements Memberships {
  private readonly byUser = new Map<string, Set<string>>();

  async list(userId: string): Promise<string[]> {
    return [...(this.byUser.get(userId) ?? [])];
  }

  async add(userId: string, room: string): Promise<void> {
    let set = this.byUser.get(userId);
    if (set === undefined) this.byUser.set(userId, (set = new Set()));
    set.add(room);
  }

  async remove(userId: string, room: string): Promise<void> {
    const set = this.byUser.get(userId);
    if (set === undefined) return;
    set.delete(room);
    if (set.size === 0) this.byUser.delete(userId);
  }
}
