import { entitled, type Receiver } from './entitlement.js';
import type { HubEvent, Metadata } from './events.js';
import type { Role } from './principal.js';

/** Where a stream's bytes go: the socket, as the HTTP layer hands it over. */
export interface SseSink {
  /** Queues bytes; false when the kernel buffer is full (the bytes are still queued). */
  write(chunk: Buffer): boolean;
  /** Queues several chunks as one vectored write. */
  writev(chunks: readonly Buffer[]): void;
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
export type CloseReason = 'client' | 'evicted' | 'token-expired' | 'token-revoked' | 'disconnected' | 'shutdown';

/** Up to this many queued bytes are joined into one buffer before writing. */
const COALESCE_COPY_BYTES = 65_536;

/** What `send` did with a frame. */
export enum Sent {
  /** Queued behind frames already waiting for this tick's flush. */
  Queued = 0,
  /** Queued as the first frame since the last flush: the caller must schedule this connection's flush. */
  First = 1,
  /** Over MAX_BUFFERED_BYTES: the caller must evict the connection. */
  Over = 2,
  /** Dropped: a duplicate, or the connection is closed. */
  Dropped = 3,
}

/** One frame held back while history replays. */
interface Held {
  frame: Buffer;
  id: string | undefined;
}

/** One open stream and everything the hub knows about it. Small on purpose: no timers or closures. */
export class Connection implements Receiver {
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
  /** Frames waiting for the tick's flush: one socket write per connection per tick, however many events. */
  private out: Buffer | Buffer[] | null = null;
  private outBytes = 0;
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
    /** When the stream's token was issued (its `iat`), seconds since the epoch; undefined when it has none. */
    readonly iat: number | undefined = undefined,
    /** The stream's token's `rooms` claim (undefined: no narrowing): what this connection may join, whoever asks. */
    readonly roomClaim: readonly string[] | undefined = undefined,
  ) {
    this.lastActivity = connectedAt;
  }

  /** True while history replays and live frames are held back. */
  get replaying(): boolean {
    return this.held !== null;
  }

  /** This stream's id, as a receiver of events. */
  get connectionId(): string {
    return this.id;
  }

  /** True when this connection is in the room. */
  inRoom(room: string): boolean {
    return this.rooms.has(room);
  }

  /** True when the event's target and filters admit this connection. */
  entitled(ev: HubEvent): boolean {
    return entitled(ev, this);
  }

  /** Sends a live frame: held while history replays, else queued for the tick's flush. */
  send(frame: Buffer, id: string | undefined, now: number): Sent {
    if (this.closed !== null) return Sent.Dropped;
    if (this.held !== null) {
      this.held.push({ frame, id });
      this.heldBytes += frame.length;
      return this.heldBytes + this.sink.writableLength > this.maxBufferedBytes ? Sent.Over : Sent.Queued;
    }
    if (id !== undefined) {
      // Ids are fixed-width, so string comparison is id order.
      if (this.lastId !== null && id <= this.lastId) return Sent.Dropped;
      this.lastId = id;
    }
    this.lastActivity = now;
    // Queued frames are shared buffers (no per-connection copy); what counts is what the socket holds.
    if (this.sink.writableLength > this.maxBufferedBytes) return Sent.Over;
    this.outBytes += frame.length;
    const out = this.out;
    if (out === null) {
      this.out = frame;
      return Sent.First;
    }
    if (Array.isArray(out)) out.push(frame);
    else this.out = [out, frame];
    return Sent.Queued;
  }

  /** Writes the queued frames as one chunk. False when the connection is over its byte bound. */
  flush(): boolean {
    const out = this.out;
    if (out === null) return true;
    this.out = null;
    const bytes = this.outBytes;
    this.outBytes = 0;
    if (this.closed !== null) return true;
    if (!Array.isArray(out)) this.sink.write(out);
    // Small batches are copied into one chunk; large ones go as a vectored write without a copy.
    else if (bytes <= COALESCE_COPY_BYTES) this.sink.write(Buffer.concat(out, bytes));
    else this.sink.writev(out);
    return this.sink.writableLength <= this.maxBufferedBytes;
  }

  /** Writes a replayed event straight to the sink, remembering its id for de-duplication. */
  writeReplayed(frame: Buffer, id: string): void {
    this.flush();
    this.sink.write(frame);
    this.lastId = id;
  }

  /** Writes a frame straight to the sink, bypassing the replay queue (stream preamble). */
  writeNow(frame: Buffer): void {
    this.flush();
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
