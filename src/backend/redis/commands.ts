/**
 * The Lua commands the Redis backend defines with `defineCommand`, declared on ioredis's client
 * types by module augmentation, so calling them needs no casts. Each is defined by the class
 * that runs it (broker.ts, confirm.ts, presence.ts, lease.ts, idempotency.ts, webhook-queue.ts),
 * beside its Lua.
 */
import type { ClientContext, Result } from 'ioredis';

/** Arguments of a presence script: its routing key, prefix, node id, key TTL (ms), then the script's own. */
type PresenceArgs = (string | number)[];

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    /** Key count, then keys (seq, history, bus[, answer]), then the arguments broker-lua.ts describes. */
    roomcastPublish(numberOfKeys: number, ...keysAndArgs: (string | number)[]): Result<string[], Context>;
    roomcastConfirm(history: string, marker: string, ...ids: string[]): Result<string[], Context>;
    roomcastSwap(key: string, expected: string, replacement: string, ttlMs: number): Result<number, Context>;
    roomcastHistoryInfo(history: string): Result<[number, string | null, string | null], Context>;
    roomcastLeaseRenew(key: string, holder: string, ttlMs: number): Result<number, Context>;
    roomcastLeaseRelease(key: string, holder: string): Result<number, Context>;
    roomcastWebhookAck(lease: string, stream: string, holder: string, keepFrom: string): Result<number, Context>;
    roomcastPresenceOpened(...args: PresenceArgs): Result<string[] | number, Context>;
    roomcastPresenceClosed(...args: PresenceArgs): Result<string[], Context>;
    roomcastPresenceMembership(...args: PresenceArgs): Result<number, Context>;
    roomcastPresenceRead(...args: PresenceArgs): Result<unknown, Context>;
    roomcastPresenceHeartbeat(...args: PresenceArgs): Result<[number, ...string[]], Context>;
    roomcastPresenceReap(...args: PresenceArgs): Result<string[], Context>;
    roomcastPresenceResync(...args: PresenceArgs): Result<unknown, Context>;
    roomcastPresenceLeave(...args: PresenceArgs): Result<unknown, Context>;
    roomcastPresenceUserRoom(...args: PresenceArgs): Result<number, Context>;
  }
}
