// Runs examples/webhook-receiver.mjs against a real hub (`node dist/main.js`, built by
// `npm run build`): it prints each event the hub sends once, and refuses a forged signature, a
// stale timestamp and an unsigned POST.
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login } from '../support/http.js';
import { freePort } from '../support/net.js';
import { ROOT, cleanEnv, startChild, startHubProcess, stopAll, type Child, type HubChild } from '../support/processes.js';
import { mustStream } from '../support/sse-client.js';
import { TEST_SECRET } from '../support/tokens.js';
import { waitFor } from '../support/wait.js';

const WEBHOOK_SECRET = 'webhook-example-secret-0123456789-abcdefghij';
const RECEIVER = join(ROOT, 'examples', 'webhook-receiver.mjs');

interface Printed { id: string; type: string; roomId: string; userId?: string }

describe('examples/webhook-receiver.mjs against a running hub', () => {
  let dir: string;
  let hub: HubChild;
  let receiver: Child;
  let url: string;

  const printed = (): Printed[] => receiver.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Printed);
  const summary = (): string[] => printed().map((e) => [e.type, e.roomId, e.userId].filter(Boolean).join(' '));

  /** POSTs a body to the receiver with the given timestamp and signature headers. */
  const send = (body: string, headers: Record<string, string>): Promise<number> =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then((r) => r.status);
  const sign = (timestamp: string, body: string, secret = WEBHOOK_SECRET): string =>
    `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'roomcast-webhook-example-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}/roomcast/webhooks`;
    receiver = startChild(process.execPath, [RECEIVER, '--port', String(port)], { env: cleanEnv({ WEBHOOK_SECRET }) });
    await waitFor('the receiver to listen', () => receiver.stderr().includes('listening'));
    hub = await startHubProcess({ DEMO: 'true', JWT_SECRET: TEST_SECRET, WEBHOOK_URL: url, WEBHOOK_SECRET }, { cwd: dir });
  });

  afterAll(async () => {
    await hub?.kill('SIGTERM');
    await receiver?.kill('SIGTERM');
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies and prints what the hub sends when a room fills and empties', async () => {
    const token = await login(hub.url, 'alice');
    const s = await mustStream(hub.url, '/events?rooms=garden', { authorization: `Bearer ${token}` });
    await waitFor('the join to be printed', () => summary().includes('presence.join garden alice'));
    s.close();
    await waitFor('the room to be printed vacated', () => summary().includes('room.vacated garden'));
    expect(summary()).toEqual(['room.occupied garden', 'presence.join garden alice', 'presence.leave garden alice', 'room.vacated garden']);
  });

  it('refuses a forged signature, a stale timestamp and an unsigned POST; prints a repeated event once', async () => {
    const now = String(Math.floor(Date.now() / 1000));
    const event = { id: '1-0', type: 'room.occupied', roomId: 'forged', timestamp: new Date().toISOString() };
    const body = JSON.stringify({ events: [event] });
    expect(await send(body, { 'x-roomcast-timestamp': now, 'x-roomcast-signature': sign(now, body, 'some-other-secret-0123456789-abcdefghijk') })).toBe(401);
    const old = String(Math.floor(Date.now() / 1000) - 3600);
    expect(await send(body, { 'x-roomcast-timestamp': old, 'x-roomcast-signature': sign(old, body) })).toBe(401);
    expect(await send(body, {})).toBe(401);

    expect(await send(body, { 'x-roomcast-timestamp': now, 'x-roomcast-signature': sign(now, body) })).toBe(204);
    expect(await send(body, { 'x-roomcast-timestamp': now, 'x-roomcast-signature': sign(now, body) })).toBe(204);
    // Output is in order: once a later marker is printed, everything before it is too.
    const marker = JSON.stringify({ events: [{ ...event, id: '2-0', roomId: 'marker' }] });
    expect(await send(marker, { 'x-roomcast-timestamp': now, 'x-roomcast-signature': sign(now, marker) })).toBe(204);
    await waitFor('the marker to be printed', () => printed().some((e) => e.roomId === 'marker'));
    expect(printed().filter((e) => e.roomId === 'forged')).toHaveLength(1);
  });
});
