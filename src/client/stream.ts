/** One `GET /events` over fetch: headers (Authorization, Last-Event-ID) that EventSource cannot send. */
import { RoomcastError } from './errors.js';
import type { Credentials } from './types.js';
import { errorFromResponse, failureError } from './http.js';
import { SseParser, type SseFrame } from './sse-parser.js';

/** What one stream reports to its subscription. */
export interface StreamCallbacks {
  frame(frame: SseFrame): void;
  retry(ms: number): void;
  /** The stream is over: ended by the hub (no error) or failed. Never called after `abort()`. */
  end(err: RoomcastError | undefined): void;
}

/** How to open one stream. */
export interface StreamRequest {
  url: string;
  token: string | undefined;
  lastEventId: string | null;
  credentials: Credentials;
  /** Silence (no byte, not even a heartbeat) this long drops the stream; 0: never. */
  idleTimeoutMs: number;
}

/** One open (or opening) stream. */
export class SseStream {
  /** The token it was opened with. */
  readonly token: string | undefined;
  /** Set when the hub said why it ends the stream (`token-expired`, `token-revoked`). */
  endedBy: 'token_expired' | 'token_revoked' | null = null;
  private readonly ctrl = new AbortController();
  private idle: ReturnType<typeof setTimeout> | undefined;
  private idleFired = false;
  private over = false;

  constructor(private readonly req: StreamRequest, private readonly cb: StreamCallbacks) {
    this.token = req.token;
    void this.run();
  }

  /** True once it ended, failed or was aborted: its frames no longer count. */
  get done(): boolean {
    return this.over;
  }

  /** Closes it without a callback. */
  abort(): void {
    if (this.over) return;
    this.over = true;
    clearTimeout(this.idle);
    this.ctrl.abort();
  }

  private touch(): void {
    if (this.req.idleTimeoutMs <= 0) return;
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      this.idleFired = true;
      this.ctrl.abort();
    }, this.req.idleTimeoutMs);
  }

  private finish(err: RoomcastError | undefined): void {
    if (this.over) return;
    this.over = true;
    clearTimeout(this.idle);
    this.ctrl.abort();
    this.cb.end(err);
  }

  private async run(): Promise<void> {
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (this.req.token !== undefined) headers.Authorization = `Bearer ${this.req.token}`;
    if (this.req.lastEventId !== null) headers['Last-Event-ID'] = this.req.lastEventId;
    this.touch();
    try {
      const res = await fetch(this.req.url, { headers, credentials: this.req.credentials, signal: this.ctrl.signal, cache: 'no-store' });
      if (!res.ok) {
        this.finish(await errorFromResponse(res));
        return;
      }
      if (!/^text\/event-stream/i.test(res.headers.get('Content-Type') ?? '') || res.body === null) {
        this.finish(new RoomcastError('invalid_stream', 'the answer is not an event stream', { status: res.status }));
        return;
      }
      const parser = new SseParser({
        frame: (f) => {
          if (!this.over) this.cb.frame(f);
        },
        retry: (ms) => {
          if (!this.over) this.cb.retry(ms);
        },
      });
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.over) break;
        this.touch();
        parser.push(decoder.decode(value, { stream: true }));
      }
      this.finish(undefined);
    } catch (err) {
      if (this.over) return;
      this.finish(this.idleFired ? new RoomcastError('timeout', 'the stream went silent', { cause: err }) : failureError(err, false));
    }
  }
}
