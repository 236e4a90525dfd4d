// A raw Server-Sent Events reader for the deploy tests: every frame with its
// arrival time, with nothing (no reconnects, no parsing library) in between.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { takeFrames } from '../support/sse-client.js';

export interface SseEvent { id: string | undefined; event: string; data: string; at: number }

/** A raw SSE reader over node:http: every frame with its arrival time, nothing in between. */
export class RawStream {
  readonly events: SseEvent[] = [];
  res!: IncomingMessage;
  /** Set when the server ended the response (or the connection dropped). */
  ended = false;
  private buf = '';
  private readonly req;

  constructor(url: string, headers: Record<string, string>) {
    this.req = httpRequest(url, { headers: { Accept: 'text/event-stream', ...headers } });
  }

  open(): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      this.req.once('error', reject);
      this.req.once('response', (res) => {
        this.res = res;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.feed(chunk, performance.now()));
        res.on('error', () => undefined);
        res.once('close', () => { this.ended = true; });
        resolve(res);
      });
      this.req.end();
    });
  }

  private feed(chunk: string, at: number): void {
    const { frames, rest } = takeFrames(this.buf + chunk);
    this.buf = rest;
    for (const f of frames) {
      if (f.data !== undefined) this.events.push({ id: f.id, event: f.event ?? 'message', data: f.data, at });
    }
  }

  close(): void {
    this.req.destroy();
  }
}
