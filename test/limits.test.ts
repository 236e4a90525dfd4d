// The contract's limits, one process in memory: rooms per user, membership expiry, the per-user
// request rate, streams per process and the request deadline.
import { connect } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './support/hub.js';
import { RawStream, openStream } from './support/sse-client.js';
import { waitFor } from './support/wait.js';

const hubs: TestHub[] = [];
async function hubWith(env: Record<string, string>): Promise<TestHub> {
  const hub = await startTestHub(env);
  hubs.push(hub);
  return hub;
}
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});
afterAll(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

const post = (hub: TestHub, path: string, token: string, json?: unknown) =>
  hub.call(path, { method: 'POST', token, ...(json === undefined ? {} : { json }) });

/** Publishes a marker to a user and waits for it on the stream: everything sent before it has arrived. */
async function marker(hub: TestHub, s: RawStream, userId: string, n: number): Promise<void> {
  const r = await post(hub, `/broadcast/user/${userId}`, hub.token('svc', 'publisher'), { type: 'marker', data: n });
  expect(r.status).toBe(202);
  await s.next('marker', 5000, (d: { data: number }) => d.data === n);
}

describe('MAX_ROOMS_PER_USER', () => {
  it('refuses the join past the limit with 429 too_many_rooms and changes nothing; rejoining and other users pass', async () => {
    const hub = await hubWith({ MAX_ROOMS_PER_USER: '3' });
    const t = hub.token('roomy');
    const s = await hub.stream('/events?rooms=r1', t);
    expect((await post(hub, '/rooms/r2/join', t)).status).toBe(200);
    const { connectionId } = await s.next<{ connectionId: string }>('connected');
    expect((await post(hub, '/rooms/r3/join', t, { connectionId })).status).toBe(200);

    const over = await post(hub, '/rooms/r4/join', t);
    expect(over.status).toBe(429);
    expect(await over.json()).toMatchObject({ error: { code: 'too_many_rooms' } });
    const overConn = await post(hub, '/rooms/r4/join', t, { connectionId });
    expect(overConn.status).toBe(429);
    await marker(hub, s, 'roomy', 1);
    expect(s.dataOf<{ roomId: string }>('room-joined').map((d) => d.roomId)).toEqual(['r2', 'r3']);
    const members = await hub.call('/rooms/r4/members', { token: hub.token('root', 'admin') });
    expect(((await members.json()) as { users: unknown[] }).users).toEqual([]);

    // Rooms the user is already in, and its own user room, never count as new.
    expect((await post(hub, '/rooms/r1/join', t)).status).toBe(200);
    expect((await post(hub, '/rooms/user:roomy/join', t)).status).toBe(200);
    // Another user is not affected.
    expect((await post(hub, '/rooms/r4/join', hub.token('other'))).status).toBe(200);
    // Leaving frees a place.
    expect((await post(hub, '/rooms/r2/leave', t)).status).toBe(200);
    expect((await post(hub, '/rooms/r4/join', t)).status).toBe(200);
  });

  it('refuses a stream whose rooms= would pass the limit before any stream byte', async () => {
    const hub = await hubWith({ MAX_ROOMS_PER_USER: '2' });
    const t = hub.token('connector');
    expect((await post(hub, '/rooms/a/join', t)).status).toBe(200);
    const refused = await openStream(hub.url, '/events?rooms=b,c', { authorization: `Bearer ${t}` });
    expect(refused).not.toBeInstanceOf(RawStream);
    if (refused instanceof RawStream) return;
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'too_many_rooms' } });
    const ok = await hub.stream('/events?rooms=a,b', t);
    expect((await ok.next<{ rooms: string[] }>('connected')).rooms.sort()).toEqual(['a', 'b', 'user:connector']);
  });
});

