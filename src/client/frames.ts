/** What a subscription reads from frames and writes into its stream URL. */
import { endpoint } from './http.js';
import type { SseFrame } from './sse-parser.js';
import type { RoomcastEvent } from './types.js';

/** The `GET /events` URL naming rooms and metadata. */
export function streamUrl(baseUrl: string, rooms: Iterable<string>, metadata: Record<string, string>): string {
  const q = new URLSearchParams();
  const list = [...rooms];
  if (list.length > 0) q.set('rooms', list.join(','));
  for (const [k, v] of Object.entries(metadata)) q.set(`meta.${k}`, v);
  const qs = q.toString();
  return endpoint(baseUrl, `/events${qs ? `?${qs}` : ''}`);
}

/** A published event's frame as the envelope handed to listeners (a body that is not JSON becomes `data`). */
export function toEvent(id: string, f: SseFrame): RoomcastEvent {
  let body: Partial<RoomcastEvent> = {};
  try {
    body = (JSON.parse(f.data) as Partial<RoomcastEvent> | null) ?? {};
  } catch {
    body = { data: f.data };
  }
  return {
    id, type: typeof body.type === 'string' ? body.type : f.event, data: body.data ?? null, room: body.room ?? null,
    userId: body.userId ?? null, sender: body.sender ?? '', timestamp: body.timestamp ?? '',
  };
}

/** A control event's JSON body; an empty object when it is not JSON. */
export function controlData(f: SseFrame): Record<string, unknown> {
  try {
    const v = JSON.parse(f.data) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
