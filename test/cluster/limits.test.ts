// The per-user limits hold hub-wide: two nodes on one Redis (each with its own Redis clients and
// HTTP server) share rooms per user, the request rate and membership expiry.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.js';
import { REDIS_URL, deletePrefix } from '../support/redis-keys.js';
import { waitFor } from '../support/wait.js';

const prefix = `test-limits-${randomBytes(4).toString('hex')}:`;
let a: TestHub;
let b: TestHub;
beforeAll(async () => {
  const env = {
    REDIS_URL, REDIS_PREFIX: prefix, MAX_ROOMS_PER_USER: '3', USER_RATE_LIMIT: '6', USER_ROOMS_TTL: '1s', HEARTBEAT_MS: '500',
  };
  a = await startTestHub({ ...env, NODE_ID: 'limits-a' });
  b = await startTestHub({ ...env, NODE_ID: 'limits-b' });
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await deletePrefix(prefix);
});

const post = (hub: TestHub, path: string, token: string, json?: unknown) =>
  hub.call(path, { method: 'POST', token, ...(json === undefined ? {} : { json }) });

describe('limits across two processes on Redis', () => {
  it('counts rooms per user hub-wide: connection rooms on one node and memberships made on the other', async () => {
    const t = a.token('spread');
    const onA = await a.stream('/events?rooms=x1,x2', t);
    expect((await post(b, '/rooms/x3/join', t)).status).toBe(200);
    await onA.next('room-joined');
    const over = await post(b, '/rooms/x4/join', t);
    expect(over.status).toBe(429);
    expect(await over.json()).toMatchObject({ error: { code: 'too_many_rooms' } });
    const refused = await b.call('/events?rooms=x5', { token: t });
    expect(refused.status).toBe(429);
    // Nothing changed: a marker sent after the refusals is the next thing the stream gets.
    expect((await post(a, '/broadcast/user/spread', a.token('svc', 'publisher'), { type: 'marker', data: 1 })).status).toBe(202);
    await onA.next('marker');
    expect(onA.dataOf<{ roomId: string }>('room-joined').map((d) => d.roomId)).toEqual(['x3']);
  });

  it('holds the room limit exactly against parallel joins and parallel stream opens on one process', async () => {
    const c = await startTestHub({ REDIS_URL, REDIS_PREFIX: prefix, MAX_ROOMS_PER_USER: '3', USER_RATE_LIMIT: '1000', NODE_ID: 'limits-c' });
    try {
      const t = c.token('racer');
      const stream = await c.stream('/events', t);
      const joins = await Promise.all(Array.from({ length: 10 }, (_, i) => post(c, `/rooms/race${i}/join`, t)));
      expect(joins.map((r) => r.status).sort()).toEqual([200, 200, 200, 429, 429, 429, 429, 429, 429, 429]);
      for (let i = 0; i < 3; i++) await stream.next('room-joined');
      const later = await c.stream('/events', t);
      expect((await later.next<{ rooms: string[] }>('connected')).rooms.filter((r) => r.startsWith('race'))).toHaveLength(3);
      // Four streams of a new user, each asking for two rooms, in parallel: one fits, three do not.
      const u = c.token('opener');
      const opens = await Promise.all([0, 1, 2, 3].map((i) => c.call(`/events?rooms=k${i}a,k${i}b`, { token: u })));
      expect(opens.map((r) => r.status).sort()).toEqual([200, 429, 429, 429]);
      for (const r of opens) await r.body?.cancel();
    } finally {
      await c.close();
    }
  });

  it('counts join, leave and chat requests per user across processes', async () => {
    const t = a.token('busy');
    const answers: number[] = [];
    for (let i = 0; i < 4; i++) answers.push((await post(i % 2 === 0 ? a : b, `/rooms/busy${i % 2}/join`, t)).status);
    for (let i = 0; i < 2; i++) answers.push((await post(b, '/rooms/busy0/leave', t)).status);
    expect(answers).toEqual([200, 200, 200, 200, 200, 200]);
    const limited = await post(a, '/rooms/busy1/join', t);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await limited.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect((await post(b, '/rooms/busy1/join', a.token('calm'))).status).toBe(200);
  });

  it('expires a user-level membership USER_ROOMS_TTL after the user\'s last stream anywhere closed', async () => {
    const t = a.token('fading');
    const s = await b.stream('/events', t);
    expect((await post(a, '/rooms/fade/join', t)).status).toBe(200);
    await s.next('room-joined');
    s.close();
    const again = await a.stream('/events', t);
    expect((await again.next<{ rooms: string[] }>('connected')).rooms).toContain('fade');
    again.close();
    // Gone once no stream was open for the TTL: read from Redis through a fresh connect.
    await waitFor('the membership to expire', async () => {
      const r = await b.call('/rooms', { token: b.token('root', 'admin') });
      const rooms = ((await r.json()) as { rooms: { roomId: string }[] }).rooms.map((x) => x.roomId);
      if (rooms.includes('user:fading')) return false;
      const { Redis } = await import('ioredis');
      const redis = new Redis(REDIS_URL);
      try {
        return (await redis.exists(`${prefix}ur:fading`)) === 0;
      } finally {
        redis.disconnect();
      }
    }, 10_000, 200);
  });
});
