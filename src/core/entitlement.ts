import type { HubEvent, Metadata } from './events.js';

/**
 * Who is asking to receive an event: one stream (`connectionId` set), or a user reading history
 * outside any stream (`connectionId` null: events aimed at any of its connections count).
 */
export interface Receiver {
  readonly userId: string;
  readonly connectionId: string | null;
  readonly metadata: Metadata;
  /** True when the receiver is in the room (a stream) or may join it (a history reader). */
  inRoom(room: string): boolean;
}

/** True when every filter entry equals the metadata's value for that key (no filters: true). */
export function filtersMatch(filters: Metadata | null, metadata: Metadata): boolean {
  if (filters === null) return true;
  for (const key in filters) {
    if (metadata[key] !== filters[key]) return false;
  }
  return true;
}

/**
 * The one rule of who may receive an event: its target admits the receiver and its filters
 * match the receiver's metadata. ConnectionManager picks live recipients from indexes that
 * mirror this rule (its unit test checks they agree); replay and history answers call it directly.
 */
export function entitled(ev: HubEvent, r: Receiver): boolean {
  if (ev.connectionId !== null) {
    if (r.connectionId === null ? ev.ownerUserId !== r.userId : ev.connectionId !== r.connectionId) return false;
  } else if (ev.userId !== null) {
    if (ev.userId !== r.userId) return false;
  } else if (ev.room !== null && !r.inRoom(ev.room)) {
    return false;
  }
  return filtersMatch(ev.filters, r.metadata);
}
