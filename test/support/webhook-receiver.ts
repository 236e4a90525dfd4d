// A webhook receiver on loopback for the tests: a real node:http server that checks every POST's
// signature in constant time and answers 2xx, 500, or nothing (hangs), as the test tells it.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from './wait.js';

/** One webhook event as it arrives. */
export interface ReceivedEvent {
  id: string;
  type: string;
  roomId: string;
  userId?: string;
  timestamp: string;
}

/** One POST as it arrived. */
export interface ReceivedPost {
  headers: IncomingMessage['headers'];
  body: string;
  events: ReceivedEvent[];
  /** The signature matched the body and timestamp under the secret. */
  signed: boolean;
  /** What the receiver answered: a status, or 'hang'. */
  answer: number | 'hang';
}

/** What the receiver answers: 204, 500, or nothing at all. */
export type Answer = 'ok' | 'fail' | 'hang';

/** True when `header` is `sha256=<hex HMAC of "<timestamp>.<body>">`, compared in constant time. */
export function verifySignature(secret: string, timestamp: string, body: string, header: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`);
  const got = Buffer.from(header);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** A running receiver. */
export class WebhookReceiver {
  /** Every POST, in arrival order (retries included). */
  readonly posts: ReceivedPost[] = [];
  /** What to answer once `script` is used up. */
  mode: Answer = 'ok';
  /** Answers for the next POSTs, first first. */
  readonly script: Answer[] = [];
  private readonly hanging = new Set<ServerResponse>();

  private constructor(private readonly server: Server, readonly url: string, private readonly secret: string) {}

  /** Starts a receiver on 127.0.0.1 checking signatures with `secret`. */
  static async start(secret: string): Promise<WebhookReceiver> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    const receiver = new WebhookReceiver(server, url, secret);
    server.on('request', (req, res) => receiver.handle(req, res));
    return receiver;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const timestamp = String(req.headers['x-roomcast-timestamp'] ?? '');
      const signed = verifySignature(this.secret, timestamp, body, String(req.headers['x-roomcast-signature'] ?? ''));
      let events: ReceivedEvent[] = [];
      try {
        events = (JSON.parse(body) as { events: ReceivedEvent[] }).events;
      } catch {
        // recorded with no events; the test sees it
      }
      const answer = this.script.shift() ?? this.mode;
      const post: ReceivedPost = { headers: req.headers, body, events, signed, answer: answer === 'hang' ? 'hang' : answer === 'ok' && signed ? 204 : answer === 'ok' ? 401 : 500 };
      this.posts.push(post);
      if (post.answer === 'hang') {
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        return;
      }
      res.writeHead(post.answer).end();
    });
  }

  /** POSTs answered with a 2xx. */
  get acknowledged(): ReceivedPost[] {
    return this.posts.filter((p) => p.answer === 204);
  }

  /** Events of acknowledged POSTs, in order, each id once (as a receiver dropping repeats keeps them). */
  get delivered(): ReceivedEvent[] {
    const seen = new Set<string>();
    const out: ReceivedEvent[] = [];
    for (const p of this.acknowledged) {
      for (const ev of p.events) {
        if (seen.has(ev.id)) continue;
        seen.add(ev.id);
        out.push(ev);
      }
    }
    return out;
  }

  /** Delivered events as `type room user?` strings, for compact assertions. */
  get summary(): string[] {
    return this.delivered.map((e) => [e.type, e.roomId, e.userId].filter(Boolean).join(' '));
  }

  /** Waits until `pred` holds for the delivered events; a timeout names what was delivered. */
  async until(what: string, pred: (delivered: ReceivedEvent[]) => boolean, timeoutMs = 10_000): Promise<void> {
    try {
      await waitFor(what, () => pred(this.delivered), timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}; delivered: ${JSON.stringify(this.summary)}`);
    }
  }

  /** Waits until the delivered events include one reading `type room user?`. */
  got(line: string, timeoutMs = 10_000): Promise<void> {
    return this.until(`webhook "${line}"`, () => this.summary.includes(line), timeoutMs);
  }

  /** POSTs left without an answer and still open. */
  get hangingNow(): number {
    return this.hanging.size;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
