// Webhooks on one process (memory mode), against a real HTTP receiver on loopback that checks
// every signature: the exact transitions, batching, retries, giving up, the filter, a hanging
// receiver next to publishing, and configuration errors.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { TEST_SECRET } from './support/tokens.js';
import { waitFor } from './support/wait.js';
import { WebhookReceiver, type ReceivedPost } from './support/webhook-receiver.js';

const SECRET = 'webhook-secret-of-the-tests-0123456789abcdef';

/** One process's value of a Prometheus metric without labels of its own. */
async function metric(hub: TestHub, name: string): Promise<number> {
  const text = await (await hub.call('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ').at(-1));
}

/** A hub with webhooks to a fresh receiver; both stopped by `stop`. */
async function hubWithReceiver(env: Record<string, string> = {}): Promise<{ hub: TestHub; receiver: WebhookReceiver; stop(): Promise<void> }> {
  const receiver = await WebhookReceiver.start(SECRET);
  const hub = await startTestHub({ WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET, SHUTDOWN_TIMEOUT_MS: '2000', ...env });
  return {
    hub, receiver,
    // The receiver first: a POST hanging on it then fails at once instead of holding the hub's shutdown.
    stop: async () => {
      await receiver.close();
      await hub.close();
    },
  };
}

const post = (hub: TestHub, path: string, token: string, json?: unknown): Promise<Response> =>
  hub.call(path, { method: 'POST', token, ...(json === undefined ? {} : { json }) });

describe('webhooks on one process', () => {
  let hub: TestHub;
  let receiver: WebhookReceiver;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ hub, receiver, stop } = await hubWithReceiver({ MAX_ROOMS_PER_USER: '80' }));
  });
  afterAll(() => stop?.());

  it('reports exactly the room and user transitions, never a user: room, in signed JSON POSTs', async () => {
    const alice = hub.token('alice');
    const bob = hub.token('bob');
    const a1 = await hub.stream('/events?rooms=lobby', alice);
    await receiver.got('presence.join lobby alice');
    const a2 = await hub.stream('/events?rooms=lobby', alice);
    const b = await hub.stream('/events', bob);
    expect((await post(hub, '/rooms/lobby/join', bob)).status).toBe(200);
    await b.next('room-joined');
    await receiver.got('presence.join lobby bob');
    a1.close();
    a2.close();
    await receiver.got('presence.leave lobby alice');
    expect((await post(hub, '/rooms/lobby/leave', bob)).status).toBe(200);
    await receiver.got('room.vacated lobby');
    // The vacated room is the last transition there can be: nothing else came, or comes, before it.
    expect(receiver.summary).toEqual([
      'room.occupied lobby', 'presence.join lobby alice', 'presence.join lobby bob',
      'presence.leave lobby alice', 'presence.leave lobby bob', 'room.vacated lobby',
    ]);

    const ids = receiver.delivered.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of receiver.posts) {
      expect(p.signed).toBe(true);
      expect(p.headers['content-type']).toBe('application/json');
      expect(p.headers['x-roomcast-timestamp']).toMatch(/^\d{10}$/);
      expect(p.headers['x-roomcast-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(Object.keys(JSON.parse(p.body) as object)).toEqual(['events']);
    }
    for (const ev of receiver.delivered) {
      const keys = ev.type.startsWith('presence.') ? ['id', 'type', 'roomId', 'userId', 'timestamp'] : ['id', 'type', 'roomId', 'timestamp'];
      expect(Object.keys(ev)).toEqual(keys);
      expect(new Date(ev.timestamp).toISOString()).toBe(ev.timestamp);
    }
    // Counted once the hub has read the receiver's answer, which may be a moment after the receiver saw the POST.
    await waitFor('6 delivered in the metrics', async () => (await metric(hub, 'roomcast_webhook_delivered_total')) === 6);
  });

  it('batches: the 120 transitions of one connect arrive in 2 POSTs of at most 100 events, in order', async () => {
    // 60 rooms (a connect takes at most 64): each one's occupied and join, recorded in one step.
    const rooms = Array.from({ length: 60 }, (_, i) => `b${i}`);
    const before = receiver.posts.length;
    const s = await hub.stream(`/events?rooms=${rooms.join(',')}`, hub.token('many'));
    await receiver.until('120 transitions', (d) => d.filter((e) => e.roomId.startsWith('b')).length === 120);
    expect(receiver.posts.slice(before).map((p) => p.events.length)).toEqual([100, 20]);
    expect(receiver.summary.slice(-120)).toEqual(rooms.flatMap((r) => [`room.occupied ${r}`, `presence.join ${r} many`]));

    s.close();
    await receiver.until('120 more', (d) => d.filter((e) => e.roomId.startsWith('b')).length === 240);
    expect(receiver.posts.slice(before + 2).map((p) => p.events.length)).toEqual([100, 20]);
    expect(receiver.summary.slice(-120)).toEqual(rooms.flatMap((r) => [`presence.leave ${r} many`, `room.vacated ${r}`]));
  });

  it('retries a failed POST with the same events, and keeps later events behind it', async () => {
    receiver.script.push('fail', 'fail');
    const before = receiver.posts.length;
    const carol = await hub.stream('/events?rooms=retry', hub.token('carol'));
    await waitFor('the first POST', () => receiver.posts.length > before);
    // Recorded while the first batch is still failing: it must come after it.
    const dave = await hub.stream('/events?rooms=retry', hub.token('dave'));
    await receiver.got('presence.join retry dave');
    const attempts: ReceivedPost[] = receiver.posts.slice(before, before + 3);
    expect(attempts.map((p) => p.answer)).toEqual([500, 500, 204]);
    expect(attempts.map((p) => p.body)).toEqual([attempts[0]!.body, attempts[0]!.body, attempts[0]!.body]);
    expect(attempts[0]!.events.map((e) => `${e.type} ${e.roomId}`)).toEqual(['room.occupied retry', 'presence.join retry']);
    expect(receiver.summary.slice(-3)).toEqual(['room.occupied retry', 'presence.join retry carol', 'presence.join retry dave']);
    expect(await metric(hub, 'roomcast_webhook_retries_total')).toBe(2);
    carol.close();
    dave.close();
    await receiver.got('room.vacated retry');
  });
});

