import type { HubEvent, Metadata, Role } from './types.js';

/** Where a stream's bytes go: the socket, as the HTTP layer hands it over. */
export interface SseSink {
  /** Queues bytes; false when the kernel buffer is full (the bytes are still queued). */
  write(chunk: Buffer): boolean;
  /** Bytes queued and not yet handed to the kernel. */
  readonly writableLength: number;
  /** Sends what is queued, then closes. */
  end(): void;
  /** Closes now, dropping what is queued. */
  destroy(): void;
  /** Resolves when the queue has drained (or the sink closed). */
  drained(): Promise<void>;
  /** True once the peer is gone or the sink was ended. */
  readonly closed: boolean;
}

/** Why a stream was closed by the hub. */
export type CloseReason = 'client' | 'evicted' | 'token-expired' | 'shutdown';

/** One frame held back while history replays. */
interface Held {
  frame: Buffer;
  id: string | undefined;
}

/** One open stream and everything the hub knows about it. Small on purpose: no timers or closures. */
export class Connection {
  /** Rooms this connection is in. */
  readonly rooms = new Set<string>();
  /** Coarse time of the last write, ms since the epoch. */
  lastActivity: number;
  /** While replaying history, live frames wait here (mercure's liveQueue). */
  private held: Held[] | null = [];
  private heldBytes = 0;
  /**
   * The newest event id written. An event can reach a connection twice (read from history
   * during replay and delivered live); ids increase, so anything not newer is a duplicate.
   */
  private lastId: string | null = null;
  closed: CloseReason | null = null;

  constructor(
    readonly id: string,
    readonly userId: string,
    readonly role: Role,
    readonly metadata: Metadata,
    /** Token expiry, seconds since the epoch. */
    readonly exp: number,
    readonly sink: SseSink,
    readonly connectedAt: number,
    private readonly maxBufferedBytes: number,
  ) {
    this.lastActivity = connectedAt;
  }

  /** True while history replays and live frames are held back. */
  get replaying(): boolean {
    return this.held !== null;
  }

  /** True when the event's target and filters admit this connection. */
  entitled(ev: HubEvent): boolean {
    if (ev.connectionId !== null) {
      if (ev.connectionId !== this.id) return false;
    } else if (ev.userId !== null) {
      if (ev.userId !== this.userId) return false;
    } else if (ev.room !== null && !this.rooms.has(ev.room)) {
      return false;
    }
    return this.matches(ev.filters);
  }

  /** True when every filter entry equals this connection's metadata. */
  matches(filters: Metadata | null): boolean {
    if (filters === null) return true;
    for (const key in filters) {
      if (this.metadata[key] !== filters[key]) return false;
    }
    return true;
  }

  /**
   * Sends a live frame, or holds it while history replays. Returns false when the
   * connection is (now) over its byte bound and must be evicted.
   */
  send(frame: Buffer, id: string | undefined, now: number): boolean {
    if (this.closed !== null) return true;
    if (this.held !== null) {
      this.held.push({ frame, id });
      this.heldBytes += frame.length;
      return this.heldBytes + this.sink.writableLength <= this.maxBufferedBytes;
    }
    if (id !== undefined) {
      // Ids are fixed-width, so string comparison is id order.
      if (this.lastId !== null && id <= this.lastId) return true;
      this.lastId = id;
    }
    this.lastActivity = now;
    this.sink.write(frame);
    return this.sink.writableLength <= this.maxBufferedBytes;
  }

  /** Writes a replayed event straight to the sink, remembering its id for de-duplication. */
  writeReplayed(frame: Buffer, id: string): void {
    this.sink.write(frame);
    this.lastId = id;
  }

  /** Writes a frame straight to the sink, bypassing the replay queue (stream preamble). */
  writeNow(frame: Buffer): void {
    this.sink.write(frame);
  }

  /** True when queued bytes exceed the bound (used during replay to await drain). */
  get congested(): boolean {
    return this.sink.writableLength + this.heldBytes > this.maxBufferedBytes / 2;
  }

  /** Ends the replay: writes held frames newer than the replay, then goes live. False when over the bound. */
  goLive(): boolean {
    const held = this.held;
    if (held === null) return true;
    this.held = null;
    this.heldBytes = 0;
    for (const h of held) {
      if (h.id !== undefined) {
        if (this.lastId !== null && h.id <= this.lastId) continue;
        this.lastId = h.id;
      }
      this.sink.write(h.frame);
    }
    return this.sink.writableLength <= this.maxBufferedBytes;
  }
}
