// Webhooks with several processes on one Redis: each transition is reported once hub-wide, and
// the pending events outlive a process that dies (SIGKILL) before the receiver acknowledged them.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.js';
import { startHubProcess, stopAll, type HubChild } from '../support/processes.js';
import { REDIS_URL, deletePrefix, newPrefix } from '../support/redis-keys.js';
import { mustStream } from '../support/sse-client.js';
import { TEST_SECRET, mint } from '../support/tokens.js';
import { waitFor } from '../support/wait.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const SECRET = 'webhook-secret-of-the-tests-0123456789abcdef';

const prefix = newPrefix('webhooks');
let receiver: WebhookReceiver;
let redis: Redis;
const hubs: TestHub[] = [];
let child: HubChild | undefined;

function env(nodeId: string): Record<string, string> {
  return {
    REDIS_URL, REDIS_PREFIX: prefix, NODE_ID: nodeId, HEARTBEAT_MS: '500', SHUTDOWN_TIMEOUT_MS: '2000',
    WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET,
  };
}

async function hub(nodeId: string): Promise<TestHub> {
  const h = await startTestHub(env(nodeId));
  hubs.push(h);
  return h;
}

/** The run holding the webhook delivery lease, or null. */
const leaseHolder = (): Promise<string | null> => redis.get(`${prefix}lease:webhooks`);

beforeAll(async () => {
  receiver = await WebhookReceiver.start(SECRET);
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  await stopAll();
  await receiver?.close();
  await Promise.all(hubs.map((h) => h.close()));
  redis?.disconnect();
  await deletePrefix(prefix);
});

describe('webhooks across processes on Redis', () => {
  it('reports each transition once hub-wide, whichever process saw it', async () => {
    const [a, b] = [await hub('wh-a'), await hub('wh-b')];
    const a1 = await a.stream('/events?rooms=hall', a.token('alice'));
    const b1 = await b.stream('/events?rooms=hall', b.token('bob'));
    const a2 = await b.stream('/events?rooms=hall', b.token('alice'));
    // A user-level join made through one process for a stream on the other.
    const carol = await a.stream('/events', a.token('carol'));
    expect((await b.call('/rooms/hall/join', { method: 'POST', token: b.token('carol') })).status).toBe(200);
    await carol.next('room-joined');
    await receiver.got('presence.join hall carol');
    a1.close();
    carol.close();
    await receiver.got('presence.leave hall carol');
    a2.close();
    await receiver.got('presence.leave hall alice');
    b1.close();
    await receiver.got('room.vacated hall');
    expect(receiver.summary).toEqual([
      'room.occupied hall', 'presence.join hall alice', 'presence.join hall bob', 'presence.join hall carol',
      'presence.leave hall carol', 'presence.leave hall alice', 'presence.leave hall bob', 'room.vacated hall',
    ]);
    expect(receiver.posts.every((p) => p.signed)).toBe(true);
    // Nothing is left pending: every event went out and was trimmed once acknowledged.
    await waitFor('the pending stream to be empty', async () => (await redis.xlen(`${prefix}wh`)) === 0);
    await Promise.all(hubs.splice(0).map((h) => h.close()));
  });

  it('delivers what a process recorded after it died before the receiver answered, with the leaves of its streams', async () => {
    receiver.posts.length = 0;
    receiver.mode = 'hang';
    await waitFor('the previous delivery lease to be released', async () => (await leaseHolder()) === null);
    child = await startHubProcess({ ...env('wh-dying'), JWT_SECRET: TEST_SECRET });
    await waitFor('the dying process to hold the delivery lease', async () => (await leaseHolder())?.startsWith('wh-dying#') === true);
    const s = await mustStream(child.url, '/events?rooms=attic', { authorization: `Bearer ${mint('dora')}` });
    await waitFor('its POST hanging on the receiver', () => receiver.hangingNow > 0);
    expect(receiver.posts[0]!.events.map((e) => `${e.type} ${e.roomId}`)).toEqual(['room.occupied attic', 'presence.join attic']);

    const survivor = await hub('wh-survivor');
    expect(await leaseHolder()).toMatch(/^wh-dying#/);
    await child.kill('SIGKILL');
    s.close();
    receiver.mode = 'ok';
    // The survivor reaps the dead process (its users leave, its rooms empty), takes the lease
    // once it lapses, and delivers from the first event nobody acknowledged.
    await receiver.got('room.vacated attic', 20_000);
    expect(receiver.summary).toEqual(['room.occupied attic', 'presence.join attic dora', 'presence.leave attic dora', 'room.vacated attic']);
    expect(await leaseHolder()).toMatch(/^wh-survivor#/);
    await waitFor('4 delivered in the survivor\'s metrics', async () =>
      (await survivor.call('/metrics').then((r) => r.text())).match(/^roomcast_webhook_delivered_total\{[^}]*\} (\d+)/m)?.[1] === '4');
  }, 40_000);
});
