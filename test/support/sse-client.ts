// The one SSE reader of the tests: a raw HTTP response over a real socket, its exact bytes kept and
// its frames parsed as they arrive (no client library, no reconnects in between).
import { request, type ClientRequest, type IncomingMessage } from 'node:http';

/** One parsed SSE frame (or comment). */
export interface Frame {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
  comment?: string;
}

/** A raw SSE reader over a real socket: keeps the exact bytes and parses frames as they arrive. */
export class RawStream {
  /** The status of an accepted stream (a refusal is a `Refused`). */
  readonly status = 200;
  raw = '';
  readonly frames: Frame[] = [];
  closed = false;
  private buf = '';
  private waiters: (() => void)[] = [];

  constructor(readonly res: IncomingMessage, private readonly req: ClientRequest) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.raw += chunk;
      const { frames, rest } = takeFrames(this.buf + chunk);
      this.buf = rest;
      this.frames.push(...frames);
      this.wake();
    });
    const end = (): void => {
      this.closed = true;
      this.wake();
    };
    res.on('end', end);
    res.on('close', end);
    res.on('error', end);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Frames that are events (not comments or retry). */
  get events(): Frame[] {
    return this.frames.filter((f) => f.event !== undefined || f.data !== undefined);
  }

  /** Published events (those with an id), in arrival order. */
  get published(): Frame[] {
    return this.frames.filter((f) => f.id !== undefined);
  }

  /** Heartbeat comments received so far. */
  get pings(): number {
    return this.frames.filter((f) => f.comment === 'ping').length;
  }

  /** The stream's connection id, from its `connected` event. */
  get connectionId(): string {
    return this.dataOf<{ connectionId: string }>('connected')[0]?.connectionId ?? '';
  }

  /** Parsed JSON data of the events of one type. */
  dataOf<T = Record<string, unknown>>(type: string): T[] {
    return this.events.filter((f) => (f.event ?? 'message') === type).map((f) => JSON.parse(f.data ?? 'null') as T);
  }

  /** Waits until `pred` holds, or fails after `timeoutMs`. */
  async until(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got frames: ${JSON.stringify(this.frames.slice(-10))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for the first event of a type (that `pred` admits) and returns its parsed data. */
  async next<T = Record<string, unknown>>(type: string, timeoutMs = 5000, pred: (d: T) => boolean = () => true): Promise<T> {
    let found: T | undefined;
    await this.until(() => {
      for (const f of this.events) {
        if ((f.event ?? 'message') !== type) continue;
        const d = JSON.parse(f.data ?? 'null') as T;
        if (pred(d)) {
          found = d;
          return true;
        }
      }
      return false;
    }, timeoutMs, `event "${type}"`);
    return found as T;
  }

  /** Waits for the stream to end. */
  async ended(timeoutMs = 5000): Promise<void> {
    await this.until(() => this.closed, timeoutMs, 'the stream to end');
  }

  /** Ends the request from the client side. */
  close(): void {
    this.req.destroy();
    this.res.destroy();
  }
}

/** Splits complete frames (blank-line terminated, LF line ends as the hub writes them) off a buffer. */
export function takeFrames(buf: string): { frames: Frame[]; rest: string } {
  const frames: Frame[] = [];
  let start = 0;
  let i: number;
  while ((i = buf.indexOf('\n\n', start)) >= 0) {
    frames.push(parseBlock(buf.slice(start, i)));
    start = i + 2;
  }
  return { frames, rest: buf.slice(start) };
}

function parseBlock(block: string): Frame {
  const f: Frame = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      f.comment = line.slice(1).trim();
      continue;
    }
    const idx = line.indexOf(':');
    const field = idx < 0 ? line : line.slice(0, idx);
    let value = idx < 0 ? '' : line.slice(idx + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') f.data = f.data === undefined ? value : `${f.data}\n${value}`;
    else if (field === 'id') f.id = value;
    else if (field === 'event') f.event = value;
    else if (field === 'retry') f.retry = Number(value);
  }
  return f;
}

/** The answer to a stream request that was refused (not 200). */
export interface Refused {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** Opens `GET path` as a raw stream; resolves with the stream on 200, or the refusal otherwise. */
export function openStream(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<RawStream | Refused> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, baseUrl), { method: 'GET', headers: { accept: 'text/event-stream', ...headers } });
    req.on('response', (res) => {
      if (res.statusCode === 200) return resolve(new RawStream(res, req));
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('stream request timed out')));
    req.end();
  });
}

/** Opens a stream and fails the test unless it is accepted. */
export async function mustStream(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<RawStream> {
  const s = await openStream(baseUrl, path, headers);
  if (!(s instanceof RawStream)) throw new Error(`stream refused: ${s.status} ${s.body}`);
  await s.next('connected');
  return s;
}

/**
 * Proves absence without a sleep: `publish` publishes a marker event and answers its id; this waits
 * for the marker on every stream. A stream gets events in id order, so once the marker is in, every
 * event published before it has arrived or never will. Answers the marker's id.
 */
export async function throughMarker(streams: RawStream[], publish: () => Promise<string>, timeoutMs = 5000): Promise<string> {
  const id = await publish();
  for (const s of streams) await s.until(() => s.events.some((f) => f.id === id), timeoutMs, `the marker ${id}`);
  return id;
}
