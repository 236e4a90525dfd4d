import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './support/hub.js';
import { throughMarker, type RawStream } from './support/sse-client.js';
import { mint } from './support/tokens.js';

/** A publisher's token (the hub verifies with the test secret). */
const svc = mint('billing', 'publisher');

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub({ MAX_EVENT_BYTES: '2048' });
});
afterAll(async () => hub.close());

const publish = (json: unknown, path = '/broadcast', headers: Record<string, string> = {}) =>
  hub.call(path, { method: 'POST', token: svc, json, headers });

/** Publishes a marker to everyone and waits for it, proving every earlier event had its chance to arrive. */
const settle = (streams: RawStream[]): Promise<string> => throughMarker(streams, () => hub.publish({ type: 'marker' }));

/** The hub's `/stats`, as an admin reads it. */
async function stats(): Promise<{ totalConnections: number; events: { published: number } }> {
  return (await (await hub.call('/stats', { token: hub.token('stats-reader', 'admin') })).json()) as { totalConnections: number; events: { published: number } };
}

describe('POST /broadcast', () => {
  it('reaches everyone, a room, a user or one connection, and counts recipients', async () => {
    const a1 = await hub.stream('/events?rooms=red', hub.token('pa'));
    const a2 = await hub.stream('/events', hub.token('pa'));
    const b = await hub.stream('/events?rooms=red,blue', hub.token('pb'));
    const c = await hub.stream('/events?rooms=blue', hub.token('pc'));
    const all = [a1, a2, b, c];
    const base = (await stats()).totalConnections;

    const everyone = (await (await publish({ type: 'all', data: 1 })).json()) as { recipients: number };
    expect(everyone.recipients).toBe(base);
    expect((await (await publish({ type: 'to-room', room: 'red', data: 2 })).json())).toMatchObject({ recipients: 2 });
    expect((await (await publish({ type: 'to-user', userId: 'pa', data: 3 })).json())).toMatchObject({ recipients: 2 });
    const connId = (await a2.next<{ connectionId: string }>('connected')).connectionId;
    expect((await (await publish({ type: 'to-conn', connectionId: connId, data: 4 })).json())).toMatchObject({ recipients: 1 });
    await settle(all);

    const types = (s: RawStream) => s.events.filter((f) => f.id !== undefined && f.event !== 'marker').map((f) => f.event);
    expect(types(a1)).toEqual(['all', 'to-room', 'to-user']);
    expect(types(a2)).toEqual(['all', 'to-user', 'to-conn']);
    expect(types(b)).toEqual(['all', 'to-room']);
    expect(types(c)).toEqual(['all']);
  });

  it('room and user aliases put the target in the path', async () => {
    const s = await hub.stream('/events?rooms=alias', hub.token('alias-user'));
    const r1 = await publish({ type: 'via-room', data: null }, '/broadcast/room/alias');
    const r2 = await publish({ type: 'via-user', data: { ok: true } }, '/broadcast/user/alias-user');
    expect(r1.status).toBe(202);
    expect(r2.status).toBe(202);
    const e1 = await s.next<{ room: string; userId: null }>('via-room');
    const e2 = await s.next<{ room: null; userId: string }>('via-user');
    expect(e1).toMatchObject({ room: 'alias', userId: null });
    expect(e2).toMatchObject({ room: null, userId: 'alias-user' });
    expect((await publish({ type: 'x', room: 'other' }, '/broadcast/room/alias')).status).toBe(400);
  });

  it('narrows any target by metadata filters', async () => {
    const web = await hub.stream('/events?rooms=filt&meta.device=web&meta.tier=gold', hub.token('fa'));
    const mobile = await hub.stream('/events?rooms=filt&meta.device=mobile', hub.token('fb'));
    const r = await publish({ type: 'filtered', room: 'filt', filters: { device: 'web' }, data: 1 });
    expect(await r.json()).toMatchObject({ recipients: 1 });
    await publish({ type: 'filtered-all', filters: { tier: 'gold', device: 'web' }, data: 2 });
    await settle([web, mobile]);
    expect(web.events.map((f) => f.event)).toEqual(expect.arrayContaining(['filtered', 'filtered-all']));
    expect(mobile.events.map((f) => f.event)).not.toContain('filtered');
    expect(mobile.events.map((f) => f.event)).not.toContain('filtered-all');
  });

  it('gives ids that increase strictly in publish order', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(((await (await publish({ type: 'seq', data: i })).json()) as { id: string }).id);
    for (let i = 1; i < ids.length; i++) {
      expect(ids[i]! > ids[i - 1]!).toBe(true);
      expect(BigInt(ids[i]!) > BigInt(ids[i - 1]!)).toBe(true);
    }
  });

  it('refuses an encoded event over MAX_EVENT_BYTES with 413, and publishes nothing', async () => {
    const before = (await stats()).events.published;
    const r = await publish({ type: 'big', data: 'x'.repeat(2100) });
    expect(r.status).toBe(413);
    expect(await r.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    const huge = await publish({ type: 'big', data: 'x'.repeat(200_000) });
    expect(huge.status).toBe(413);
    expect((await stats()).events.published).toBe(before);
    expect((await publish({ type: 'fits', data: 'x'.repeat(1500) })).status).toBe(202);
  });

  it('answers a repeated Idempotency-Key with the first answer and publishes once', async () => {
    const s = await hub.stream('/events', hub.token('idem'));
    const key = `key-${Math.random()}`;
    const first = await publish({ type: 'once', data: 1 }, '/broadcast', { 'idempotency-key': key });
    const again = await publish({ type: 'once', data: 1 }, '/broadcast', { 'idempotency-key': key });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    const a = await first.json();
    expect(await again.json()).toEqual(a);
    await settle([s]);
    expect(s.events.filter((f) => f.event === 'once')).toHaveLength(1);
    const other = await publish({ type: 'once', data: 1 }, '/broadcast', { 'idempotency-key': `${key}-2` });
    expect(((await other.json()) as { id: string }).id).not.toBe((a as { id: string }).id);
  });

  it('refuses an Idempotency-Key reused with another request (other data, or another endpoint) and publishes nothing', async () => {
    const s = await hub.stream('/events?rooms=idem-room', hub.token('idem2'));
    const key = `reuse-${Math.random()}`;
    expect((await publish({ type: 'first', data: 1 }, '/broadcast', { 'idempotency-key': key })).status).toBe(202);
    for (const [body, path] of [
      [{ type: 'first', data: 2 }, '/broadcast'],
      [{ type: 'first', data: 1 }, '/broadcast/room/idem-room'],
      [{ events: [{ type: 'first', data: 1 }] }, '/broadcast/batch'],
    ] as const) {
      const r = await publish(body, path, { 'idempotency-key': key });
      expect(r.status, path).toBe(400);
      expect(await r.json()).toMatchObject({ error: { code: 'invalid_request', details: [{ path: 'Idempotency-Key' }] } });
    }
    await settle([s]);
    expect(s.events.filter((f) => f.event === 'first')).toHaveLength(1);
  });

  it('needs role publisher or admin', async () => {
    const r = await hub.call('/broadcast', { method: 'POST', token: hub.token('plain'), json: { type: 'x' } });
    expect(r.status).toBe(403);
    expect(await r.json()).toMatchObject({ error: { code: 'forbidden' } });
    expect((await hub.call('/broadcast', { method: 'POST', token: hub.token('boss', 'admin'), json: { type: 'x' } })).status).toBe(202);
    expect((await hub.call('/broadcast', { method: 'POST', json: { type: 'x' } })).status).toBe(401);
  });

  it('refuses more than one target, unknown fields, bad types and bad names with 400 naming the fields', async () => {
    const cases: [unknown, string][] = [
      [{ type: 'x', room: 'a', userId: 'b' }, 'room'],
      [{ type: 'x', extra: 1 }, ''],
      [{ type: 5 }, 'type'],
      [{ type: 'bad\ntype' }, 'type'],
      // The hub's own stream events are not for publishers to imitate.
      [{ type: 'shutdown' }, 'type'],
      [{ type: 'connected' }, 'type'],
      [{ type: 'history-gap' }, 'type'],
      [{ type: 'x', room: 'a\r\nid: 1' }, 'room'],
      [{ type: 'x', filters: { k: 5 } }, 'filters.k'],
      [{ type: 'x', connectionId: 'no such\n' }, 'connectionId'],
      [[1, 2], ''],
    ];
    for (const [body, path] of cases) {
      const r = await publish(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      const err = ((await r.json()) as { error: { code: string; details: { path: string }[] } }).error;
      expect(err.code).toBe('invalid_request');
      if (path !== '') expect(err.details.map((d) => d.path)).toContain(path);
    }
  });

  it('404s a connectionId that is not open', async () => {
    const r = await publish({ type: 'x', connectionId: 'nope' });
    expect(r.status).toBe(404);
    expect(await r.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});

describe('POST /broadcast/batch', () => {
  it('publishes up to 100 events in the given order and answers their ids', async () => {
    const s = await hub.stream('/events?rooms=batch', hub.token('batcher'));
    const events = Array.from({ length: 100 }, (_, i) => ({ type: 'b', room: 'batch', data: i }));
    const r = await publish({ events }, '/broadcast/batch');
    expect(r.status).toBe(202);
    const { ids } = (await r.json()) as { ids: string[] };
    expect(ids).toHaveLength(100);
    await s.until(() => s.events.filter((f) => f.event === 'b').length === 100, 5000, '100 batch events');
    expect(s.events.filter((f) => f.event === 'b').map((f) => f.id)).toEqual(ids);
    expect(s.dataOf<{ data: number }>('b').map((e) => e.data)).toEqual(events.map((e) => e.data));
  });

  it('refuses 101 events, and publishes nothing when one event is bad, too big or aimed at a closed connection', async () => {
    const before = (await stats()).events.published;
    const tooMany = await publish({ events: Array.from({ length: 101 }, () => ({ type: 'b' })) }, '/broadcast/batch');
    expect(tooMany.status).toBe(400);
    const oneBad = await publish({ events: [{ type: 'ok' }, { type: 'no good' }] }, '/broadcast/batch');
    expect(oneBad.status).toBe(400);
    expect(await oneBad.json()).toMatchObject({ error: { details: [{ path: 'events.1.type' }] } });
    const oneBig = await publish({ events: [{ type: 'ok' }, { type: 'big', data: 'x'.repeat(3000) }] }, '/broadcast/batch');
    expect(oneBig.status).toBe(413);
    const oneGone = await publish({ events: [{ type: 'ok' }, { type: 'ok', connectionId: 'not-open' }] }, '/broadcast/batch');
    expect(oneGone.status).toBe(404);
    expect((await stats()).events.published).toBe(before);
  });
});
