// A Redis outage: streams stay open, /ready and publishing answer 503 with Retry-After, nothing
// crashes; when Redis returns, everything works again by itself within seconds (resubscription,
// presence rewritten).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../support/http.js';
import { assertBuilt, stopAll } from '../support/processes.js';
import { newPrefix } from '../support/redis-keys.js';
import { RawStream } from '../support/sse-client.js';
import { mint as token } from '../support/tokens.js';
import { waitFor } from '../support/wait.js';
import { type HubNode, type PrivateRedis, openEvents, privateRedis, startNode } from './cluster-harness.js';

const prefix = newPrefix('outage');
let redis: PrivateRedis;
let a: HubNode;
let b: HubNode;
const streams: RawStream[] = [];

/** Opens a stream that must be accepted, and waits for `connected`. */
async function open(node: HubNode, user: string, query: Record<string, string> = {}): Promise<RawStream> {
  const s = await openEvents(node.url, token(user), query);
  if (!(s instanceof RawStream)) throw new Error(`stream refused: ${s.status} ${s.body}`);
  streams.push(s);
  await s.next('connected');
  return s;
}
const pub = token('svc', 'publisher');

beforeAll(async () => {
  assertBuilt();
  redis = await privateRedis();
  const start = (id: string): Promise<HubNode> => startNode({ prefix, nodeId: `out-${id}`, redisUrl: redis.url });
  [a, b] = await Promise.all([start('a'), start('b')]);
}, 30_000);

afterAll(async () => {
  for (const s of streams) s.close();
  await stopAll();
  await redis?.stop();
}, 30_000);

describe('Redis outage', () => {
  it('keeps streams open, answers 503, and recovers without a restart', async () => {
    const sa = await open(a, 'o-alice', { rooms: 'o-room' });
    const sb = await open(b, 'o-bob', { rooms: 'o-room' });
    const ok = await api(a.url, 'POST', '/broadcast/room/o-room', { token: pub, body: { type: 'o', data: 'before' } });
    expect(ok.status).toBe(202);
    await sb.until(() => sb.published.some((f) => f.id === ok.body.id), 5000, 'before on b');

    await redis.stop();
    await waitFor('a and b not ready', async () =>
      (await api(a.url, 'GET', '/ready')).status === 503 && (await api(b.url, 'GET', '/ready')).status === 503, 10_000, 50);
    for (let i = 0; i < 5; i++) {
      const r = await api(i % 2 ? a.url : b.url, 'POST', '/broadcast', { token: pub, body: { type: 'o', data: i } });
      expect(r).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
      expect(r.headers.get('retry-after')).toBe('1');
    }
    const join = await api(a.url, 'POST', '/rooms/x-room/join', { token: token('o-alice') });
    expect(join.status).toBe(503);
    expect(join.headers.get('retry-after')).toBe('1');
    const refused = await openEvents(b.url, token('o-carol'));
    if (refused instanceof RawStream) streams.push(refused);
    expect(refused.status).toBe(503);
    // rate-limit counters live in Redis too: a login cannot be counted, so it is refused, not let through
    const login = await api(b.url, 'POST', '/auth/login', { body: { username: 'someone', password: 'x' } });
    expect(login).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
    expect(login.headers.get('retry-after')).toBe('1');
    expect((await api(a.url, 'GET', '/health')).status).toBe(200);
    // stats still answer, from this process alone, and say Redis is down
    const admin = token('ops', 'admin');
    const statsDown = await api(a.url, 'GET', '/stats', { token: admin });
    expect(statsDown).toMatchObject({ status: 200, body: { redis: 'down', totalConnections: 1 } });
    // streams stay open and keep their heartbeat through the outage
    const pingsA = sa.pings;
    const pingsB = sb.pings;
    await waitFor('pings on both streams during the outage', () => sa.pings > pingsA && sb.pings > pingsB, 5000);
    expect(sa.closed || sb.closed).toBe(false);
    expect(sa.pings).toBeGreaterThan(pingsA);
    expect(sb.pings).toBeGreaterThan(pingsB);

    await redis.start();
    await waitFor('a ready again', async () => (await api(a.url, 'GET', '/ready')).status === 200, 10_000, 50);
    // publish at once: b may still be resubscribing; it catches up from history
    const after = await api(a.url, 'POST', '/broadcast/room/o-room', { token: pub, body: { type: 'o', data: 'after' } });
    expect(after.status).toBe(202);
    await waitFor('b ready again', async () => (await api(b.url, 'GET', '/ready')).status === 200, 10_000, 50);
    const again = await api(b.url, 'POST', '/broadcast/room/o-room', { token: pub, body: { type: 'o', data: 'again' } });
    expect(again.status).toBe(202);
    for (const s of [sa, sb]) {
      await s.until(() => s.dataOf('o').length >= 3, 10_000, 'events after the outage');
      expect(s.dataOf<{ data: string }>('o').map((e) => e.data)).toEqual(['before', 'after', 'again']);
    }
    // presence is rewritten by each process: the hub-wide view is whole again
    await waitFor('presence rewritten', async () => {
      const st = (await api(b.url, 'GET', '/stats', { token: admin })).body;
      return st.redis === 'up' && st.totalConnections === 2 && st.roomStats['o-room'] === 2 && st.nodes.length === 2;
    }, 5000, 50);
    const members = await api(a.url, 'GET', '/rooms/o-room/members', { token: admin });
    expect(members.body.users).toEqual([{ userId: 'o-alice', connections: 1 }, { userId: 'o-bob', connections: 1 }]);
    // logins are counted again (Redis restarted empty: the rate limiter reloads its scripts)
    const loginAfter = await api(b.url, 'POST', '/auth/login', { body: { username: 'someone', password: 'x' } });
    expect(loginAfter).toMatchObject({ status: 401, body: { error: { code: 'invalid_credentials' } } });
    expect(a.proc.exitCode).toBeNull();
    expect(b.proc.exitCode).toBeNull();
  });
});
