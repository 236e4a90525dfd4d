import type { HubEvent } from '../../core/events.js';
import type { HistorySlice } from '../../core/ports.js';

/**
 * The newest events this process received from the bus, in order and without a hole, so that
 * replays after a recent id (a reconnect storm: thousands of nearby Last-Event-IDs) are answered
 * from memory instead of one Redis read per client. Coverage is exact: `floor` is the id after
 * which every event is here; an id below it, or newer than anything seen yet, is not answered
 * (the broker then reads Redis).
 */
export class RecentHistory {
  private readonly ring: HubEvent[] = [];
  /** Every event with an id above this one (up to the newest here) is in the ring; null: no coverage. */
  private floor: string | null = null;

  constructor(private readonly capacity: number) {}

  /** Starts coverage after `id` (what history held when this process subscribed), dropping what was here. */
  reset(id: string | null): void {
    this.ring.length = 0;
    this.floor = id;
  }

  /** Forgets everything: a hole may follow (a catch-up that gave up). */
  invalidate(): void {
    this.ring.length = 0;
    this.floor = null;
  }

  /** Appends the next event in bus order. */
  push(ev: HubEvent): void {
    if (this.floor === null) return;
    this.ring.push(ev);
    if (this.ring.length > this.capacity) this.floor = (this.ring.shift() as HubEvent).id;
  }

  /** True when events after `id` are fully known here. Ids are fixed width: string order is id order. */
  private covers(id: string): boolean {
    if (this.floor === null || id < this.floor) return false;
    const newest = this.ring.length > 0 ? (this.ring[this.ring.length - 1] as HubEvent).id : this.floor;
    return id <= newest;
  }

  /** Index of the first event with an id above `id`. */
  private firstAfter(id: string): number {
    let lo = 0;
    let hi = this.ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.ring[mid] as HubEvent).id <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Up to `limit` events after `id`, or undefined when this window cannot answer. */
  after(id: string, limit: number): HistorySlice | undefined {
    if (!this.covers(id)) return undefined;
    const start = this.firstAfter(id);
    const events = this.ring.slice(start, start + limit);
    return { events, more: start + limit < this.ring.length };
  }

  /** Whether an event with this id is kept, or undefined when this window cannot tell. */
  has(id: string): boolean | undefined {
    if (!this.covers(id) || id === this.floor) return undefined;
    const i = this.firstAfter(id) - 1;
    return i >= 0 && (this.ring[i] as HubEvent).id === id;
  }
}
