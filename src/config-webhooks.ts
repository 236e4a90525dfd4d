/** The webhook variables (WEBHOOK_*): where and what the hub reports. */
import { WEBHOOK_TYPES, type WebhookType } from './core/webhooks.js';
import { ConfigError } from './config-error.js';
import { durationVar, type Env } from './config-vars.js';

/** Default time a webhook batch is retried before it is given up, in seconds (5 minutes). */
export const WEBHOOK_RETRY_FOR_SEC = 300;
/** Minimum WEBHOOK_SECRET length, in bytes. */
export const MIN_WEBHOOK_SECRET_BYTES = 32;
/** Where and what the hub reports by webhook (WEBHOOK_*). */
export interface WebhookConfig {
  readonly url: string;
  readonly secret: string;
  /** The event types reported (WEBHOOK_EVENTS), in WEBHOOK_TYPES order. */
  readonly events: readonly WebhookType[];
  /** How long one batch is retried before it is given up, ms. */
  readonly retryForMs: number;
}

/**
 * WEBHOOK_URL with its secret, events and retry window; undefined without a URL (the other three
 * are still checked, so a typo never passes silently).
 */
export function webhookVars(env: Env): WebhookConfig | undefined {
  const eventsRaw = env.WEBHOOK_EVENTS?.trim();
  const named = eventsRaw ? eventsRaw.split(',').map((s) => s.trim()).filter(Boolean) : [...WEBHOOK_TYPES];
  for (const name of named) {
    if (!(WEBHOOK_TYPES as readonly string[]).includes(name)) {
      throw new ConfigError('WEBHOOK_EVENTS', `unknown event "${name}" (known: ${WEBHOOK_TYPES.join(', ')})`);
    }
  }
  if (named.length === 0) throw new ConfigError('WEBHOOK_EVENTS', `must name at least one of ${WEBHOOK_TYPES.join(', ')}`);
  const events: WebhookType[] = WEBHOOK_TYPES.filter((t) => named.includes(t));
  const retryForMs = durationVar(env, 'WEBHOOK_RETRY_FOR', WEBHOOK_RETRY_FOR_SEC) * 1000;
  const url = env.WEBHOOK_URL?.trim() || undefined;
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('WEBHOOK_URL', 'must be an http:// or https:// URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError('WEBHOOK_URL', `must be an http:// or https:// URL, not ${parsed.protocol}`);
  }
  const secret = env.WEBHOOK_SECRET ?? '';
  if (secret === '') throw new ConfigError('WEBHOOK_SECRET', `is required with WEBHOOK_URL (at least ${MIN_WEBHOOK_SECRET_BYTES} bytes)`);
  if (Buffer.byteLength(secret) < MIN_WEBHOOK_SECRET_BYTES) {
    throw new ConfigError('WEBHOOK_SECRET', `must be at least ${MIN_WEBHOOK_SECRET_BYTES} bytes`);
  }
  return Object.freeze({ url: parsed.href, secret, events: Object.freeze(events), retryForMs });
}

