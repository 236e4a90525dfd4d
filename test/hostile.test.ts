import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertFieldValue, encodeControl, encodeEvent } from '../src/core/frame.js';
import type { HubEvent } from '../src/core/events.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { mint } from './support/tokens.js';

/** A publisher's token (the hub verifies with the test secret). */
const svc = mint('svc', 'publisher');

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub({ MAX_EVENT_BYTES: '4096' });
});
afterAll(async () => hub.close());

function expectErrorShape(body: unknown, code: string): void {
  expect(body).toMatchObject({ error: { code, message: expect.any(String) } });
  const text = JSON.stringify(body);
  expect(text).not.toMatch(/at .*\.(ts|js):\d+/);
  expect(text).not.toMatch(/node_modules|\/src\//);
}

describe('hostile input', () => {
  it('malformed JSON is 400, another content type is 415, a huge body is 413: all in the error shape', async () => {
    const send = (body: string, type: string) => hub.call('/broadcast', { method: 'POST', token: svc, body, headers: { 'content-type': type } });
    const malformed = await send('{"type": "x",', 'application/json');
    expect(malformed.status).toBe(400);
    expectErrorShape(await malformed.json(), 'invalid_request');
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp']) {
      const r = await send('{"type":"x"}', type);
      expect(r.status, type).toBe(415);
      expectErrorShape(await r.json(), 'unsupported_media_type');
    }
    const noType = await hub.call('/broadcast', { method: 'POST', token: svc, body: new Blob(['{"type":"x"}']) });
    expect(noType.status).toBe(415);
    const huge = await send(JSON.stringify({ type: 'x', data: 'y'.repeat(5_000_000) }), 'application/json');
    expect(huge.status).toBe(413);
    expectErrorShape(await huge.json(), 'payload_too_large');
    const utf8 = await send('{"type":"x","data":"é"}', 'application/json; charset=utf-8');
    expect(utf8.status).toBe(202);
  });

  it('a body nested deeper than 64 levels is 400 in the error shape, however deep; 64 levels publish', async () => {
    const send = (data: string) => hub.call('/broadcast', { method: 'POST', token: svc, body: `{"type":"deep","data":${data}}`, headers: { 'content-type': 'application/json' } });
    const nest = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
    // The body object is the first level: 63 arrays inside it make 64.
    expect((await send(nest(63))).status).toBe(202);
    for (const levels of [64, 5000]) {
      const r = await send(nest(levels));
      expect(r.status, String(levels)).toBe(400);
      expectErrorShape(await r.json(), 'invalid_request');
    }
    const objects = await send('{"a":'.repeat(1500) + '1' + '}'.repeat(1500));
    expect(objects.status).toBe(400);
    expect((await hub.call('/health')).status).toBe(200);
  });

  it('unknown routes are 404 in the error shape', async () => {
    const r = await hub.call('/nope/../../etc/passwd', { token: svc });
    expect(r.status).toBe(404);
    expectErrorShape(await r.json(), 'not_found');
  });

  it('newlines in event types, room ids, user ids and ids can never forge an SSE field or frame', async () => {
    const s = await hub.stream('/events?rooms=safe', hub.token('victim'));
    const attempts = [
      { type: 'ok\nid: 999\nevent: forged' },
      { type: 'ok', room: 'safe\n\nevent: forged' },
      { type: 'ok', userId: 'victim\r\nevent: forged' },
      { type: 'ok', data: '\n\nevent: forged\ndata: {}\n\n' },
      { type: 'ok', room: 'safe', data: { 'k\nevent: forged': 'v\r\n\r\nid: 1' } },
    ];
    for (const a of attempts) await hub.call('/broadcast', { method: 'POST', token: svc, json: a });
    const marker = await hub.call('/broadcast', { method: 'POST', token: svc, json: { type: 'done' } });
    expect(marker.status).toBe(202);
    await s.next('done');
    expect(s.events.some((f) => f.event === 'forged')).toBe(false);
    expect(s.raw).not.toMatch(/^event: forged/m);
    // The two payload attempts were published intact inside JSON.
    expect(s.dataOf<{ data: unknown }>('ok').map((e) => e.data)).toEqual(['\n\nevent: forged\ndata: {}\n\n', { 'k\nevent: forged': 'v\r\n\r\nid: 1' }]);
    // Last-Event-ID and metadata with line breaks are refused or neutralised too.
    const evil = await hub.stream('/events', hub.token('victim'), { 'last-event-id': 'x: y event: forged' });
    await evil.next('history-gap');
    const badMeta = await hub.call('/events?meta.k=%0Aevent:%20forged', { token: hub.token('victim') });
    expect(badMeta.status).toBe(400);
  });

  it('the framing module refuses CR, LF and NUL in id and event fields', () => {
    expect(() => assertFieldValue('event', 'a\nb')).toThrow();
    expect(() => assertFieldValue('id', 'a\rb')).toThrow();
    expect(() => assertFieldValue('id', 'a\0b')).toThrow();
    expect(() => encodeControl('bad\ntype', {})).toThrow();
    const ev: HubEvent = { id: '1\n2', type: 't', data: null, room: null, userId: null, connectionId: null, filters: null, sender: 's', ownerUserId: null, timestamp: new Date().toISOString() };
    expect(() => encodeEvent(ev)).toThrow();
    expect(encodeEvent({ ...ev, id: '0000000000000001', data: 'a\nb' }).toString()).toBe(
      `id: 0000000000000001\nevent: t\ndata: {"id":"0000000000000001","type":"t","data":"a\\nb","room":null,"userId":null,"sender":"s","timestamp":"${ev.timestamp}"}\n\n`,
    );
  });

  it('a token with a control character in sub is refused', async () => {
    const r = await hub.call('/rooms', { token: hub.token('evil\nname') });
    expect(r.status).toBe(401);
  });

  it('a request line with garbage does not crash the hub', async () => {
    await new Promise<void>((resolve) => {
      const sock = connect(Number(new URL(hub.url).port), '127.0.0.1', () => sock.write('GARBAGE /\r\n\r\n\x00\x01\x02'));
      sock.on('data', () => {});
      sock.on('close', () => resolve());
      sock.setTimeout(3000, () => sock.destroy());
    });
    expect((await hub.call('/health')).status).toBe(200);
  });
});
