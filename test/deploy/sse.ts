// A raw Server-Sent Events reader for the deploy tests: every frame with its
// arrival time, with nothing (no reconnects, no parsing library) in between.
import { request as httpRequest, type IncomingMessage } from 'node:http';

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
    this.buf += chunk;
    let i: number;
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const frame = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      let id: string | undefined;
      let event = 'message';
      const data: string[] = [];
      for (const line of frame.split('\n')) {
        if (line.startsWith(':')) continue;
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        const value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
        if (field === 'id') id = value;
        else if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) this.events.push({ id, event, data: data.join('\n'), at });
    }
  }

  close(): void {
    this.req.destroy();
  }
}
