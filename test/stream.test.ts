import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './support/hub.js';
import { openStream, RawStream } from './support/sse-client.js';
import { waitFor } from './support/wait.js';

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub({ HEARTBEAT_MS: '300', RETRY_MS: '1234', MAX_CONNECTIONS_PER_USER: '3' });
});
afterAll(async () => hub.close());

describe('GET /events', () => {
  it('answers the contract headers, retry first, then connected, with no id on control events', async () => {
    const t = hub.token('stream-a');
    const s = await openStream(hub.url, '/events?rooms=lobby,news', { authorization: `Bearer ${t}`, 'accept-encoding': 'gzip, br' });
    expect(s).toBeInstanceOf(RawStream);
    const st = s as RawStream;
    expect(st.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(st.res.headers['cache-control']).toBe('no-cache, no-transform');
    expect(st.res.headers['x-accel-buffering']).toBe('no');
    expect(st.res.headers['content-encoding']).toBeUndefined();
    const connected = await st.next<Record<string, unknown>>('connected');
    expect(st.raw.startsWith('retry: 1234\n\nevent: connected\ndata: {')).toBe(true);
    expect(connected).toMatchObject({ userId: 'stream-a', role: 'user', nodeId: hub.running.hub ? expect.any(String) : '' });
    expect(connected.rooms).toEqual(['user:stream-a', 'lobby', 'news']);
    expect(typeof connected.connectionId).toBe('string');
    expect(Number.isNaN(Date.parse(String(connected.serverTime)))).toBe(false);
    // Control frames carry no id line.
    const controlBlock = st.raw.split('\n\n').find((b) => b.startsWith('event: connected'));
    expect(controlBlock).not.toMatch(/^id:/m);
    st.close();
  });

  it('writes each published event as one exact frame as soon as it is published', async () => {
    const s = await hub.stream('/events?rooms=frames', hub.token('stream-b'));
    const pub = await hub.call('/broadcast', { method: 'POST', token: hub.token('svc', 'publisher'), json: { type: 'price', room: 'frames', data: { a: 1, s: 'x\ny' } } });
    expect(pub.status).toBe(202);
    const { id } = (await pub.json()) as { id: string };
    await s.next('price');
    const block = s.raw.split('\n\n').find((b) => b.startsWith(`id: ${id}`));
    const lines = block?.split('\n') ?? [];
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(`id: ${id}`);
    expect(lines[1]).toBe('event: price');
    expect(lines[2]?.startsWith('data: ')).toBe(true);
    const data = JSON.parse(lines[2]!.slice(6)) as Record<string, unknown>;
    expect(Object.keys(data)).toEqual(['id', 'type', 'data', 'room', 'userId', 'sender', 'timestamp']);
    expect(data).toMatchObject({ id, type: 'price', data: { a: 1, s: 'x\ny' }, room: 'frames', userId: null, sender: 'svc' });
    expect(new Date(String(data.timestamp)).toISOString()).toBe(data.timestamp);
  });

  it('sends a ": ping" comment every HEARTBEAT_MS', async () => {
    const s = await hub.stream('/events', hub.token('stream-c'));
    await s.until(() => s.frames.filter((f) => f.comment === 'ping').length >= 2, 3000, 'two pings');
    expect(s.raw).toContain('\n\n: ping\n\n');
  });

  it('refuses a room the caller may not join with 403 before any stream byte', async () => {
    const r = await openStream(hub.url, '/events?rooms=admin', { authorization: `Bearer ${hub.token('stream-d')}` });
    expect(r).not.toBeInstanceOf(RawStream);
    const refused = r as { status: number; body: string; headers: Record<string, unknown> };
    expect(refused.status).toBe(403);
    expect(refused.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'forbidden' } });
  });

  it('refuses a stream without a token with 401 and WWW-Authenticate: Bearer', async () => {
    const r = await openStream(hub.url, '/events');
    const refused = r as { status: number; body: string; headers: Record<string, unknown> };
    expect(refused.status).toBe(401);
    expect(String(refused.headers['www-authenticate'])).toMatch(/^Bearer/);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'unauthenticated' } });
  });

  it('answers 429 too_many_connections past MAX_CONNECTIONS_PER_USER', async () => {
    const t = hub.token('stream-many');
    const streams = [];
    for (let i = 0; i < 3; i++) streams.push(await hub.stream('/events', t));
    const r = await openStream(hub.url, '/events', { authorization: `Bearer ${t}` });
    expect((r as { status: number }).status).toBe(429);
    expect(JSON.parse((r as { body: string }).body)).toMatchObject({ error: { code: 'too_many_connections' } });
    streams[0]!.close();
    // Once one closes, a new one is admitted (the hub notices the close a moment later).
    const again = await waitFor('a stream admitted again', async () => {
      const s = await openStream(hub.url, '/events', { authorization: `Bearer ${t}` });
      return s instanceof RawStream ? s : undefined;
    }, 5000, 50);
    again.close();
  });

  it('holds MAX_CONNECTIONS_PER_USER when many connects race', async () => {
    const t = hub.token('stream-race');
    const all = await Promise.all(Array.from({ length: 8 }, () => openStream(hub.url, '/events', { authorization: `Bearer ${t}` })));
    const admitted = all.filter((s): s is RawStream => s instanceof RawStream);
    expect(admitted).toHaveLength(3);
    for (const s of all) {
      if (s instanceof RawStream) s.close();
      else expect(s.status).toBe(429);
    }
  });

  it('sends token-expired and ends the stream when the token expires', async () => {
    const s = await hub.stream('/events', hub.token('stream-exp', 'user', {}, 2));
    const expired = await s.next('token-expired', 5000);
    expect(expired).toHaveProperty('expiredAt');
    await s.ended(3000);
    const last = s.events[s.events.length - 1];
    expect(last?.event).toBe('token-expired');
    expect(last?.id).toBeUndefined();
  });

  it('takes the token from the access_token query parameter and from the cookie', async () => {
    const t = hub.token('stream-q');
    const viaQuery = await openStream(hub.url, `/events?access_token=${t}`);
    expect(viaQuery).toBeInstanceOf(RawStream);
    (viaQuery as RawStream).close();
    const viaCookie = await openStream(hub.url, '/events', { cookie: `other=1; roomcast_token=${t}` });
    expect(viaCookie).toBeInstanceOf(RawStream);
    (viaCookie as RawStream).close();
  });
});
