// One contract for every Broker: memory (one process), Redis and a Redis Cluster (many), run against each.
import { afterAll, describe, expect, it } from 'vitest';
import { encodeEvent } from '../../src/core/frame.js';
import type { EventDraft, HubEvent } from '../../src/core/events.js';
import type { Broker, BrokerListener, ControlMessage } from '../../src/core/ports.js';
import { RedisBroker } from '../../src/backend/redis/broker.js';
import { newPrefix } from '../support/redis-keys.js';
import { waitFor } from '../support/wait.js';
import { ChannelBus } from '../../src/backend/redis/bus.js';
import { ClusterFixture, RedisFixture, brokerFactories, publishOne, silentLogger } from './harness.js';

const fx = new RedisFixture();
const cluster = new ClusterFixture();
afterAll(() => Promise.all([fx.cleanup(), cluster.cleanup()]), 30_000);

type Seen = { kind: 'event'; ev: HubEvent; frame: Buffer } | { kind: 'control'; msg: ControlMessage };

type Recorder = BrokerListener & { seen: Seen[]; ids(): string[] };

function recorder(): Recorder {
  const seen: Seen[] = [];
  return {
    seen,
    onEvent: (ev, frame) => seen.push({ kind: 'event', ev, frame: frame ?? encodeEvent(ev, ev.dataJson) }),
    onControl: (msg) => seen.push({ kind: 'control', msg }),
    ids: () => seen.flatMap((s) => (s.kind === 'event' ? [s.ev.id] : [])),
  };
}

function draft(over: Partial<EventDraft> = {}): EventDraft {
  return {
    type: 'test', data: { n: 1 }, room: null, userId: null, connectionId: null, filters: null,
    sender: 'tester', ownerUserId: null, ...over,
  };
}

/**
 * Publishes a marker through `broker` and waits until every recorder has it: deliveries are in id
 * order, so what a recorder saw before the marker is all it will ever see of the earlier events.
 */
async function marker(broker: Broker, recs: Recorder[]): Promise<string> {
  const { id } = await publishOne(broker, draft({ type: 'marker' }));
  await waitFor('the marker', () => recs.every((r) => r.ids().includes(id)), 5000);
  return id;
}

/**
 * Publishes one event, cuts `broker`'s subscription with `cut`, publishes five at once (some land
 * while it subscribes again) and three after, then checks `rec` got every one once, in order, with
 * no gap; closes both brokers.
 */
async function expectCaughtUp(publisher: Broker, broker: Broker, rec: Recorder, cut: () => Promise<unknown>): Promise<void> {
  const ids = [(await publishOne(publisher, draft({ data: 0 }))).id];
  await waitFor('first delivery', () => rec.ids().length === 1, 5000);
  await cut();
  for (let i = 1; i <= 5; i++) ids.push((await publishOne(publisher, draft({ data: i }))).id);
  await waitFor('resubscribed', () => broker.isHealthy(), 5000);
  for (let i = 6; i <= 8; i++) ids.push((await publishOne(publisher, draft({ data: i }))).id);
  const end = await marker(publisher, [rec]);
  expect(rec.ids()).toEqual([...ids, end]);
  await broker.close();
  await publisher.close();
}

