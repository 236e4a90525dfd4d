/**
 * How the Redis broker stores an event in the history stream (entry id `<eventId>-0`, fields `h`
 * header JSON and `d` data JSON) and reads it back, from the stream or from a bus message.
 */
import { EVENT_ID_DIGITS } from '../../core/event-id.js';
import type { HubEvent, Metadata } from '../../core/events.js';
import type { FrameFields } from '../../core/frame.js';

/** An event's fields other than id and data, as kept in the stream (`h`) and sent on the bus. */
export interface Header {
  t: string;
  r: string | null;
  u: string | null;
  c: string | null;
  f: Metadata | null;
  s: string;
  o: string | null;
  ts: string;
}

/** `1712…-0` (a stream entry id) → the 16-digit event id. */
export function entryToEventId(entryId: string): string {
  const dash = entryId.indexOf('-');
  return (dash < 0 ? entryId : entryId.slice(0, dash)).padStart(EVENT_ID_DIGITS, '0');
}

/** A 16-digit event id → the stream entry id it was stored under. */
export function eventToEntryId(id: string): string {
  return `${id.replace(/^0+(?=\d)/, '')}-0`;
}

/** The frame fields a header carries. */
export function frameFields(h: Header): FrameFields {
  return { type: h.t, room: h.r, userId: h.u, sender: h.s, timestamp: h.ts };
}

/** A HubEvent whose data JSON is read (and parsed) only when someone asks for it. */
export function makeEvent(id: string, h: Header, readDataJson: () => string): HubEvent {
  let json: string | undefined;
  let parsed: { v: unknown } | undefined;
  const dataJson = (): string => (json ??= readDataJson());
  return {
    id, type: h.t, room: h.r, userId: h.u, connectionId: h.c, filters: h.f, sender: h.s, ownerUserId: h.o, timestamp: h.ts,
    get dataJson() { return dataJson(); },
    get data() { return (parsed ??= { v: JSON.parse(dataJson()) as unknown }).v; },
  };
}

/** A history stream entry as a HubEvent. */
export function fieldsToEvent(entryId: string, fields: string[]): HubEvent {
  let header = '{}';
  let data = 'null';
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'h') header = fields[i + 1] as string;
    else if (fields[i] === 'd') data = fields[i + 1] as string;
  }
  return makeEvent(entryToEventId(entryId), JSON.parse(header) as Header, () => data);
}
