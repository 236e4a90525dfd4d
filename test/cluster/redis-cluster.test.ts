// The cross-process suite on a Redis Cluster (3 primaries, 3 replicas); then the primary holding
// the hub's slot is SIGKILLed while a publisher keeps publishing, and publishing resumes on every
// process without a restart, each event delivered once and in order.
import { expect, it } from 'vitest';
import { hashTagged } from '../../src/config-redis.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { api } from '../support/http.js';
import { startCluster, type RedisClusterTopology } from '../support/redis-topology.js';
import { mint } from '../support/tokens.js';
import { clusterSuite } from './cluster-suite.js';
import { publishThroughFailover } from './failover.js';

let cluster: RedisClusterTopology | undefined;

clusterSuite({
  name: 'a Redis Cluster',
  start: async () => {
    cluster = await startCluster({ primaries: 3, replicasPerPrimary: 1 });
    return { env: { REDIS_CLUSTER_NODES: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',') }, stop: () => cluster!.stop() };
  },
}, (ctx) => {
  it('confirms publishes on the replica of the hub slot\'s primary (REDIS_WAIT_REPLICAS)', async () => {
    const nodes = cluster!.nodes.map((n) => `${n.host}:${n.port}`).join(',');
    const env = { REDIS_CLUSTER_NODES: nodes, REDIS_PREFIX: ctx.prefix };
    const one = await startTestHub({ ...env, REDIS_WAIT_REPLICAS: '1' });
    const two = await startTestHub({ ...env, REDIS_WAIT_REPLICAS: '2', REDIS_WAIT_TIMEOUT_MS: '200' });
    try {
      const publish = (hub: TestHub): Promise<Response> =>
        hub.call('/broadcast/room/w-room', { method: 'POST', token: mint('svc', 'publisher'), json: { type: 'w', data: 1 } });
      expect((await publish(one)).status).toBe(202);
      // Each primary has one replica: two can never confirm.
      const refused = await publish(two);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('fails over the hub slot: publishing resumes on every process, each event delivered once, in order', async () => {
    const [a, b, c] = ctx.nodes as [typeof ctx.nodes[0], typeof ctx.nodes[0], typeof ctx.nodes[0]];
    const sa = await ctx.open(a, 'f-alice', { rooms: 'f-room' });
    const sc = await ctx.open(c, 'f-carol', { rooms: 'f-room' });
    // The hub keeps every key under its hash-tagged prefix, so one slot holds them all.
    const hubKey = `${hashTagged(ctx.prefix)}history`;
    let killed: Promise<unknown> | undefined;
    const run = await publishThroughFailover([a, b, c], {
      token: mint('svc', 'publisher'), room: 'f-room', count: 30, tag: `${ctx.prefix}f`, deadlineMs: 45_000,
      before: (i) => {
        if (i === 10) killed = cluster!.killPrimaryOf(hubKey);
      },
    });
    await killed;
    expect(run.unavailable).toBeGreaterThan(0);
    expect(run.withRetryAfter).toBe(run.unavailable);
    const last = run.ids.at(-1) as string;
    for (const s of [sa, sc]) {
      await s.until(() => s.published.some((f) => f.id === last), 15_000, 'the last event');
      expect(s.published.map((f) => f.id)).toEqual(run.ids);
      expect(s.dataOf<{ data: { i: number } }>('f').map((e) => e.data.i)).toEqual([...Array(30).keys()]);
      expect(s.closed).toBe(false);
    }
    expect([...run.ids].sort()).toEqual(run.ids);
    // The new primary serves history to every process; what was published after the failover is in it.
    const admin = mint('ops', 'admin');
    const answers = await Promise.all([a, b, c].map((n) => api(n.url, 'GET', '/events/history?room=f-room&limit=1000', { token: admin })));
    for (const h of answers) {
      expect(h.body).toEqual(answers[0]!.body);
      const after = run.ids.slice(run.firstRefused);
      expect((h.body.events.map((e: { id: string }) => e.id) as string[]).slice(-after.length)).toEqual(after);
    }
    console.log(`Cluster failover of the hub slot: ${run.unavailable} publishes answered 503 (all with Retry-After) for ${run.refusedForMs} ms, ${run.networkErrors} network errors`);
  }, 60_000);
});
