import type { Connection } from './connection.js';
import type { HubContext } from './context.js';
import { encodeControl } from './frame.js';
import type { ControlMessage } from './ports.js';

/** How often each process re-reads the revocations from the store, in case its bus missed one (Redis down). */
export const REVOCATIONS_RESYNC_MS = 10_000;

/** What `disconnect` ends: every stream of a user, or one stream. */
export type DisconnectTarget = { userId: string; connectionId?: undefined } | { connectionId: string; userId?: undefined };

/**
 * The operators' use-case: ending streams (`disconnect`, a nudge to reconnect, not a ban) and
 * revoking a user's tokens. Both act on every process through a control message on the bus.
 */
export class Operators {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: HubContext) {}

  /** Loads the kept revocations (after the bus subscription, so none published meanwhile is missed) and keeps re-reading them. */
  async start(): Promise<void> {
    await this.ctx.revocations.load();
    if (!this.ctx.directory.distributed) return;
    this.timer = setInterval(() => this.ctx.life.track('revocations resync', this.resync()), REVOCATIONS_RESYNC_MS);
    this.timer.unref();
  }

  /** Stops re-reading the revocations. */
  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Ends the matching streams on every process, each after `disconnected {reason}`. Answers how
   * many there were: exact on one process; across processes, as the directory counts them.
   */
  async disconnect(target: DisconnectTarget, reason: string): Promise<number> {
    const { life, directory, broker } = this.ctx;
    life.assertOpen();
    const userId = target.userId ?? null;
    const connectionId = target.connectionId ?? null;
    const n = await directory.targetCount({ room: null, userId, connectionId, filters: null });
    // Sent even when the count is 0: a stream still being admitted elsewhere may not be counted yet.
    await broker.publishControl({ kind: 'disconnect', userId, connectionId, reason });
    return n;
  }

  /**
   * Refuses, on every process, the user's tokens issued at or before `beforeMs`: kept in the
   * store first (a process starting later loads it), then told to every process on the bus.
   */
  async revoke(userId: string, beforeMs: number): Promise<void> {
    const { life, revocations, broker } = this.ctx;
    life.assertOpen();
    const before = Math.floor(beforeMs / 1000);
    await revocations.record(userId, before);
    await broker.publishControl({ kind: 'revoke', userId, before });
  }

  /** Applies a disconnect or revoke that any process published, to this process's streams. */
  apply(msg: Extract<ControlMessage, { kind: 'disconnect' | 'revoke' }>): void {
    if (msg.kind === 'revoke') {
      this.ctx.revocations.apply(msg.userId, msg.before);
      this.endRevoked(msg.userId);
      return;
    }
    const { manager } = this.ctx;
    const frame = encodeControl('disconnected', { reason: msg.reason });
    const targets = msg.connectionId !== null ? [manager.get(msg.connectionId)] : [...manager.ofUser(msg.userId ?? '')];
    for (const conn of targets) if (conn !== undefined) manager.finish(conn, 'disconnected', frame);
  }

  /** Ends a stream admitted while its token was being revoked (the check at the door came first). */
  recheck(conn: Connection): void {
    if (conn.closed === null && this.ctx.revocations.refuses(conn.userId, conn.iat)) this.end(conn);
  }

  /** Ends the user's streams on this process whose tokens are now revoked. */
  private endRevoked(userId: string): void {
    for (const conn of [...this.ctx.manager.ofUser(userId)]) this.recheck(conn);
  }

  private end(conn: Connection): void {
    this.ctx.manager.finish(conn, 'token-revoked', encodeControl('token-revoked', { reason: 'token revoked' }));
  }

  /** Re-reads the store; streams of users whose revocation this process had missed end now. */
  private async resync(): Promise<void> {
    for (const { userId } of await this.ctx.revocations.load()) this.endRevoked(userId);
  }
}
