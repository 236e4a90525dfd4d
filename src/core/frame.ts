/**
 * The SSE frame layout, in one place. A published event's frame is
 *   id: <id>\nevent: <type>\ndata: {"id":"<id>","type":…,"data":<data>,"room":…,"userId":…,"sender":…,"timestamp":…}\n\n
 * built once per event and written to every recipient. The Redis broker assembles the same bytes
 * inside its publish script from the pieces `eventFrameParts` returns (the id is known only there).
 */
import { EVENT_ID_DIGITS } from './event-id.js';
import type { EventDraft, HubEvent, PublicEvent } from './events.js';

/** The heartbeat comment, shared by every stream. */
export const PING_FRAME = Buffer.from(': ping\n\n');

const LINE_BREAK = /[\r\n]/;
/** An ISO-8601 timestamp as `Date.toISOString` writes it: always this many characters. */
const ISO_TIMESTAMP_CHARS = 24;
/** `id: ` before the id on the frame's first line. */
const ID_FIELD = 'id: ';

/** Refuses a value that would end an SSE field line early and forge another field or frame. */
export function assertFieldValue(field: 'id' | 'event', value: string): void {
  if (LINE_BREAK.test(value) || value.includes('\0')) {
    throw new Error(`SSE ${field} field must not contain CR, LF or NUL`);
  }
}

/** `retry: <ms>` at the head of every stream (and before `shutdown`). */
export function encodeRetry(ms: number): Buffer {
  return Buffer.from(`retry: ${Math.trunc(ms)}\n\n`);
}

/** A control event (no `id:`, so the browser's last event id always names a published event). */
export function encodeControl(type: string, data: unknown): Buffer {
  assertFieldValue('event', type);
  return Buffer.from(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** The public JSON shape of an event. */
export function toPublicEvent(ev: HubEvent): PublicEvent {
  return {
    id: ev.id, type: ev.type, data: ev.data ?? null, room: ev.room,
    userId: ev.userId, sender: ev.sender, timestamp: ev.timestamp,
  };
}

/** The fields of a frame other than its id and data, in the order the frame carries them. */
export interface FrameFields {
  readonly type: string;
  readonly room: string | null;
  readonly userId: string | null;
  readonly sender: string;
  readonly timestamp: string;
}

/**
 * The frame of an event split around its id and data:
 * `id: ` + id + `afterId` + id + `afterDataId` + data + `afterData`.
 */
export interface FrameParts {
  readonly afterId: string;
  readonly afterDataId: string;
  readonly afterData: string;
}

/** The constant pieces of an event's frame, known before its id. */
export function eventFrameParts(f: FrameFields): FrameParts {
  assertFieldValue('event', f.type);
  return {
    afterId: `\nevent: ${f.type}\ndata: {"id":"`,
    afterDataId: `","type":${JSON.stringify(f.type)},"data":`,
    afterData: `,"room":${JSON.stringify(f.room)},"userId":${JSON.stringify(f.userId)},` +
      `"sender":${JSON.stringify(f.sender)},"timestamp":${JSON.stringify(f.timestamp)}}\n\n`,
  };
}

/** Where the data JSON starts and ends in a frame built from `parts` (ids are fixed width). */
export function dataBounds(parts: FrameParts, frameBytes: number): { start: number; end: number } {
  const start = ID_FIELD.length + EVENT_ID_DIGITS + Buffer.byteLength(parts.afterId) + EVENT_ID_DIGITS +
    Buffer.byteLength(parts.afterDataId);
  return { start, end: frameBytes - Buffer.byteLength(parts.afterData) };
}

/** The whole frame of a published event, encoded once and written to every recipient. */
export function encodeEvent(ev: HubEvent, dataJson: string = JSON.stringify(ev.data ?? null)): Buffer {
  assertFieldValue('id', ev.id);
  const p = eventFrameParts(ev);
  return Buffer.from(ID_FIELD + ev.id + p.afterId + ev.id + p.afterDataId + dataJson + p.afterData);
}

/** Frames already encoded, by event object: an event replayed to many streams is encoded once. */
const encoded = new WeakMap<HubEvent, Buffer>();

/**
 * The frame of an event, encoded once per event object and shared by every stream it goes to
 * (live or replayed); `known` is a frame the broker already has (the Redis bus carries it).
 */
export function frameOf(ev: HubEvent, known?: Buffer): Buffer {
  let frame = encoded.get(ev);
  if (frame === undefined) {
    frame = known ?? encodeEvent(ev, ev.dataJson);
    encoded.set(ev, frame);
  }
  return frame;
}

/** The encoded size of a draft's frame once it has an id and a timestamp (both fixed width). */
export function frameBytes(draft: EventDraft, dataJson: string): number {
  const p = eventFrameParts({ ...draft, timestamp: 'T'.repeat(ISO_TIMESTAMP_CHARS) });
  return ID_FIELD.length + 2 * EVENT_ID_DIGITS + Buffer.byteLength(p.afterId) + Buffer.byteLength(p.afterDataId) +
    Buffer.byteLength(dataJson) + Buffer.byteLength(p.afterData);
}
