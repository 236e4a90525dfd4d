// Operators across two processes on one Redis (each with its own Redis clients and HTTP server):
// a disconnect or revoke asked of one node acts on the streams of both, and a node started later
// loads the revocations kept in Redis.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.js';
import { mint } from '../support/tokens.js';
import { REDIS_URL, deletePrefix } from '../support/redis-keys.js';
import { openStream, RawStream } from '../support/sse-client.js';

const prefix = `test-operators-${randomBytes(4).toString('hex')}:`;
const env = { REDIS_URL, REDIS_PREFIX: prefix, HEARTBEAT_MS: '500' };
let a: TestHub;
let b: TestHub;
const extra: TestHub[] = [];
beforeAll(async () => {
  a = await startTestHub({ ...env, NODE_ID: 'operators-a' });
  b = await startTestHub({ ...env, NODE_ID: 'operators-b' });
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), ...extra.map((h) => h.close())]);
  await deletePrefix(prefix);
});

const nowSec = (): number => Math.floor(Date.now() / 1000);
const post = (hub: TestHub, path: string, token: string, json: unknown) => hub.call(path, { method: 'POST', token, json });
const admin = (): string => a.token('root', 'admin');

/** Publishes a marker to everyone from `hub`: a stream that gets it got everything sent to it before. */
async function marker(hub: TestHub): Promise<void> {
  expect((await post(hub, '/broadcast', hub.token('svc', 'publisher'), { type: 'marker', data: null })).status).toBe(202);
}

describe('operators across two processes on Redis', () => {
  it('disconnects a user\'s streams on both nodes, counted hub-wide; other users stay', async () => {
    const t = a.token('mia');
    const onA = await a.stream('/events', t);
    const onB = await b.stream('/events', t);
    const bystander = await b.stream('/events', b.token('ned'));
    const r = await post(a, '/admin/disconnect', admin(), { userId: 'mia', reason: 'role changed' });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ disconnected: 2 });
    for (const s of [onA, onB]) {
      expect(await s.next('disconnected')).toEqual({ reason: 'role changed' });
      await s.ended();
    }
    await marker(a);
    await bystander.next('marker');
    expect(bystander.closed).toBe(false);
  });

  it('disconnects one stream on the other node by its connection id', async () => {
    const t = a.token('ola');
    const target = await b.stream('/events', t);
    const kept = await a.stream('/events', t);
    const { connectionId } = await target.next<{ connectionId: string }>('connected');
    expect(await (await post(a, '/admin/disconnect', admin(), { connectionId })).json()).toEqual({ disconnected: 1 });
    await target.next('disconnected');
    await target.ended();
    await marker(b);
    await kept.next('marker');
    expect(kept.closed).toBe(false);
  });

  it('answers 0 for a user with no stream anywhere; refuses non-admins and bad bodies on any node', async () => {
    expect(await (await post(b, '/admin/disconnect', b.token('root', 'admin'), { userId: 'ghost' })).json()).toEqual({ disconnected: 0 });
    for (const path of ['/admin/disconnect', '/admin/revoke']) {
      const forbidden = await post(b, path, b.token('pia'), { userId: 'pia' });
      expect(forbidden.status).toBe(403);
      expect(await forbidden.json()).toMatchObject({ error: { code: 'forbidden' } });
      const bad = await post(b, path, b.token('root', 'admin'), { userId: 'pia', connectionId: 'x', before: 'soon' });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: { code: 'invalid_request', details: expect.any(Array) } });
    }
  });

  it('revokes on every node: streams end with `token-revoked`, the tokens are refused on both, later ones work', async () => {
    const old = mint('quinn', 'user', { iat: nowSec() - 10 });
    const onA = await a.stream('/events', old);
    const onB = await b.stream('/events', old);
    const r = await post(a, '/admin/revoke', admin(), { userId: 'quinn' });
    expect(r.status).toBe(200);
    const { before } = (await r.json()) as { before: string };
    for (const s of [onA, onB]) {
      await s.next('token-revoked');
      await s.ended();
    }
    // b ended its stream, so it holds the revocation: its REST and stream doors refuse the token too
    for (const hub of [a, b]) {
      expect((await hub.call('/rooms', { token: old })).status).toBe(401);
      expect((await hub.call('/auth/refresh', { method: 'POST', token: old })).status).toBe(401);
      expect(await openStream(hub.url, '/events', { authorization: `Bearer ${old}` })).toMatchObject({ status: 401 });
    }
    const later = mint('quinn', 'user', { iat: Math.floor(Date.parse(before) / 1000) + 1 });
    expect((await b.call('/rooms', { token: later })).status).toBe(200);

    // kept in Redis: a node started afterwards loads it
    const c = await startTestHub({ ...env, NODE_ID: 'operators-c' });
    extra.push(c);
    expect((await c.call('/rooms', { token: old })).status).toBe(401);
    const fresh = await openStream(c.url, '/events', { authorization: `Bearer ${later}` });
    expect(fresh).toBeInstanceOf(RawStream);
    (fresh as RawStream).close();
  });

  it('re-reads the revocations kept in Redis, so a node whose bus missed one still ends the streams (within the resync period)', async () => {
    const old = mint('rita', 'user', { iat: nowSec() - 10 });
    const onB = await b.stream('/events', old);
    // As if another node recorded it while this one's subscription was down: in Redis, not on the bus.
    const { Redis } = await import('ioredis');
    const redis = new Redis(REDIS_URL);
    try {
      await redis.zadd(`${prefix}revoked`, nowSec(), 'rita');
    } finally {
      redis.disconnect();
    }
    await onB.next('token-revoked', 15_000);
    await onB.ended();
    expect((await b.call('/rooms', { token: old })).status).toBe(401);
  });
});