describe('USER_ROOMS_TTL', () => {
  it('keeps user-level memberships while the user streams and drops them that long after its last stream closed', async () => {
    const hub = await hubWith({ USER_ROOMS_TTL: '1s', MAX_ROOMS_PER_USER: '1' });
    const t = hub.token('leaver');
    const s = await hub.stream('/events', t);
    expect((await post(hub, '/rooms/sticky/join', t)).status).toBe(200);
    await s.next('room-joined');
    s.close();
    // Reopened at once: the membership is still there.
    const again = await hub.stream('/events', t);
    expect((await again.next<{ rooms: string[] }>('connected')).rooms).toContain('sticky');
    again.close();
    // With one room allowed, another join passes only once the membership expired (asked without
    // opening a stream, which would stop the clock).
    await waitFor('the membership to expire', async () => (await post(hub, '/rooms/other/join', t)).status === 200, 10_000, 200);
    const after = await hub.stream('/events', t);
    expect((await after.next<{ rooms: string[] }>('connected')).rooms.sort()).toEqual(['other', 'user:leaver']);
  });
});

describe('USER_RATE_LIMIT', () => {
  it('answers 429 rate_limited with Retry-After past the limit; publishers, admins and other users are not counted', async () => {
    const hub = await hubWith({ USER_RATE_LIMIT: '4' });
    const t = hub.token('chatty');
    for (let i = 0; i < 4; i++) expect((await post(hub, `/rooms/rl${i}/join`, t)).status).toBe(200);
    const limited = await post(hub, '/rooms/rl9/join', t);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await limited.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect((await post(hub, '/rooms/rl0/leave', t)).status).toBe(429);
    expect((await post(hub, '/rooms/rl0/messages', t, { text: 'hi' })).status).toBe(429);
    for (const role of ['publisher', 'admin'] as const) {
      const svc = hub.token(`svc-${role}`, role);
      for (let i = 0; i < 6; i++) expect((await post(hub, `/rooms/svc${i}/join`, svc)).status).toBe(200);
    }
    expect((await post(hub, '/rooms/rl0/join', hub.token('quiet'))).status).toBe(200);
  });
});

describe('MAX_STREAMS', () => {
  it('refuses streams past the cap with 503 and Retry-After; health, publishing, history and stats keep working; ready is 503 while full', async () => {
    const hub = await hubWith({ MAX_STREAMS: '2' });
    const a = await hub.stream('/events', hub.token('s1'));
    await hub.stream('/events', hub.token('s2'));
    const refused = await openStream(hub.url, '/events', { authorization: `Bearer ${hub.token('s3')}` });
    if (refused instanceof RawStream) throw new Error('a third stream was accepted');
    expect(refused.status).toBe(503);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'unavailable' } });

    const admin = hub.token('root', 'admin');
    expect((await hub.call('/health')).status).toBe(200);
    const ready = await hub.call('/ready');
    expect(ready.status).toBe(503);
    expect(Number(ready.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await post(hub, '/broadcast', admin, { type: 'still', data: 1 })).status).toBe(202);
    await a.next('still');
    expect((await hub.call('/events/history?limit=5', { token: admin })).status).toBe(200);
    expect((await hub.call('/stats', { token: admin })).status).toBe(200);

    a.close();
    await waitFor('readiness after a stream closed', async () => (await hub.call('/ready')).status === 200);
    await hub.stream('/events', hub.token('s3'));
  });
});

describe('REQUEST_TIMEOUT_MS', () => {
  it('answers a dribbled body 408 request_timeout and closes the socket, while a stream on the same process keeps its heartbeats', async () => {
    const hub = await hubWith({ REQUEST_TIMEOUT_MS: '500', HEARTBEAT_MS: '200' });
    const s = await hub.stream('/events', hub.token('watcher'));
    const { port } = new URL(hub.url);
    const token = hub.token('svc', 'publisher');
    const answer = await new Promise<string>((resolve, reject) => {
      let got = '';
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`POST /broadcast HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 40\r\n\r\n{"type":');
      });
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => (got += c));
      socket.on('close', () => resolve(got));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toContain('"code":"request_timeout"');
    // The stream outlived the deadline several times over and kept receiving pings.
    const pingsBefore = s.frames.filter((f) => f.comment === 'ping').length;
    await s.until(() => s.frames.filter((f) => f.comment === 'ping').length >= pingsBefore + 3, 5000, 'more pings');
    expect(s.closed).toBe(false);
  });
});
