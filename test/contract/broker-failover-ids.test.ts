// Ids across a failover whose new primary holds a shorter stream and an older `seq` than what the
// processes saw, with a clock that does not carry ids past them (here: the old primary's ids ran
// ahead of the clock). The publishing process's newest delivered id is the floor of the next id,
// so other processes deliver the next event rather than drop it as already seen.
import { afterAll, describe, expect, it } from 'vitest';
import { newPrefix } from '../support/redis-keys.js';
import { waitFor } from '../support/wait.js';
import { RedisFixture, brokerFactories, publishOne } from './harness.js';
import type { BrokerListener } from '../../src/core/ports.js';
import type { EventDraft } from '../../src/core/events.js';

const fx = new RedisFixture();
afterAll(() => fx.cleanup());

const redis = brokerFactories(fx).find((f) => f.name === 'redis')!;
const draft = (data: unknown): EventDraft => ({
  type: 'f', data, room: null, userId: null, connectionId: null, filters: null, sender: 'tester', ownerUserId: null,
});
function recorder(): BrokerListener & { ids: string[] } {
  const ids: string[] = [];
  return { ids, onEvent: (ev) => ids.push(ev.id), onControl: () => {} };
}

describe('Redis broker ids across a failover that lost the newest events', () => {
  it('gives the next event an id above everything the publisher delivered, so every process delivers it', async () => {
    const prefix = newPrefix('failover-ids');
    const a = await redis.make(1000, prefix);
    const b = await redis.make(1000, prefix);
    const ra = recorder();
    const rb = recorder();
    await a.subscribe(ra);
    await b.subscribe(rb);
    const admin = await fx.client('admin');
    // The old primary handed out ids an hour ahead of the clock.
    await admin.set(`${prefix}seq`, String((Date.now() + 3_600_000) * 1000));
    const e1 = (await publishOne(a, draft(1))).id;
    const e2 = (await publishOne(a, draft(2))).id;
    await waitFor('both events on both', () => ra.ids.includes(e2) && rb.ids.includes(e2), 5000);
    // The promoted replica had e1 only: its stream ends at e1 (its last id too) and its seq is e1.
    const [entry, fields] = (await admin.xrange(`${prefix}history`, '-', '+', 'COUNT', 1))[0]!;
    await admin.del(`${prefix}history`);
    await admin.xadd(`${prefix}history`, entry, ...fields);
    await admin.set(`${prefix}seq`, e1);

    const e3 = (await publishOne(a, draft(3))).id;
    expect(e3 > e2).toBe(true);
    await waitFor('the next event on the other process', () => rb.ids.includes(e3), 5000);
    expect(rb.ids).toEqual([e1, e2, e3]);
    expect(ra.ids).toEqual([e1, e2, e3]);
    expect((await b.historyAfter(null, 10)).events.map((e) => e.id)).toEqual([e1, e3]);
    await a.close();
    await b.close();
  });
});
