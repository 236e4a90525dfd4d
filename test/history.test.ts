import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './support/hub.js';
import { mint } from './support/tokens.js';
import { waitFor } from './support/wait.js';

/** A publisher's token (the hub verifies with the test secret). */
const svc = mint('svc', 'publisher');

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub({ HISTORY_SIZE: '50', RETRY_MS: '200' });
});
afterAll(async () => hub.close());

const publish = async (json: unknown): Promise<string> => {
  const r = await hub.call('/broadcast', { method: 'POST', token: svc, json });
  expect(r.status).toBe(202);
  return ((await r.json()) as { id: string }).id;
};

describe('Last-Event-ID replay', () => {
  it('a real EventSource that drops and reconnects gets the missed events in order, without duplicates', async () => {
    const token = hub.token('es-user');
    const seen: { id: string; n: number }[] = [];
    const errors: number[] = [];
    // Each stream's body passes through a switch of ours, so the test can end the connection as a network would.
    const cuts: (() => void)[] = [];
    const es = new EventSource(`${hub.url}/events?rooms=replay`, {
      fetch: async (input, init) => {
        const res = await fetch(input, { ...init, headers: { ...init?.headers, authorization: `Bearer ${token}` } });
        if (res.body === null) return res;
        const reader = res.body.getReader();
        let ended = false;
        let ctrl: ReadableStreamDefaultController<Uint8Array> | undefined;
        const body = new ReadableStream<Uint8Array>({
          start: (c) => { ctrl = c; },
          pull: async (c) => {
            const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
            if (ended) return;
            if (done) c.close();
            else c.enqueue(value);
          },
          cancel: () => reader.cancel(),
        });
        cuts.push(() => {
          ended = true;
          ctrl?.close();
          void reader.cancel();
        });
        return new Response(body, { status: res.status, headers: res.headers });
      },
    });
    try {
      const opened = new Promise<void>((resolve) => es.addEventListener('connected', () => resolve(), { once: true }));
      es.addEventListener('tick', (e) => seen.push({ id: e.lastEventId, n: (JSON.parse(e.data) as { data: number }).data }));
      es.addEventListener('error', () => errors.push(Date.now()));
      await opened;
      for (let i = 0; i < 5; i++) await publish({ type: 'tick', room: 'replay', data: i });
      await waitFor('the first five ticks', () => seen.length === 5, 5000);
      // Cut the connection; the client reconnects with Last-Event-ID.
      for (const cut of cuts.splice(0)) cut();
      for (let i = 5; i < 15; i++) await publish({ type: 'tick', room: 'replay', data: i });
      await waitFor('all fifteen ticks', () => seen.length >= 15, 10_000);
      expect(errors.length).toBeGreaterThanOrEqual(1);
      expect(seen.map((s) => s.n)).toEqual(Array.from({ length: 15 }, (_, i) => i));
      expect(new Set(seen.map((s) => s.id)).size).toBe(15);
    } finally {
      es.close();
    }
  });

  it('replays only what the connection is entitled to, then live events, with no gap or duplicate under concurrent publishing', async () => {
    const first = await publish({ type: 'p', room: 'mine', data: -1 });
    const publishing = (async () => {
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push(await publish({ type: 'p', room: 'mine', data: i }));
      return ids;
    })();
    await publish({ type: 'p', room: 'others', data: 'not for me' });
    await publish({ type: 'p', userId: 'someone-else', data: 'private' });
    const s = await hub.stream('/events?rooms=mine', hub.token('replayer'), { 'last-event-id': first });
    const ids = await publishing;
    await s.until(() => s.events.filter((f) => f.event === 'p').length >= 40, 5000, 'all 40 events');
    const got = s.events.filter((f) => f.event === 'p').map((f) => f.id);
    expect(got).toEqual(ids);
    expect(s.events.some((f) => f.event === 'history-gap')).toBe(false);
    const datas = s.dataOf<{ data: unknown }>('p').map((d) => d.data);
    expect(datas).not.toContain('not for me');
    expect(datas).not.toContain('private');
  });

  it('takes lastEventId from the query, and the header wins over it', async () => {
    const a = await publish({ type: 'q', data: 'a' });
    const b = await publish({ type: 'q', data: 'b' });
    await publish({ type: 'q', data: 'c' });
    const viaQuery = await hub.stream(`/events?lastEventId=${a}`, hub.token('lq'));
    await viaQuery.until(() => viaQuery.dataOf('q').length === 2, 3000, 'two replayed');
    expect(viaQuery.dataOf<{ data: string }>('q').map((d) => d.data)).toEqual(['b', 'c']);
    const both = await hub.stream(`/events?lastEventId=${a}`, hub.token('lq'), { 'last-event-id': b });
    await both.until(() => both.dataOf('q').length === 1, 3000, 'one replayed');
    expect(both.dataOf<{ data: string }>('q').map((d) => d.data)).toEqual(['c']);
  });

  it('sends history-gap first when the id is older than the oldest kept or unknown', async () => {
    const old = await publish({ type: 'g', data: 'old' });
    for (let i = 0; i < 55; i++) await publish({ type: 'g', data: i });
    const s = await hub.stream('/events', hub.token('gapper'), { 'last-event-id': old });
    const gap = await s.next<{ lastEventId: string; oldestAvailable: string }>('history-gap');
    expect(gap.lastEventId).toBe(old);
    const info = (await (await hub.call('/stats', { token: svc })).json()) as { history: { size: number; oldestId: string } };
    expect(info.history.size).toBe(50);
    expect(gap.oldestAvailable).toBe(info.history.oldestId);
    const afterConnected = s.events.filter((f) => f.event !== 'connected');
    expect(afterConnected[0]?.event).toBe('history-gap');
    expect(afterConnected[0]?.id).toBeUndefined();
    await s.until(() => s.dataOf('g').length >= 50, 3000, 'the kept events');
    const unknown = await hub.stream('/events', hub.token('gapper'), { 'last-event-id': 'not-an-id\u00e9' });
    expect(await unknown.next('history-gap')).toMatchObject({ lastEventId: 'not-an-id\u00e9' });
  });
});

