// The cross-process suite, parameterized by Redis deployment form: several real hub processes on
// one Redis deployment behave as one hub. cluster.test.ts runs it on one Redis server,
// redis-cluster.test.ts on a Redis Cluster (and then fails the hub's shard over).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../support/http.js';
import { assertBuilt, stopAll } from '../support/processes.js';
import { newPrefix } from '../support/redis-keys.js';
import { RawStream, throughMarker } from '../support/sse-client.js';
import { mint as token } from '../support/tokens.js';
import { waitFor } from '../support/wait.js';
import { type HubNode, openEvents, startNode } from './cluster-harness.js';

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
  /** Opens a stream for `user` on a node and waits for `connected`. */
  open(node: HubNode, user: string, query?: Record<string, string>, headers?: Record<string, string>): Promise<RawStream>;
}

const ENV = { MAX_CONNECTIONS_PER_USER: '3', LOGIN_RATE_LIMIT: '3' };

/** Defines the suite on `deployment`; `more` adds tests that run after it on the same processes. */
export function clusterSuite(deployment: SuiteDeployment, more?: (ctx: SuiteContext) => void): void {
  const prefix = newPrefix('cluster');
  let a: HubNode;
  let b: HubNode;
  let c: HubNode;
  let redis: { env: Record<string, string>; stop(): Promise<void> } | undefined;
  const streams: RawStream[] = [];
  const admin = token('ops', 'admin');
  const pub = token('svc', 'publisher');

  /** Opens a stream for `user` on a node and waits for `connected`. */
  async function open(node: HubNode, user: string, query: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<RawStream> {
    const s = await openEvents(node.url, token(user), query, headers);
    if (!(s instanceof RawStream)) throw new Error(`stream refused: ${s.status} ${s.body}`);
    streams.push(s);
    await s.next('connected');
    return s;
  }

  /** Publishes a last event and waits for it on every stream; events arrive in order, so all earlier ones are in. */
  function endMarker(on: RawStream[], target: Record<string, string>): Promise<string> {
    return throughMarker(on, async () => (await api(a.url, 'POST', '/broadcast', { token: pub, body: { type: 'end-marker', ...target } })).body.id as string);
  }

  /** Ids of the published events a stream received, the marker left out. */
  const idsBefore = (s: RawStream, marker: string): (string | undefined)[] => s.published.map((f) => f.id).filter((id) => id !== marker);

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
      const expected = new Map<RawStream, string[]>([
        [sa, idsOf((i) => everyone(i) || i % 4 === 1 || i % 4 === 2)],
        [sb, idsOf((i) => everyone(i) || i % 4 === 1)],
        [sc, idsOf((i) => everyone(i) || i % 4 === 3)],
        [sa2, idsOf((i) => everyone(i) || i % 4 === 2)],
      ]);
      // A last event to everyone: once it has arrived, everything published before it has too.
      const end = await endMarker([sa, sb, sc, sa2], {});
      for (const [s, ids] of expected) {
        // exactly once, in id order (ids increase in publish order across the hub)
        expect(idsBefore(s, end)).toEqual(ids);
        for (const f of s.published) expect((JSON.parse(f.data ?? 'null') as { id: string }).id).toBe(f.id);
      }
      // recipients counts every process's connections (room: alice on a, bob on b)
      const roomPost = posted[1]!;
      expect(roomPost.body.recipients).toBe(2);
      expect(posted[0]!.body.recipients).toBeGreaterThanOrEqual(4);
    });

    it('resumes on a different process with the last event id: no gap, no duplicate', async () => {
      const s1 = await open(a, 'r-user', { rooms: 'r-room' });
      const first: string[] = [];
      for (let i = 0; i < 5; i++) first.push((await api(c.url, 'POST', '/broadcast/room/r-room', { token: pub, body: { type: 'r', data: i } })).body.id);
      await s1.until(() => s1.published.length >= 5, 5000, 'the first batch');
      const last = s1.published.at(-1)!.id!;
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
      expect(s2.dataOf('history-gap')).toEqual([]);
      expect(idsBefore(s2, end)).toEqual(all);
    });

    it('applies join and leave from any process to every connection of the user; membership sticks across processes', async () => {
      const ja = await open(a, 'j-user');
      const jb = await open(b, 'j-user');
      const watcher = await open(c, 'j-watch', { rooms: 'j-room' });
      const tok = token('j-user');
      const joined = await api(c.url, 'POST', '/rooms/j-room/join', { token: tok });
      expect(joined).toMatchObject({ status: 200, body: { roomId: 'j-room', joined: 2 } });
      const ofUser = (s: RawStream, type: string): number => s.dataOf<{ userId: string }>(type).filter((d) => d.userId === 'j-user').length;
      await ja.next('room-joined');
      await jb.next('room-joined');
      await watcher.next('presence-join', 5000, (d: { userId: string }) => d.userId === 'j-user');
      const members = await api(a.url, 'GET', '/rooms/j-room/members', { token: admin });
      expect(members.body).toEqual({ roomId: 'j-room', users: [{ userId: 'j-user', connections: 2 }, { userId: 'j-watch', connections: 1 }] });
      const id = (await api(b.url, 'POST', '/broadcast/room/j-room', { token: pub, body: { type: 'j', data: 1 } })).body.id;
      for (const s of [ja, jb, watcher]) await s.until(() => s.published.some((f) => f.id === id), 5000, 'the room event');
      // a reconnect to another process joins the sticky room at once
      const jc = await open(c, 'j-user');
      expect(jc.dataOf<{ rooms: string[] }>('connected')[0]!.rooms).toContain('j-room');
      await endMarker([watcher, ja, jb], { room: 'j-room' });
      expect(ja.dataOf('room-joined')).toHaveLength(1);
      expect(jb.dataOf('room-joined')).toHaveLength(1);
      expect(ofUser(watcher, 'presence-join')).toBe(1);
      // one connection leaves by id, from yet another process
      const one = await api(a.url, 'POST', '/rooms/j-room/leave', { token: tok, body: { connectionId: jb.connectionId } });
      expect(one).toMatchObject({ status: 200, body: { left: 1 } });
      await jb.next('room-left');
      const left = await api(b.url, 'POST', '/rooms/j-room/leave', { token: tok });
      expect(left.status).toBe(200);
      await ja.next('room-left');
      await jc.next('room-left');
      await watcher.next('presence-leave', 5000, (d: { userId: string }) => d.userId === 'j-user');
      await endMarker([watcher, jb], {});
      expect(ofUser(watcher, 'presence-leave')).toBe(1);
      expect(jb.dataOf('room-left')).toHaveLength(1);
      const after = await api(c.url, 'GET', '/rooms/j-room/members', { token: admin });
      expect(after.body.users).toEqual([{ userId: 'j-watch', connections: 1 }]);
    });

    it('answers /stats and /rooms for the whole hub from any process; a SIGKILLed process leaves them', async () => {
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

      await d.kill('SIGKILL');
      // The contract is three heartbeats (1.5 s here); the wait is generous so a loaded machine does not fail it.
      await waitFor('node-d gone from stats', async () => {
        const s = (await api(a.url, 'GET', '/stats', { token: pub })).body;
        return !s.nodes.some((n: { nodeId: string }) => n.nodeId === 'node-d') && s.roomStats['k-room'] === 2;
      }, 10_000, 50);
      const s = (await api(b.url, 'GET', '/stats', { token: pub })).body;
      expect(s.totalConnections).toBe(before.totalConnections - 2);
      expect(s.activeUsers).toBe(before.activeUsers - 1);
      const m = await api(c.url, 'GET', '/rooms/k-room/members', { token: admin });
      expect(m.body.users.map((u: { userId: string }) => u.userId)).toEqual(['k-other', 'k-watch']);
      expect(await api(c.url, 'GET', '/rooms/user:k-ghost/members', { token: admin })).toMatchObject({ body: { users: [] } });
      await kw.next('presence-leave', 5000, (x: { userId: string }) => x.userId === 'k-ghost');
    });

    it('enforces MAX_CONNECTIONS_PER_USER across processes', async () => {
      await open(a, 'm-user');
      await open(b, 'm-user');
      await open(c, 'm-user');
      const fourth = await openEvents(a.url, token('m-user'));
      if (fourth instanceof RawStream) streams.push(fourth);
      expect(fourth.status).toBe(429);
      const r = await api(b.url, 'GET', '/events', { token: token('m-user') });
      expect(r).toMatchObject({ status: 429, body: { error: { code: 'too_many_connections' } } });
    });

    it('holds MAX_CONNECTIONS_PER_USER when connects race on every process at once', async () => {
      const racing = await Promise.all([a, b, c, a, b, c, a, b, c].map((n) => openEvents(n.url, token('race-user'))));
      streams.push(...racing.filter((s): s is RawStream => s instanceof RawStream));
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
