/**
 * The Lua commands the Redis backend defines with `defineCommand`, declared on ioredis's client
 * types by module augmentation, so calling them needs no casts. Each is defined by the class
 * that runs it (broker.ts, presence.ts, lease.ts, webhook-queue.ts), beside its Lua.
 */
import type { ClientContext, Result } from 'ioredis';

/** Arguments of a presence script: prefix, node id, key TTL (ms), then the script's own. */
type PresenceArgs = (string | number)[];

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    roomcastPublish(
      seq: string, history: string, channel: string, maxlen: number, header: string,
      afterId: string, afterDataId: string, data: string, afterData: string,
    ): Result<string, Context>;
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
