// A socket stand-in for unit tests of Connection and ConnectionManager, and connections built on it.
import { randomBytes } from 'node:crypto';
import { Connection, type SseSink } from '../../src/core/connection.js';
import type { Metadata } from '../../src/core/events.js';
import type { Role } from '../../src/core/principal.js';

/** A sink that records what was written; once `stall()`ed, written bytes stay unsent (a reader that stopped reading). */
export class FakeSink implements SseSink {
  /** Every chunk handed over, in order (a writev's chunks one by one). */
  readonly chunks: Buffer[] = [];
  /** How many write calls and writev calls were made. */
  readonly calls = { write: 0, writev: 0 };
  writableLength = 0;
  closed = false;
  ended = false;
  destroyed = false;
  private stalled = false;

  write(chunk: Buffer): boolean {
    this.calls.write++;
    this.take([chunk]);
    return !this.stalled;
  }

  writev(chunks: readonly Buffer[]): void {
    this.calls.writev++;
    this.take(chunks);
  }

  end(): void {
    this.closed = true;
    this.ended = true;
  }

  destroy(): void {
    this.closed = true;
    this.destroyed = true;
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  /** From now on, written bytes count as queued and unsent. */
  stall(): void {
    this.stalled = true;
  }

  /** Everything written so far, as text. */
  get text(): string {
    return Buffer.concat(this.chunks).toString();
  }

  /** The ids of the published events written so far, in order. */
  get ids(): string[] {
    return [...this.text.matchAll(/^id: (.*)$/gm)].map((m) => m[1]!);
  }

  private take(chunks: readonly Buffer[]): void {
    for (const c of chunks) {
      this.chunks.push(c);
      if (this.stalled) this.writableLength += c.length;
    }
  }
}

/** A Connection whose sink is a FakeSink. */
export type FakeConnection = Connection & { readonly sink: FakeSink };

let seq = 0;

/** A connection of `userId` on a FakeSink, in `rooms`; live unless `replaying` is set. */
export function fakeConnection(userId: string, rooms: string[] = [], opts: {
  id?: string; role?: Role; metadata?: Metadata; exp?: number; maxBufferedBytes?: number; replaying?: boolean;
} = {}): FakeConnection {
  const conn = new Connection(
    opts.id ?? `c${++seq}-${randomBytes(3).toString('hex')}`, userId, opts.role ?? 'user', opts.metadata ?? {},
    opts.exp ?? Math.floor(Date.now() / 1000) + 3600, new FakeSink(), Date.now(), opts.maxBufferedBytes ?? 1 << 20,
  );
  for (const r of rooms) conn.rooms.add(r);
  if (opts.replaying !== true) conn.goLive();
  return conn as FakeConnection;
}
