import { createHmac } from 'node:crypto';
import type { WebhookEvent } from '../core/webhooks.js';

/** A POST without an answer after this long counts as failed (and is retried), in milliseconds. */
export const WEBHOOK_TIMEOUT_MS = 5_000;

/** What one POST came to. */
export type SendResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`: the X-Roomcast-Signature header's value. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The wire form of one event, keys in the documented order. */
function wire(ev: WebhookEvent): object {
  return ev.userId === undefined
    ? { id: ev.id, type: ev.type, roomId: ev.roomId, timestamp: ev.timestamp }
    : { id: ev.id, type: ev.type, roomId: ev.roomId, userId: ev.userId, timestamp: ev.timestamp };
}

/**
 * Sends one batch to WEBHOOK_URL as a signed POST. Each attempt is signed anew (the timestamp is
 * the attempt's, so a receiver can refuse stale ones); the body of a retried batch is the same.
 */
export class WebhookSender {
  constructor(
    private readonly url: string,
    private readonly secret: string,
    private readonly timeoutMs: number = WEBHOOK_TIMEOUT_MS,
  ) {}

  /** POSTs the batch; ok on a 2xx answer. Never throws. */
  async send(events: readonly WebhookEvent[], signal: AbortSignal): Promise<SendResult> {
    const body = JSON.stringify({ events: events.map(wire) });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'roomcast-webhooks',
          'x-roomcast-timestamp': timestamp,
          'x-roomcast-signature': webhookSignature(this.secret, timestamp, body),
        },
        body,
        // A redirect is not an acknowledgement: the receiver is configured wrongly, so retry.
        redirect: 'manual',
        signal: AbortSignal.any([signal, timeout]),
      });
      // The answer's body is not read, only released; the timeout still covers it.
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true };
      return { ok: false, reason: `answered ${res.status}` };
    } catch (err) {
      if (timeout.aborted) return { ok: false, reason: `no answer within ${this.timeoutMs} ms` };
      if (signal.aborted) return { ok: false, reason: 'stopped' };
      return { ok: false, reason: (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message };
    }
  }
}
