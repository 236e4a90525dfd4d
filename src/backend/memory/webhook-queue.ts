import { setTimeout as delay } from 'node:timers/promises';
import type { ConnectionManager } from '../../core/connection-manager.js';
import type { ConnectionInfo } from '../../core/ports.js';
import {
  WEBHOOK_QUEUE_MAX, isReportedRoom, type WebhookEvent, type WebhookQueue, type WebhookType,
} from '../../core/webhooks.js';
import type { PresenceTransitions } from './presence.js';

/** Orders two event ids (`<ms>-<seq>`): negative when `a` came first. */
function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

/**
 * The pending webhook events of a one-process hub: a bounded array in memory, fed by this
 * process's presence as the ConnectionManager reports each change (one process is the whole hub,
 * so its local transitions are the hub-wide ones). When full, the oldest pending event is
 * dropped and counted.
 */
export class MemoryWebhookQueue implements WebhookQueue, PresenceTransitions {
  private items: WebhookEvent[] = [];
  private dropped = 0;
  private lastMs = 0;
  private seq = 0;
  private wakers: (() => void)[] = [];
  private readonly types: ReadonlySet<WebhookType>;

  constructor(
    private readonly manager: ConnectionManager,
    events: readonly WebhookType[],
    private readonly capacity: number = WEBHOOK_QUEUE_MAX,
  ) {
    this.types = new Set(events);
  }

  // ---- transitions (called right after the ConnectionManager changed, before anything else can) ----

  opened(conn: ConnectionInfo, firsts: readonly string[]): void {
    for (const room of conn.rooms) this.entered(room, conn.userId, firsts.includes(room));
  }

  closed(conn: ConnectionInfo, lasts: readonly string[]): void {
    for (const room of conn.rooms) this.exited(room, conn.userId, lasts.includes(room));
  }

  entered(room: string, userId: string, first: boolean): void {
    if (this.manager.inRoom(room).size === 1) this.record('room.occupied', room);
    if (first) this.record('presence.join', room, userId);
  }

  exited(room: string, userId: string, last: boolean): void {
    if (last) this.record('presence.leave', room, userId);
    if (this.manager.inRoom(room).size === 0) this.record('room.vacated', room);
  }

  private record(type: WebhookType, roomId: string, userId?: string): void {
    if (!this.types.has(type) || !isReportedRoom(roomId)) return;
    // Ids as Redis makes stream ids: the clock in ms, then a sequence within one ms; so they
    // stay unique across restarts of the process.
    const now = Date.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.seq = 0;
    } else {
      this.seq++;
    }
    const id = `${this.lastMs}-${this.seq}`;
    const timestamp = new Date(now).toISOString();
    if (this.items.length >= this.capacity) {
      this.items.shift();
      this.dropped++;
    }
    this.items.push(userId === undefined ? { id, type, roomId, timestamp } : { id, type, roomId, userId, timestamp });
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }

  // ---- the queue ----

  async peek(max: number): Promise<WebhookEvent[]> {
    return this.items.slice(0, max);
  }

  async ack(lastId: string): Promise<boolean> {
    let n = 0;
    while (n < this.items.length && compareIds((this.items[n] as WebhookEvent).id, lastId) <= 0) n++;
    this.items.splice(0, n);
    return true;
  }

  async wait(maxMs: number, signal: AbortSignal): Promise<void> {
    if (this.items.length > 0) return;
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    signal.addEventListener('abort', stop, { once: true });
    this.wakers.push(stop);
    await delay(maxMs, undefined, { signal: ac.signal }).catch(() => undefined);
    signal.removeEventListener('abort', stop);
    this.wakers = this.wakers.filter((w) => w !== stop);
  }

  async takeDropped(): Promise<number> {
    const n = this.dropped;
    this.dropped = 0;
    return n;
  }
}