describe('a receiver that hangs', () => {
  let ctx: Awaited<ReturnType<typeof hubWithReceiver>>;
  beforeAll(async () => {
    ctx = await hubWithReceiver();
  });
  afterAll(() => ctx?.stop());

  it('does not slow publishing: 50 publishes complete and reach the stream while it has not answered', async () => {
    const { hub, receiver } = ctx;
    receiver.mode = 'hang';
    const s = await hub.stream('/events?rooms=news', hub.token('erin'));
    await waitFor('a POST hanging on the receiver', () => receiver.hangingNow > 0);
    const publisher = hub.token('svc', 'publisher');
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      post(hub, '/broadcast/room/news', publisher, { type: 'headline', data: i }).then((r) => r.status)));
    expect(answers).toEqual(Array(50).fill(202));
    await s.until(() => s.dataOf('headline').length === 50, 10_000, '50 headlines');
    expect(receiver.posts.length).toBeGreaterThan(0);
    expect(receiver.posts.every((p) => p.answer === 'hang')).toBe(true);
  });
});

describe('giving up and the filter', () => {
  it('gives a batch up after WEBHOOK_RETRY_FOR, counts it, and goes on with the next', async () => {
    const { hub, receiver, stop } = await hubWithReceiver({ WEBHOOK_RETRY_FOR: '1s' });
    try {
      receiver.mode = 'fail';
      const s = await hub.stream('/events?rooms=doomed', hub.token('frank'));
      await waitFor('the batch to be given up', async () => (await metric(hub, 'roomcast_webhook_failures_total')) === 2);
      receiver.mode = 'ok';
      s.close();
      await receiver.got('room.vacated doomed');
      expect(receiver.summary).toEqual(['presence.leave doomed frank', 'room.vacated doomed']);
      expect(await metric(hub, 'roomcast_webhook_retries_total')).toBeGreaterThan(0);
    } finally {
      await stop();
    }
  });

  it('reports only the WEBHOOK_EVENTS types', async () => {
    const { hub, receiver, stop } = await hubWithReceiver({ WEBHOOK_EVENTS: 'room.occupied, room.vacated' });
    try {
      const g = await hub.stream('/events?rooms=quiet', hub.token('gina'));
      await receiver.got('room.occupied quiet');
      const h = await hub.stream('/events?rooms=quiet', hub.token('hugo'));
      await h.next('connected');
      g.close();
      h.close();
      await receiver.got('room.vacated quiet');
      expect(receiver.summary).toEqual(['room.occupied quiet', 'room.vacated quiet']);
    } finally {
      await stop();
    }
  });
});

