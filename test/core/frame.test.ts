// The frame layout (src/core/frame.ts) is the one place an event's bytes are defined: the encoder,
// the size check before publishing and the Redis script's pieces must all agree with it.
import { describe, expect, it } from 'vitest';
import { formatEventId } from '../../src/core/event-id.js';
import type { EventDraft, HubEvent } from '../../src/core/events.js';
import {
  PING_FRAME, dataBounds, encodeControl, encodeEvent, encodeRetry, eventFrameParts, frameBytes, toPublicEvent,
} from '../../src/core/frame.js';

const TIMESTAMP = '2026-12-03T07:44:51.123Z';

function draft(over: Partial<EventDraft> = {}): EventDraft {
  return {
    type: 'price', data: { a: 1 }, room: 'lobby', userId: null, connectionId: null, filters: null,
    sender: 'svc', ownerUserId: null, ...over,
  };
}

function published(d: EventDraft, n = 1): HubEvent {
  return { ...d, id: formatEventId(n), timestamp: TIMESTAMP };
}

/** Drafts that stress the byte arithmetic: ASCII, multi-byte data, type, room, user and sender, escapes. */
const DRAFTS: [string, EventDraft][] = [
  ['ascii', draft()],
  ['null data', draft({ data: null, room: null })],
  ['multi-byte data', draft({ data: { text: 'héllo wörld ✓ 日本語 🎉' } })],
  ['multi-byte type, room and sender', draft({ type: 'prix-€', room: 'salle-é', sender: 'zoë' })],
  ['a user target', draft({ room: null, userId: 'ünïcode-user' })],
  ['escapes', draft({ data: 'line\nbreak "quoted" \\ back\u0001', sender: 'a"b' })],
  ['a big payload', draft({ data: 'x'.repeat(10_000) })],
];

describe('the event frame', () => {
  it('is the documented layout: id, event and one data line with the public JSON, then a blank line', () => {
    const ev = published(draft({ data: { a: 1, s: 'x' } }), 42);
    const id = '0000000000000042';
    expect(encodeEvent(ev).toString()).toBe(
      `id: ${id}\nevent: price\n` +
      `data: {"id":"${id}","type":"price","data":{"a":1,"s":"x"},"room":"lobby","userId":null,"sender":"svc","timestamp":"${TIMESTAMP}"}\n\n`,
    );
    const dataLine = encodeEvent(ev).toString().split('\n')[2]!;
    expect(JSON.parse(dataLine.slice('data: '.length))).toEqual(toPublicEvent(ev));
  });

  it('uses the serialized data it is given instead of serializing again', () => {
    const ev = published(draft({ data: { a: 1 } }));
    expect(encodeEvent(ev, '{"a": 1}').toString()).toContain('"data":{"a": 1},');
  });

  it.each(DRAFTS)('frameBytes(draft) equals the encoded frame\'s length (%s)', (_name, d) => {
    const dataJson = JSON.stringify(d.data ?? null);
    expect(frameBytes(d, dataJson)).toBe(encodeEvent(published(d, 123_456), dataJson).length);
  });

  it.each(DRAFTS)('dataBounds slices exactly the data JSON out of the frame (%s)', (_name, d) => {
    const dataJson = JSON.stringify(d.data ?? null);
    const frame = encodeEvent(published(d, 7), dataJson);
    const { start, end } = dataBounds(eventFrameParts({ ...d, timestamp: TIMESTAMP }), frame.length);
    expect(frame.subarray(start, end).toString()).toBe(dataJson);
  });

  it('is what the Redis script assembles from eventFrameParts once it knows the id', () => {
    for (const [, d] of DRAFTS) {
      const ev = published(d, 99);
      const p = eventFrameParts(ev);
      const dataJson = JSON.stringify(d.data ?? null);
      expect(`id: ${ev.id}${p.afterId}${ev.id}${p.afterDataId}${dataJson}${p.afterData}`).toBe(encodeEvent(ev).toString());
    }
  });
});

describe('control frames', () => {
  it('carry no id line, so a client\'s last event id always names a published event', () => {
    expect(encodeControl('connected', { a: 1 }).toString()).toBe('event: connected\ndata: {"a":1}\n\n');
    expect(encodeRetry(1234.9).toString()).toBe('retry: 1234\n\n');
    expect(PING_FRAME.toString()).toBe(': ping\n\n');
  });
});