describe.each(brokerFactories(fx, cluster))('Broker contract: $name', (factory) => {
  async function subscribed(capacity = 100): Promise<{ broker: Broker; rec: ReturnType<typeof recorder> }> {
    const broker = await factory.make(capacity);
    const rec = recorder();
    await broker.subscribe(rec);
    return { broker, rec };
  }

  it('assigns 16-digit ids that increase strictly and delivers each event once, in order', async () => {
    const { broker, rec } = await subscribed();
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push((await publishOne(broker, draft({ data: i }))).id);
    for (const id of ids) expect(id).toMatch(/^\d{16}$/);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    // ids are microsecond-scaled wall clock
    expect(Math.abs(Number(ids[0]) / 1000 - Date.now())).toBeLessThan(60_000);
    const end = await marker(broker, [rec]);
    expect(rec.ids()).toEqual([...ids, end]);
    await broker.close();
  });

  it('publishes a batch in one step: increasing ids in the given order, each delivered once and kept', async () => {
    const { broker, rec } = await subscribed();
    const before = await publishOne(broker, draft({ data: 'before' }));
    const batch = await broker.publish([0, 1, 2, 3, 4].map((i) => draft({ data: i, room: i % 2 === 0 ? 'even' : null })));
    expect(batch.map((ev) => ev.data)).toEqual([0, 1, 2, 3, 4]);
    const ids = batch.map((ev) => ev.id);
    expect(ids[0]! > before.id).toBe(true);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    const end = await marker(broker, [rec]);
    expect(rec.ids()).toEqual([before.id, ...ids, end]);
    const kept = (await broker.historyAfter(before.id, 10)).events;
    expect(kept.map((ev) => [ev.id, ev.data, ev.room])).toEqual([...batch.map((ev) => [ev.id, ev.data, ev.room]), [end, { n: 1 }, null]]);
    await broker.close();
  });

  it('keeps every field and delivers the contract frame', async () => {
    const { broker, rec } = await subscribed();
    const d = draft({
      type: 'chat.msg', data: { text: 'héllo "x"\n', list: [1, null] }, room: 'lobby', filters: { tier: 'gold' },
      sender: 'svc', dataJson: JSON.stringify({ text: 'héllo "x"\n', list: [1, null] }),
    });
    const ev = await publishOne(broker, d);
    const c = await publishOne(broker, draft({ connectionId: 'conn1', ownerUserId: 'bob', data: null }));
    await waitFor('deliveries', () => rec.seen.length >= 2, 5000);
    const got = rec.seen[0] as Extract<Seen, { kind: 'event' }>;
    expect(got.ev.id).toBe(ev.id);
    expect(got.ev).toMatchObject({ type: 'chat.msg', room: 'lobby', userId: null, connectionId: null, filters: { tier: 'gold' }, sender: 'svc' });
    expect(got.ev.data).toEqual({ text: 'héllo "x"\n', list: [1, null] });
    expect(got.ev.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(got.frame.equals(encodeEvent(got.ev))).toBe(true);
    expect(got.frame.toString()).toContain(`id: ${ev.id}\nevent: chat.msg\ndata: {"id":"${ev.id}"`);
    const gotC = rec.seen[1] as Extract<Seen, { kind: 'event' }>;
    expect(gotC.ev).toMatchObject({ id: c.id, connectionId: 'conn1', ownerUserId: 'bob', data: null });
    const [fromHistory] = (await broker.historyAfter(null, 1)).events;
    expect(fromHistory).toMatchObject({ id: ev.id, type: 'chat.msg', room: 'lobby', filters: { tier: 'gold' }, sender: 'svc', timestamp: ev.timestamp });
    expect(fromHistory!.data).toEqual(d.data);
    expect(encodeEvent(fromHistory!, fromHistory!.dataJson).equals(got.frame)).toBe(true);
    await broker.close();
  });

  it('orders control messages with events', async () => {
    const { broker, rec } = await subscribed();
    const a = await publishOne(broker, draft());
    await broker.publishControl({ kind: 'join', room: 'r', userId: 'u', connectionId: null });
    const b = await publishOne(broker, draft());
    await broker.publishControl({ kind: 'room-signal', room: 'r', type: 'presence-join', data: { roomId: 'r', userId: 'u' } });
    const end = await marker(broker, [rec]);
    expect(rec.seen.map((s) => (s.kind === 'event' ? s.ev.id : s.msg.kind))).toEqual([a.id, 'join', b.id, 'room-signal', end]);
    await broker.close();
  });

  it('keeps exactly the newest `capacity` events and answers history queries', async () => {
    const { broker } = await subscribed(5);
    expect(await broker.historyInfo()).toEqual({ size: 0, oldestId: null, newestId: null });
    expect(await broker.historyAfter(null, 10)).toEqual({ events: [], more: false });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await publishOne(broker, draft({ data: i }))).id);
    expect(await broker.historyInfo()).toEqual({ size: 5, oldestId: ids[3], newestId: ids[7] });
    const all = await broker.historyAfter(null, 100);
    expect(all.more).toBe(false);
    expect(all.events.map((e) => e.id)).toEqual(ids.slice(3));
    expect(all.events.map((e) => e.data)).toEqual([3, 4, 5, 6, 7]);
    const page = await broker.historyAfter(ids[3]!, 2);
    expect(page.events.map((e) => e.id)).toEqual([ids[4], ids[5]]);
    expect(page.more).toBe(true);
    expect((await broker.historyAfter(ids[7]!, 10)).events).toEqual([]);
    // an id between kept ids, or older than the oldest: events after it
    expect((await broker.historyAfter('0000000000000001', 2)).events.map((e) => e.id)).toEqual([ids[3], ids[4]]);
    expect(await broker.historyHas(ids[5]!)).toBe(true);
    expect(await broker.historyHas(ids[2]!)).toBe(false);
    expect(await broker.historyHas('0000000000000001')).toBe(false);
    expect(await broker.historyHas('nonsense')).toBe(false);
    expect(broker.isHealthy()).toBe(true);
    await broker.close();
  });

  it.runIf(factory.distributed)('shares history, ids and one delivery order between processes', async () => {
    const prefix = newPrefix('broker-shared');
    const a = await factory.make(1000, prefix);
    const b = await factory.make(1000, prefix);
    const ra = recorder();
    const rb = recorder();
    await a.subscribe(ra);
    await b.subscribe(rb);
    const published = await Promise.all(Array.from({ length: 100 }, (_, i) => publishOne((i % 2 === 0 ? a : b), draft({ data: i }))));
    const sorted = published.map((e) => e.id).sort();
    expect(new Set(sorted).size).toBe(100);
    const end = await marker(a, [ra, rb]);
    // each process gets every event exactly once (its own too), in id order — the same order on both
    expect(ra.ids()).toEqual([...sorted, end]);
    expect(rb.ids()).toEqual([...sorted, end]);
    expect((await b.historyAfter(null, 1000)).events.map((e) => e.id)).toEqual([...sorted, end]);
    await a.close();
    await b.close();
  });

  it.runIf(factory.name === 'redis')('catches up from history after its subscription was cut: no gap, no duplicate', async () => {
    const prefix = newPrefix('broker-cut');
    const publisher = await factory.make(1000, prefix);
    await publisher.subscribe(recorder());
    // a subscriber connection that takes 400 ms to come back after it is cut
    const sub = await fx.client('slow-sub', { retryStrategy: () => 400 });
    const subId = await sub.client('ID');
    const broker = new RedisBroker(await fx.client('cmd'), new ChannelBus(sub, fx.errors), { prefix, historySize: 1000, errors: fx.errors, logger: silentLogger });
    const rec = recorder();
    await broker.subscribe(rec);
    const admin = await fx.client('admin');
    await expectCaughtUp(publisher, broker, rec, async () => {
      await admin.client('KILL', 'ID', String(subId));
      await waitFor('unhealthy while cut', () => !broker.isHealthy(), 2000);
    });
  });

  it.runIf(factory.cutSubscriptions !== undefined)('catches up from history after its shard subscription was cut: no gap, no duplicate', async () => {
    const prefix = newPrefix('broker-shard-cut');
    const publisher = await factory.make(1000, prefix);
    const broker = await factory.make(1000, prefix);
    const rec = recorder();
    await broker.subscribe(rec);
    await expectCaughtUp(publisher, broker, rec, async () => factory.cutSubscriptions?.());
  });

  it.runIf(factory.name === 'redis')('answers replays after a recent id from the events it saw, and shares one read among concurrent replays of an older range', async () => {
    const prefix = newPrefix('broker-recent');
    fx.prefixes.add(prefix);
    const publisher = new RedisBroker(await fx.client('cmd'), new ChannelBus(await fx.client('sub'), fx.errors), { prefix, historySize: 1000, errors: fx.errors, logger: silentLogger });
    await publisher.subscribe(recorder());
    const before: string[] = [];
    for (let i = 0; i < 5; i++) before.push((await publishOne(publisher, draft({ data: i }))).id);
    // A process that subscribes now: events before it are only in Redis, events after it pass by.
    const cmd = await fx.client('cmd-counted');
    let reads = 0;
    const xrange = cmd.xrange.bind(cmd);
    cmd.xrange = ((...args: Parameters<typeof xrange>) => {
      reads++;
      return xrange(...args);
    }) as typeof cmd.xrange;
    const broker = new RedisBroker(cmd, new ChannelBus(await fx.client('sub'), fx.errors), { prefix, historySize: 1000, errors: fx.errors, logger: silentLogger });
    const rec = recorder();
    await broker.subscribe(rec);
    const after: string[] = [];
    for (let i = 5; i < 10; i++) after.push((await publishOne(publisher, draft({ data: i }))).id);
    await waitFor('deliveries', () => rec.ids().length === 5, 5000);
    reads = 0;
    const recent = await Promise.all(Array.from({ length: 50 }, () => broker.historyAfter(after[1]!, 100)));
    for (const slice of recent) expect(slice.events.map((e) => e.id)).toEqual(after.slice(2));
    expect(await broker.historyHas(after[3]!)).toBe(true);
    expect(reads).toBe(0);
    const older = await Promise.all(Array.from({ length: 50 }, () => broker.historyAfter(before[2]!, 100)));
    for (const slice of older) expect(slice.events.map((e) => e.id)).toEqual([...before.slice(3), ...after]);
    expect(reads).toBe(1);
    await broker.close();
    await publisher.close();
  });
});
