// A subscription against a scripted SSE server over real sockets: resuming with Last-Event-ID,
// dropping an overlapping replay, stopping on refusals, retrying what can succeed later, a new
// token after a 401, shutdown's retryMs, a silent stream, gaps, and how listeners are named.
import jwt from 'jsonwebtoken';
import { afterEach, describe, expect, it } from 'vitest';
import { RoomcastClient } from '../../src/client/client.js';
import { connectedFrame, errorAnswer, eventFrame, ns, record, scriptedServer, sseHead, type ScriptedServer } from './support.js';

let server: ScriptedServer | undefined;
let client: RoomcastClient | undefined;

afterEach(async () => {
  client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

const id = (n: number): string => String(n).padStart(16, '0');

describe('a subscription', () => {
  it('resumes after a drop with Last-Event-ID and hands an overlapping replay once, in order', async () => {
    server = await scriptedServer((n, _req, res) => {
      sseHead(res);
      if (n === 0) res.end(`retry: 20\n\n${connectedFrame()}${eventFrame(1)}${eventFrame(2)}${eventFrame(3)}`);
      // The hub would replay after 3; this one also sends 2 and 3 again.
      else res.write(`${connectedFrame('c2')}${eventFrame(2)}${eventFrame(3)}${eventFrame(4)}: ping\n\n${eventFrame(5)}`);
    });
    client = new RoomcastClient({ url: server.url, token: 't' });
    const sub = client.subscribe({ rooms: ['news', 'chat'], metadata: { device: 'web' } });
    const rec = record(sub);
    await rec.until('event 5', () => ns(rec).includes(5));
    expect(ns(rec)).toEqual([1, 2, 3, 4, 5]);
    expect(sub.duplicatesDropped).toBe(2);
    expect(sub.lastEventId).toBe(id(5));
    const [first, second] = server.requests;
    expect(first?.headers['last-event-id']).toBeUndefined();
    expect(second?.headers['last-event-id']).toBe(id(3));
    expect(second?.headers.authorization).toBe('Bearer t');
    expect(new URL(second?.url ?? '', server.url).search).toBe('?rooms=news%2Cchat&meta.device=web');
    expect(rec.states.slice(0, 4)).toEqual(['connecting', 'open', 'reconnecting', 'open']);
  });

  it('starts from a given lastEventId and surfaces a history gap', async () => {
    server = await scriptedServer((_n, _req, res) => {
      sseHead(res);
      res.write(`${connectedFrame()}event: history-gap\ndata: {"lastEventId":"${id(7)}","oldestAvailable":"${id(20)}"}\n\n${eventFrame(21)}`);
    });
    client = new RoomcastClient({ url: server.url, token: 't' });
    const sub = client.subscribe({ lastEventId: id(7) });
    const gaps: unknown[] = [];
    sub.on('gap', (g) => gaps.push(g));
    const rec = record(sub);
    await rec.until('event 21', () => ns(rec).includes(21));
    expect(server.requests[0]?.headers['last-event-id']).toBe(id(7));
    expect(gaps).toEqual([{ lastEventId: id(7), oldestAvailable: id(20) }]);
  });

  it('retries a 503 (Retry-After) and a 429 too_many_connections, then stops for good on a 403', async () => {
    server = await scriptedServer((n, _req, res) => {
      if (n === 0) errorAnswer(res, 503, 'unavailable', { 'Retry-After': '0' });
      else if (n === 1) errorAnswer(res, 429, 'too_many_connections');
      else errorAnswer(res, 403, 'forbidden');
    });
    client = new RoomcastClient({ url: server.url, token: 't', backoff: { baseMs: 10 } });
    const sub = client.subscribe({ rooms: ['admin'] });
    const rec = record(sub);
    await rec.until('closed', () => sub.state === 'closed');
    expect(rec.errors).toEqual([
      { code: 'unavailable', status: 503 }, { code: 'too_many_connections', status: 429 }, { code: 'forbidden', status: 403 },
    ]);
    expect(rec.states).toEqual(['connecting', 'reconnecting', 'closed']);
    expect(server.requests).toHaveLength(3);
  });

  it('after a 401 gets a new token from getToken once and reopens with it', async () => {
    const tokens = ['first', 'second'];
    let asked = 0;
    server = await scriptedServer((n, _req, res) => {
      if (n === 0) errorAnswer(res, 401, 'unauthenticated');
      else {
        sseHead(res);
        res.write(`${connectedFrame()}${eventFrame(1)}`);
      }
    });
    client = new RoomcastClient({ url: server.url, getToken: () => tokens[asked++] ?? 'none' });
    const rec = record(client.subscribe());
    await rec.until('event 1', () => ns(rec).includes(1));
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(['Bearer first', 'Bearer second']);
    expect(asked).toBe(2);
  });

  it('with cookie authentication, closes on token-expired (nothing to renew) and says why', async () => {
    server = await scriptedServer((_n, _req, res) => {
      sseHead(res);
      res.end(`${connectedFrame()}${eventFrame(1)}event: token-expired\ndata: {"reason":"token expired"}\n\n`);
    });
    client = new RoomcastClient({ url: server.url, credentials: 'include' });
    const sub = client.subscribe();
    const rec = record(sub);
    await rec.until('closed', () => sub.state === 'closed');
    expect(server.requests[0]?.headers.authorization).toBeUndefined();
    expect(rec.log).toEqual(['connected', 'token-expired']);
    expect(rec.errors).toEqual([{ code: 'token_expired', status: 401 }]);
    expect(server.requests).toHaveLength(1);
  });

  it('after shutdown waits its retryMs and resumes; a silent stream is dropped and reopened', async () => {
    server = await scriptedServer((n, _req, res) => {
      sseHead(res);
      if (n === 0) res.end(`${connectedFrame()}${eventFrame(1)}retry: 30\n\nevent: shutdown\ndata: {"reason":"restart","retryMs":30}\n\n`);
      else if (n === 1) res.write(`${connectedFrame('c2')}${eventFrame(2)}`); // then silence
      else res.write(`${connectedFrame('c3')}${eventFrame(3)}`);
    });
    client = new RoomcastClient({ url: server.url, token: 't', idleTimeoutMs: 300 });
    const rec = record(client.subscribe());
    await rec.until('event 3', () => ns(rec).includes(3));
    expect(ns(rec)).toEqual([1, 2, 3]);
    expect(rec.log.filter((l) => l === 'shutdown')).toHaveLength(1);
    expect(rec.errors).toEqual([{ code: 'timeout', status: 0 }]);
    expect(server.requests.map((r) => r.headers['last-event-id'])).toEqual([undefined, id(1), id(2)]);
  });

  it('delivers published events under their type and to `event`; a reserved type name only to `event`', async () => {
    server = await scriptedServer((_n, _req, res) => {
      sseHead(res);
      res.write(`${connectedFrame()}${eventFrame(1, 'news')}${eventFrame(2, 'state')}${eventFrame(3, 'connected')}${eventFrame(4, 'news')}`);
    });
    client = new RoomcastClient({ url: server.url, token: 't' });
    const sub = client.subscribe<{ news: { n: number } }>();
    const news: number[] = [];
    const states: unknown[] = [];
    let connected = 0;
    sub.on('news', (e) => news.push(e.data.n));
    sub.on('state', (s) => states.push(s));
    sub.on('connected', () => (connected += 1));
    const rec = record(sub as never);
    await rec.until('event 4', () => ns(rec).includes(4));
    expect(news).toEqual([1, 4]);
    expect(rec.events.map((e) => e.type)).toEqual(['news', 'state', 'connected', 'news']);
    expect(states).toEqual(['connecting', 'open']);
    expect(connected).toBe(1);
  });

  it('renews its token before exp and switches to a new stream without a gap or a repeat', async () => {
    const now = Math.floor(Date.now() / 1000);
    // Lives 4 s: renewed a second before it expires.
    const tokens = [jwt.sign({ sub: 'a', iat: now, exp: now + 4 }, 'k'), jwt.sign({ sub: 'a', iat: now, exp: now + 3600 }, 'k')];
    let asked = 0;
    server = await scriptedServer((n, _req, res) => {
      sseHead(res);
      // The first stream goes on after the second opened (as the hub's would until exp).
      if (n === 0) {
        res.write(`${connectedFrame()}${eventFrame(1)}${eventFrame(2)}`);
        const t = setInterval(() => res.write(eventFrame(3)), 50);
        res.on('close', () => clearInterval(t));
      } else res.write(`${connectedFrame('c2')}${eventFrame(2)}${eventFrame(3)}${eventFrame(4)}`);
    });
    client = new RoomcastClient({ url: server.url, getToken: () => tokens[asked++] ?? 'none' });
    const sub = client.subscribe();
    const rec = record(sub);
    await rec.until('event 4', () => ns(rec).includes(4));
    expect(ns(rec)).toEqual([1, 2, 3, 4]);
    expect(server.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${tokens[0]}`, `Bearer ${tokens[1]}`]);
    expect(server.requests[1]?.headers['last-event-id']).toMatch(/^000000000000000[23]$/);
    // The switch never looked like a drop.
    expect(rec.states).toEqual(['connecting', 'open']);
    expect(sub.connected?.connectionId).toBe('c2');
  });
});
