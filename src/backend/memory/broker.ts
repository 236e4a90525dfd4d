import { EventIdClock } from '../../core/event-id.js';
import type { EventDraft, HubEvent } from '../../core/events.js';
import type { Broker, BrokerListener, ControlMessage, HistoryInfo, HistorySlice } from '../../core/ports.js';

/**
 * The embedded default: a ring of the newest `capacity` events and synchronous fan-out to
 * this process's listener. Append and delivery happen in one synchronous step, so they are atomic.
 */
export class MemoryBroker implements Broker {
  private readonly ring: (HubEvent | undefined)[];
  /** Index of the oldest kept event in the ring. */
  private head = 0;
  private count = 0;
  private readonly ids = new EventIdClock();
  private listener: BrokerListener | undefined;

  constructor(private readonly capacity: number) {
    this.ring = new Array<HubEvent | undefined>(capacity);
  }

  /** Appends and delivers every draft in one synchronous step; the answer is kept by the memory store itself. */
  async publish(drafts: readonly EventDraft[]): Promise<HubEvent[]> {
    const now = Date.now();
    const timestamp = new Date(now).toISOString();
    const events = drafts.map((draft): HubEvent => ({ ...draft, id: this.ids.next(now), timestamp }));
    for (const ev of events) this.append(ev);
    for (const ev of events) this.listener?.onEvent(ev, undefined);
    return events;
  }

  private append(ev: HubEvent): void {
    if (this.count < this.capacity) {
      this.ring[(this.head + this.count) % this.capacity] = ev;
      this.count++;
    } else {
      this.ring[this.head] = ev;
      this.head = (this.head + 1) % this.capacity;
    }
  }

  async publishControl(message: ControlMessage): Promise<void> {
    this.listener?.onControl(message);
  }

  async subscribe(listener: BrokerListener): Promise<void> {
    this.listener = listener;
  }

  private at(i: number): HubEvent {
    return this.ring[(this.head + i) % this.capacity] as HubEvent;
  }

  /** Index of the first kept event with id greater than `after` (binary search: ids increase). */
  private firstAfter(after: string | null): number {
    if (after === null) return 0;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).id <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async historyAfter(after: string | null, limit: number): Promise<HistorySlice> {
    const start = this.firstAfter(after);
    const end = Math.min(this.count, start + limit);
    const events: HubEvent[] = [];
    for (let i = start; i < end; i++) events.push(this.at(i));
    return { events, more: end < this.count };
  }

  async historyHas(id: string): Promise<boolean> {
    const i = this.firstAfter(id) - 1;
    return i >= 0 && this.at(i).id === id;
  }

  async historyInfo(): Promise<HistoryInfo> {
    if (this.count === 0) return { size: 0, oldestId: null, newestId: null };
    return { size: this.count, oldestId: this.at(0).id, newestId: this.at(this.count - 1).id };
  }

  isHealthy(): boolean {
    return true;
  }

  async close(): Promise<void> {
    this.listener = undefined;
  }
}
