// The cross-process suite, parameterized by Redis deployment form: several real hub processes on
// one Redis deployment behave as one hub. cluster.test.ts runs it on one Redis server,
// redis-cluster.test.ts on a Redis Cluster (and then fails the hub's shard over).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type HubNode, Stream, api, assertBuilt, newPrefix, percentile, startNode, stopAll, token, waitFor,
} from './cluster-harness.js';

/** A Redis deployment the suite runs on: started before the hub processes, stopped after them. */
export interface SuiteDeployment {
  name: string;
  /** Starts it (or not: the machine's Redis); resolves with the variables that point a hub at it. */
  start(prefix: string): Promise<{ env: Record<string, string>; stop(): Promise<void> }>;
}

/** What the suite's processes and helpers are, for tests a deployment adds after the suite's own. */
export interface SuiteContext {
  readonly prefix: string;
  readonly nodes: readonly HubNode[];
  open(node: HubNode, user: string, query?: Record<string, string>, headers?: Record<string, string>): Promise<Stream>;
}

const ENV = { MAX_CONNECTIONS_PER_USER: '3', LOGIN_RATE_LIMIT: '3' };

/** Defines the suite on `deployment`; `more` adds tests that run after it on the same processes. */
export function clusterSuite(deployment: SuiteDeployment, more?: (ctx: SuiteContext) => void): void {
  const prefix = newPrefix('cluster');
  let a: HubNode;
  let b: HubNode;
  let c: HubNode;
  let redis: { env: Record<string, string>; stop(): Promise<void> } | undefined;
  const streams: Stream[] = [];
  const admin = token('ops', 'admin');
  const pub = token('svc', 'publisher');

  async function open(node: HubNode, user: string, query: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<Stream> {
    const s = await Stream.open(node.url, token(user), query, headers);
    streams.push(s);
    return s;
  }

  /** Publishes a last event and waits for it on every stream; events arrive in order, so all earlier ones are in. */
  async function endMarker(on: Stream[], target: Record<string, string>): Promise<string> {
    const r = await api(a.url, 'POST', '/broadcast', { token: pub, body: { type: 'end-marker', ...target } });
    const id = r.body.id as string;
    for (const s of on) await waitFor('the end marker', () => s.events().some((m) => m.id === id), 5000);
    return id;
  }

  const startHub = (id: string): Promise<HubNode> => startNode({ prefix, nodeId: `node-${id}`, env: ENV, redis: redis?.env ?? {} });

  beforeAll(async () => {
    assertBuilt();
    redis = await deployment.start(prefix);
    [a, b, c] = await Promise.all([startHub('a'), startHub('b'), startHub('c')]);
  }, 60_000);

  afterAll(async () => {
    for (const s of streams) s.close();
    await stopAll();
    await redis?.stop();
  }, 30_000);

  describe(`cluster mode on ${deployment.name}: many processes, one hub`, () => {
    it('delivers a broadcast posted to any process to every entitled connection exactly once, in one order', async () => {
      const sa = await open(a, 'd-alice', { rooms: 'd-room' });
      const sb = await open(b, 'd-bob', { rooms: 'd-room' });
      const sc = await open(c, 'd-carol');
      const sa2 = await open(c, 'd-alice');
      const nodes = [a, b, c];
      const targets = [{}, { room: 'd-room' }, { userId: 'd-alice' }, { userId: 'd-carol' }];
      const posted = await Promise.all(Array.from({ length: 40 }, (_, i) => api(nodes[i % 3]!.url, 'POST', '/broadcast', {
        token: pub, body: { type: 'd-test', data: { i }, ...targets[i % 4] },
      })));
      for (const p of posted) expect(p.status).toBe(202);
      const idsOf = (pred: (i: number) => boolean): string[] => posted.filter((_, i) => pred(i)).map((p) => p.body.id as string).sort();
      const everyone = (i: number): boolean => i % 4 === 0;
      const expected = new Map<Stream, string[]>([
        [sa, idsOf((i) => everyone(i) || i % 4 === 1 || i % 4 === 2)],
        [sb, idsOf((i) => everyone(i) || i % 4 === 1)],
        [sc, idsOf((i) => everyone(i) || i % 4 === 3)],
        [sa2, idsOf((i) => everyone(i) || i % 4 === 2)],
      ]);
      // A last event to everyone: once it has arrived, everything published before it has too.
      const end = await endMarker([sa, sb, sc, sa2], {});
      for (const [s, ids] of expected) {
        // exactly once, in id order (ids increase in publish order across the hub)
        expect(s.events().map((m) => m.id).filter((id) => id !== end)).toEqual(ids);
        for (const m of s.events()) expect(m.data.id).toBe(m.id);
      }
      // recipients counts every process's connections (room: alice on a, bob on b)
      const roomPost = posted[1]!;
      expect(roomPost.body.recipients).toBe(2);
      expect(posted[0]!.body.recipients).toBeGreaterThanOrEqual(4);
    });

    it('measures cross-process delivery latency (publish on one process, receive on another)', async () => {
      const s = await open(b, 'lat-user', { rooms: 'lat' });
      const lat: number[] = [];
      const sinceStamp: number[] = [];
      for (let i = 0; i < 200; i++) {
        const before = s.events().length;
        const t0 = performance.now();
        const r = await api(a.url, 'POST', '/broadcast/room/lat', { token: pub, body: { type: 'lat', data: i } });
        expect(r.status).toBe(202);
        await waitFor('delivery', () => s.events().length > before, 2000, 0);
        const got = s.events()[before]!;
        lat.push(got.at - t0);
        sinceStamp.push(got.wall - Date.parse(got.data.timestamp));
      }
      lat.sort((x, y) => x - y);
      sinceStamp.sort((x, y) => x - y);
      console.log(`  from the event's timestamp (set on a) to read on b: p50=${percentile(sinceStamp, 50)}ms p99=${percentile(sinceStamp, 99)}ms`);
      const p50 = percentile(lat, 50);
      const p99 = percentile(lat, 99);
      console.log(`cross-process delivery latency (POST on a → SSE on b), 200 events: p50=${p50.toFixed(2)}ms p99=${p99.toFixed(2)}ms`);
      expect(p99).toBeLessThan(250);
    });

    it('resumes on a different process with the last event id: no gap, no duplicate', async () => {
      const s1 = await open(a, 'r-user', { rooms: 'r-room' });
      const first: string[] = [];
      for (let i = 0; i < 5; i++) first.push((await api(c.url, 'POST', '/broadcast/room/r-room', { token: pub, body: { type: 'r', data: i } })).body.id);
      await waitFor('first batch', () => s1.events().length >= 5);
      const last = s1.events().at(-1)!.id!;
      expect(last).toBe(first[4]);
      s1.close();
      const missed: string[] = [];
      for (let i = 0; i < 7; i++) missed.push((await api(a.url, 'POST', '/broadcast/room/r-room', { token: pub, body: { type: 'r', data: 10 + i } })).body.id);
      // a concurrent publisher keeps going while the client reconnects on b
      const live = (async () => {
        const ids: string[] = [];
        for (let i = 0; i < 10; i++) ids.push((await api(c.url, 'POST', '/broadcast/room/r-room', { token: pub, body: { type: 'r', data: 100 + i } })).body.id);
        return ids;
      })();
      const s2 = await open(b, 'r-user', { rooms: 'r-room' }, { 'Last-Event-ID': last });
      const liveIds = await live;
      const all = [...missed, ...liveIds];
      const end = await endMarker([s2], { room: 'r-room' });
      expect(s2.ofType('history-gap')).toEqual([]);
      expect(s2.events().map((m) => m.id).filter((id) => id !== end)).toEqual(all);
    });

    it('applies join and leave from any process to every connection of the user; membership sticks across processes', async () => {
      const ja = await open(a, 'j-user');
      const jb = await open(b, 'j-user');
      const watcher = await open(c, 'j-watch', { rooms: 'j-room' });
      const tok = token('j-user');
      const joined = await api(c.url, 'POST', '/rooms/j-room/join', { token: tok });
      expect(joined).toMatchObject({ status: 200, body: { roomId: 'j-room', joined: 2 } });
      await waitFor('room-joined on both', () => ja.ofType('room-joined').length === 1 && jb.ofType('room-joined').length === 1);
      await waitFor('one presence-join', () => watcher.ofType('presence-join').some((m) => m.data.userId === 'j-user'));
      const members = await api(a.url, 'GET', '/rooms/j-room/members', { token: admin });
      expect(members.body).toEqual({ roomId: 'j-room', users: [{ userId: 'j-user', connections: 2 }, { userId: 'j-watch', connections: 1 }] });
      const id = (await api(b.url, 'POST', '/broadcast/room/j-room', { token: pub, body: { type: 'j', data: 1 } })).body.id;
      for (const s of [ja, jb, watcher]) await waitFor('room event', () => s.events().some((m) => m.id === id));
      // a reconnect to another process joins the sticky room at once
      const jc = await open(c, 'j-user');
      expect(jc.messages.find((m) => m.event === 'connected')!.data.rooms).toContain('j-room');
      expect(watcher.ofType('presence-join').filter((m) => m.data.userId === 'j-user')).toHaveLength(1);
      // one connection leaves by id, from yet another process
      const one = await api(a.url, 'POST', '/rooms/j-room/leave', { token: tok, body: { connectionId: jb.connectionId } });
      expect(one).toMatchObject({ status: 200, body: { left: 1 } });
      await waitFor('room-left on b', () => jb.ofType('room-left').length === 1);
      const left = await api(b.url, 'POST', '/rooms/j-room/leave', { token: tok });
      expect(left.status).toBe(200);
      await waitFor('room-left everywhere', () => ja.ofType('room-left').length === 1 && jc.ofType('room-left').length === 1);
      await waitFor('presence-leave', () => watcher.ofType('presence-leave').some((m) => m.data.userId === 'j-user'));
      expect(watcher.ofType('presence-leave').filter((m) => m.data.userId === 'j-user')).toHaveLength(1);
      const after = await api(c.url, 'GET', '/rooms/j-room/members', { token: admin });
      expect(after.body.users).toEqual([{ userId: 'j-watch', connections: 1 }]);
    });

    it('answers /stats and /rooms for the whole hub from any process; a SIGKILLed process leaves them within three heartbeats', async () => {
      const d = await startHub('d');
      await open(d, 'k-ghost', { rooms: 'k-room' });
      await open(d, 'k-ghost', { rooms: 'k-room' });
      const kw = await open(a, 'k-watch', { rooms: 'k-room' });
      await open(b, 'k-other', { rooms: 'k-room' });
      await waitFor('k-room on c', async () => (await api(c.url, 'GET', '/stats', { token: pub })).body.roomStats['k-room'] === 4);
      const before = (await api(c.url, 'GET', '/stats', { token: pub })).body;
      expect(before.nodes.map((n: { nodeId: string }) => n.nodeId)).toEqual(['node-a', 'node-b', 'node-c', 'node-d']);
      expect(before.totalConnections).toBe(before.nodes.reduce((s: number, n: { connections: number }) => s + n.connections, 0));
      expect(before.nodes.find((n: { nodeId: string }) => n.nodeId === 'node-d').connections).toBe(2);
      expect(before.redis).toBe('up');
      const fromA = (await api(a.url, 'GET', '/stats', { token: pub })).body;
      expect(fromA.totalConnections).toBe(before.totalConnections);
      expect(fromA.activeUsers).toBe(before.activeUsers);
      const rooms = await api(b.url, 'GET', '/rooms', { token: admin });
      expect(rooms.body.rooms).toContainEqual({ roomId: 'k-room', connections: 4, users: 3 });

      const killedAt = Date.now();
      await d.kill('SIGKILL');
      await waitFor('node-d gone from stats', async () => {
        const s = (await api(a.url, 'GET', '/stats', { token: pub })).body;
        return !s.nodes.some((n: { nodeId: string }) => n.nodeId === 'node-d') && s.roomStats['k-room'] === 2;
      }, 5000, 50);
      const elapsed = Date.now() - killedAt;
      expect(elapsed).toBeLessThanOrEqual(3 * 500 + 300);
      const s = (await api(b.url, 'GET', '/stats', { token: pub })).body;
      expect(s.totalConnections).toBe(before.totalConnections - 2);
      expect(s.activeUsers).toBe(before.activeUsers - 1);
      const m = await api(c.url, 'GET', '/rooms/k-room/members', { token: admin });
      expect(m.body.users.map((u: { userId: string }) => u.userId)).toEqual(['k-other', 'k-watch']);
      expect(await api(c.url, 'GET', '/rooms/user:k-ghost/members', { token: admin })).toMatchObject({ body: { users: [] } });
      await waitFor('presence-leave for the ghost', () => kw.ofType('presence-leave').some((x) => x.data.userId === 'k-ghost'));
      console.log(`SIGKILLed process left /stats after ${elapsed} ms (HEARTBEAT_MS=500)`);
    });

    it('enforces MAX_CONNECTIONS_PER_USER across processes', async () => {
      await open(a, 'm-user');
      await open(b, 'm-user');
      await open(c, 'm-user');
      const fourth = await Stream.open(a.url, token('m-user'));
      streams.push(fourth);
      expect(fourth.status).toBe(429);
      const r = await api(b.url, 'GET', '/events', { token: token('m-user') });
      expect(r).toMatchObject({ status: 429, body: { error: { code: 'too_many_connections' } } });
    });

    it('holds MAX_CONNECTIONS_PER_USER when connects race on every process at once', async () => {
      const racing = await Promise.all([a, b, c, a, b, c, a, b, c].map((n) => Stream.open(n.url, token('race-user'))));
      streams.push(...racing);
      const statuses = racing.map((s) => s.status).sort();
      expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429, 429]);
    });

    it('honours an Idempotency-Key across processes', async () => {
      const key = `idem-${Date.now()}`;
      const body = { type: 'idem', data: { x: 1 }, room: 'i-room' };
      const answers = await Promise.all([a, b, c, a].map((n) => api(n.url, 'POST', '/broadcast', { token: pub, body, headers: { 'Idempotency-Key': key } })));
      for (const r of answers) expect(r.status).toBe(202);
      expect(new Set(answers.map((r) => r.body.id)).size).toBe(1);
      const hist = await api(b.url, 'GET', '/events/history?room=i-room&limit=1000', { token: admin });
      expect(hist.body.events.filter((e: { type: string }) => e.type === 'idem')).toHaveLength(1);
    });

    it('rate-limits logins across processes', async () => {
      const statuses: number[] = [];
      for (const n of [a, b, c, a, b]) {
        statuses.push((await api(n.url, 'POST', '/auth/login', { body: { username: 'rl-nobody', password: 'wrong' } })).status);
      }
      expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
      expect(statuses.slice(3)).toEqual([429, 429]);
    });

    it('serves the same history from every process', async () => {
      const hist = (n: HubNode): ReturnType<typeof api> => api(n.url, 'GET', '/events/history?limit=1000', { token: admin });
      const [ha, hb, hc] = await Promise.all([hist(a), hist(b), hist(c)]);
      expect(ha.body.events.length).toBeGreaterThan(0);
      expect(hb.body).toEqual(ha.body);
      expect(hc.body).toEqual(ha.body);
    });
    if (more) {
      more({
        prefix, open,
        get nodes() {
          return [a, b, c];
        },
      });
    }
  });
}
