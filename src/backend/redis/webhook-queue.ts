import type { Redis } from 'ioredis';
import { setTimeout as delay } from 'node:timers/promises';
import {
  WEBHOOK_QUEUE_MAX, type WebhookEvent, type WebhookQueue, type WebhookType,
} from '../../core/webhooks.js';
import type { RedisErrors } from './client.js';
import './commands.js';

/** How often the delivering process looks for new events in Redis, in milliseconds. */
export const WEBHOOK_POLL_MS = 150;

/** The code each type is stored under in the stream (webhook-lua.ts). */
const CODES: Record<WebhookType, string> = {
  'room.occupied': 'o', 'room.vacated': 'v', 'presence.join': 'j', 'presence.leave': 'l',
};
const TYPES = new Map(Object.entries(CODES).map(([type, code]) => [code, type as WebhookType]));

/**
 * Acknowledgement: trims the stream up to the acknowledged event, only while the caller still
 * holds the delivery lease (a process that lost it must not move the queue). KEYS: lease, stream.
 * ARGV: holder, the first id to keep.
 */
const ACK_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('XTRIM', KEYS[2], 'MINID', ARGV[2])
return 1
`;

/** The spec argument of the presence scripts for these event types (webhook-lua.ts). */
export function webhookSpec(events: readonly WebhookType[], max: number = WEBHOOK_QUEUE_MAX): string {
  return `${max}:${events.map((t) => CODES[t]).join('')}`;
}

/** The stream id right after `id` (`<ms>-<seq>`): the first one an acknowledgement keeps. */
function nextId(id: string): string {
  const [ms, seq] = id.split('-');
  return `${ms}-${(BigInt(seq ?? '0') + 1n).toString()}`;
}

/** A stream entry as a webhook event; undefined for a code this version does not know. */
function toEvent(id: string, fields: string[]): WebhookEvent | undefined {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] as string, fields[i + 1] as string);
  const type = TYPES.get(f.get('t') ?? '');
  const roomId = f.get('r');
  if (type === undefined || roomId === undefined) return undefined;
  const userId = f.get('u');
  const timestamp = new Date(Number(id.split('-')[0])).toISOString();
  return userId === undefined ? { id, type, roomId, timestamp } : { id, type, roomId, userId, timestamp };
}

/**
 * The pending webhook events of the whole hub, in the Redis stream `P wh` that the presence
 * scripts append to. The stream holds only pending events: an acknowledgement trims it, so they
 * survive the death of any process, and whichever process holds the delivery lease next resumes
 * after the last acknowledged one.
 */
export class RedisWebhookQueue implements WebhookQueue {
  private readonly stream: string;
  private readonly dropped: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly leaseKey: string,
    private readonly holder: string,
    private readonly errors: RedisErrors,
  ) {
    this.stream = `${prefix}wh`;
    this.dropped = `${prefix}wh:dropped`;
    redis.defineCommand('roomcastWebhookAck', { numberOfKeys: 2, lua: ACK_LUA });
  }

  async peek(max: number): Promise<WebhookEvent[]> {
    const entries = await this.errors.guard('webhook-read', this.redis.xrange(this.stream, '-', '+', 'COUNT', max));
    const out: WebhookEvent[] = [];
    for (const [id, fields] of entries) {
      const ev = toEvent(id, fields);
      if (ev !== undefined) out.push(ev);
    }
    return out;
  }

  async ack(lastId: string): Promise<boolean> {
    const call = this.redis.roomcastWebhookAck(this.leaseKey, this.stream, this.holder, nextId(lastId));
    return (await this.errors.guard('webhook-ack', call, { lastId })) === 1;
  }

  /** Other processes append without telling this one: look again after a short pause. */
  wait(maxMs: number, signal: AbortSignal): Promise<void> {
    return delay(Math.min(maxMs, WEBHOOK_POLL_MS), undefined, { signal }).catch(() => undefined);
  }

  async takeDropped(): Promise<number> {
    return Number((await this.errors.guard('webhook-dropped', this.redis.getdel(this.dropped))) ?? 0);
  }
}
