import type { HubEvent, PublicEvent } from './types.js';

/** The heartbeat comment, shared by every stream. */
export const PING_FRAME = Buffer.from(': ping\n\n');

const LINE_BREAK = /[\r\n]/;

/** Refuses a value that would end an SSE field line early and forge another field or frame. */
export function assertFieldValue(field: 'id' | 'event', value: string): void {
  if (LINE_BREAK.test(value) || value.includes('\0')) {
    throw new Error(`SSE ${field} field must not contain CR, LF or NUL`);
  }
}

/** `retry: <ms>` at the head of every stream. */
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

/**
 * The `data:` JSON of an event, built from a pre-serialized payload so the payload is
 * stringified once per event. Key order is the public shape's.
 */
export function eventJson(ev: HubEvent, dataJson: string = JSON.stringify(ev.data ?? null)): string {
  return `{"id":${JSON.stringify(ev.id)},"type":${JSON.stringify(ev.type)},"data":${dataJson},` +
    `"room":${JSON.stringify(ev.room)},"userId":${JSON.stringify(ev.userId)},` +
    `"sender":${JSON.stringify(ev.sender)},"timestamp":${JSON.stringify(ev.timestamp)}}`;
}

/** The whole frame of a published event, encoded once and written to every recipient. */
export function encodeEvent(ev: HubEvent, dataJson?: string): Buffer {
  assertFieldValue('id', ev.id);
  assertFieldValue('event', ev.type);
  return Buffer.from(`id: ${ev.id}\nevent: ${ev.type}\ndata: ${eventJson(ev, dataJson)}\n\n`);
}
