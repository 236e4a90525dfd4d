/**
 * Webhooks: the events the hub tells an application's backend about (a room's first and last
 * connection hub-wide, a user's first and last connection in a room), and the queue they wait in
 * until the receiver acknowledged them. The presence implementations in src/backend decide the
 * transitions and append them to the queue in the same step.
 */
import { USER_ROOM_PREFIX } from './names.js';

/** Every webhook event type, in the order the docs list them. */
export const WEBHOOK_TYPES = ['room.occupied', 'room.vacated', 'presence.join', 'presence.leave'] as const;

/** One webhook event type. */
export type WebhookType = (typeof WEBHOOK_TYPES)[number];

/** One event as the receiver gets it in `{"events": [...]}`. */
export interface WebhookEvent {
  /** Unique, increasing in queue order: `<ms>-<seq>` (a Redis stream id in cluster mode). */
  readonly id: string;
  readonly type: WebhookType;
  readonly roomId: string;
  /** Present for presence.join and presence.leave only. */
  readonly userId?: string;
  /** When the transition was recorded, ISO-8601. */
  readonly timestamp: string;
}

/** Most events in one POST. */
export const WEBHOOK_BATCH_MAX = 100;

/** Default bound of the pending queue, in events; beyond it the oldest pending event is dropped. */
export const WEBHOOK_QUEUE_MAX = 10_000;

/** True for rooms whose transitions are reported (never a user's private room). */
export function isReportedRoom(room: string): boolean {
  return !room.startsWith(USER_ROOM_PREFIX);
}

/**
 * The pending webhook events, hub-wide, oldest first. Events leave it when acknowledged (or
 * given up on); when it is full, recording one more drops the oldest pending one and counts it.
 */
export interface WebhookQueue {
  /** Up to `max` pending events, oldest first, without removing them. */
  peek(max: number): Promise<WebhookEvent[]>;
  /**
   * Removes every pending event up to and including `lastId`. False when this process may no
   * longer deliver (another holds the delivery lease): nothing was removed.
   */
  ack(lastId: string): Promise<boolean>;
  /** Resolves once events may be pending, after at most `maxMs`, or when `signal` aborts. */
  wait(maxMs: number, signal: AbortSignal): Promise<void>;
  /** Events dropped on overflow since the last call (each counted by one caller only). */
  takeDropped(): Promise<number>;
}

/** What webhook delivery reports, for metrics. */
export interface WebhookObserver {
  /** Events acknowledged by the receiver; `latenciesMs` from each event's recording to the ack. */
  delivered(latenciesMs: readonly number[]): void;
  /** One POST that will be sent again (non-2xx, or no answer in time). */
  retried(): void;
  /** Events given up on after the retry window. */
  failed(n: number): void;
  /** Events dropped because the queue was full. */
  dropped(n: number): void;
}
