import type { HubContext } from './context.js';
import { entitled } from './entitlement.js';
import { HubError } from './errors.js';
import type { Metadata, PublicEvent } from './events.js';
import { parseEventId } from './event-id.js';
import { toPublicEvent } from './frame.js';
import { mayJoin } from './policy.js';
import type { Principal } from './principal.js';
import { HISTORY_PAGE } from './streams.js';

/** A history query. */
export interface HistoryQuery {
  after: string | null;
  limit: number;
  room: string | null;
  metadata: Metadata;
}

/** The answer to a history query. */
export interface HistoryAnswer {
  events: PublicEvent[];
  oldestAvailable: string | null;
  gap: boolean;
}

/** The history use-case: kept events after an id that the caller may see, oldest first. */
export async function readHistory(ctx: HubContext, principal: Principal, q: HistoryQuery): Promise<HistoryAnswer> {
  const { broker } = ctx;
  if (q.room !== null && !mayJoin(principal, q.room)) throw new HubError('forbidden', `you may not read room "${q.room}"`);
  // A history reader is entitled as any of its connections would be in every room it may join.
  const reader = {
    userId: principal.userId, connectionId: null, metadata: q.metadata,
    inRoom: (room: string) => mayJoin(principal, room),
  };
  const info = await broker.historyInfo();
  const wellFormed = q.after === null || parseEventId(q.after) !== undefined;
  const gap = q.after !== null && (!wellFormed || !(await broker.historyHas(q.after)));
  const events: PublicEvent[] = [];
  let after = wellFormed ? q.after : null;
  for (;;) {
    const slice = await broker.historyAfter(after, HISTORY_PAGE);
    for (const ev of slice.events) {
      after = ev.id;
      if (q.room !== null && ev.room !== q.room) continue;
      if (!entitled(ev, reader)) continue;
      events.push(toPublicEvent(ev));
      if (events.length >= q.limit) return { events, oldestAvailable: info.oldestId, gap };
    }
    if (!slice.more) return { events, oldestAvailable: info.oldestId, gap };
  }
}