describe('GET /events/history', () => {
  it('answers kept events after an id that the caller may see, oldest first, with limit and room', async () => {
    const start = await publish({ type: 'h', data: 'start' });
    await publish({ type: 'h', data: 'everyone' });
    await publish({ type: 'h', room: 'open', data: 'room' });
    await publish({ type: 'h', room: 'admin', data: 'admins only' });
    await publish({ type: 'h', userId: 'hist-user', data: 'mine' });
    await publish({ type: 'h', userId: 'other', data: 'theirs' });
    await publish({ type: 'h', room: 'user:other', data: 'their room' });
    await publish({ type: 'h', filters: { plan: 'pro' }, data: 'pro only' });
    const t = hub.token('hist-user');
    const r = await hub.call(`/events/history?after=${start}`, { token: t });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { events: { data: string; id: string }[]; oldestAvailable: string; gap: boolean };
    expect(body.events.map((e) => e.data)).toEqual(['everyone', 'room', 'mine']);
    expect(body.gap).toBe(false);
    expect(Object.keys(body.events[0]!)).toEqual(['id', 'type', 'data', 'room', 'userId', 'sender', 'timestamp']);
    const withMeta = (await (await hub.call(`/events/history?after=${start}&meta.plan=pro`, { token: t })).json()) as typeof body;
    expect(withMeta.events.map((e) => e.data)).toContain('pro only');
    const limited = (await (await hub.call(`/events/history?after=${start}&limit=2`, { token: t })).json()) as typeof body;
    expect(limited.events.map((e) => e.data)).toEqual(['everyone', 'room']);
    const room = (await (await hub.call(`/events/history?after=${start}&room=open`, { token: t })).json()) as typeof body;
    expect(room.events.map((e) => e.data)).toEqual(['room']);
    expect((await hub.call(`/events/history?room=admin`, { token: t })).status).toBe(403);
    const admin = (await (await hub.call(`/events/history?after=${start}`, { token: hub.token('boss', 'admin') })).json()) as typeof body;
    expect(admin.events.map((e) => e.data)).toEqual(['everyone', 'room', 'admins only', 'their room']);
  });

  it('reports a gap for an unknown id and validates limit', async () => {
    const t = hub.token('hist-user');
    const body = (await (await hub.call('/events/history?after=0000000000000001', { token: t })).json()) as { gap: boolean; oldestAvailable: string };
    expect(body.gap).toBe(true);
    expect(typeof body.oldestAvailable).toBe('string');
    for (const bad of ['0', '1001', 'x', '-1']) {
      const r = await hub.call(`/events/history?limit=${bad}`, { token: t });
      expect(r.status).toBe(400);
      expect(await r.json()).toMatchObject({ error: { code: 'invalid_request', details: [{ path: 'query.limit' }] } });
    }
    expect((await hub.call('/events/history')).status).toBe(401);
  });
});