describe('webhook configuration', () => {
  const base = { JWT_SECRET: TEST_SECRET };
  const failing = (env: Record<string, string>): string => {
    try {
      loadConfig({ ...base, ...env });
    } catch (err) {
      if (err instanceof ConfigError) return err.variable;
      throw err;
    }
    return 'none';
  };

  it('names the variable of a bad value', () => {
    expect(failing({ WEBHOOK_URL: 'http://127.0.0.1:9/hooks' })).toBe('WEBHOOK_SECRET');
    expect(failing({ WEBHOOK_URL: 'http://127.0.0.1:9/hooks', WEBHOOK_SECRET: 'too-short' })).toBe('WEBHOOK_SECRET');
    expect(failing({ WEBHOOK_URL: 'ftp://example.com/hooks', WEBHOOK_SECRET: SECRET })).toBe('WEBHOOK_URL');
    expect(failing({ WEBHOOK_URL: 'not a url', WEBHOOK_SECRET: SECRET })).toBe('WEBHOOK_URL');
    expect(failing({ WEBHOOK_URL: 'http://127.0.0.1:9/', WEBHOOK_SECRET: SECRET, WEBHOOK_EVENTS: 'room.occupied,room.exploded' })).toBe('WEBHOOK_EVENTS');
    expect(failing({ WEBHOOK_EVENTS: ',' })).toBe('WEBHOOK_EVENTS');
    expect(failing({ WEBHOOK_RETRY_FOR: 'soon' })).toBe('WEBHOOK_RETRY_FOR');
  });

  it('defaults to all four events and five minutes of retries, and to no webhooks without a URL', () => {
    expect(loadConfig(base).webhook).toBeUndefined();
    expect(loadConfig({ ...base, WEBHOOK_URL: 'https://app.example.com/roomcast', WEBHOOK_SECRET: SECRET }).webhook).toEqual({
      url: 'https://app.example.com/roomcast', secret: SECRET, retryForMs: 300_000,
      events: ['room.occupied', 'room.vacated', 'presence.join', 'presence.leave'],
    });
    expect(loadConfig({ ...base, WEBHOOK_URL: 'http://h/', WEBHOOK_SECRET: SECRET, WEBHOOK_EVENTS: 'presence.leave,room.occupied', WEBHOOK_RETRY_FOR: '90s' }).webhook)
      .toMatchObject({ events: ['room.occupied', 'presence.leave'], retryForMs: 90_000 });
  });

  it('stops the process with one line naming WEBHOOK_SECRET when the URL comes without one', () => {
    let stderr = '';
    let status: number | null = 0;
    try {
      execFileSync(process.execPath, ['dist/main.js'], {
        env: { PATH: process.env.PATH ?? '', ...base, WEBHOOK_URL: 'http://127.0.0.1:9/hooks' }, encoding: 'utf8', stdio: 'pipe', timeout: 10_000,
      });
    } catch (err) {
      ({ stderr, status } = err as { stderr: string; status: number | null });
    }
    expect(status).not.toBe(0);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('WEBHOOK_SECRET');
  });
});
