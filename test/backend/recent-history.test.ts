// The Redis broker's window of recent events: answers only what it fully covers.
import { describe, expect, it } from 'vitest';
import { RecentHistory } from '../../src/backend/redis/recent-history.js';
import { formatEventId } from '../../src/core/event-id.js';
import type { HubEvent } from '../../src/core/events.js';

const ev = (n: number): HubEvent => ({
  id: formatEventId(n), type: 't', data: n, room: null, userId: null, connectionId: null, filters: null,
  sender: 's', ownerUserId: null, timestamp: new Date(0).toISOString(),
});
const ids = (events: readonly HubEvent[]) => events.map((e) => Number(e.id));

describe('RecentHistory', () => {
  it('answers after and has only inside its coverage: from the floor to the newest event seen', () => {
    const r = new RecentHistory(5);
    expect(r.after(formatEventId(10), 10)).toBeUndefined();
    r.reset(formatEventId(10));
    for (const n of [11, 12, 13]) r.push(ev(n));
    expect(ids(r.after(formatEventId(10), 10)!.events)).toEqual([11, 12, 13]);
    expect(ids(r.after(formatEventId(11), 1)!.events)).toEqual([12]);
    expect(r.after(formatEventId(11), 1)!.more).toBe(true);
    expect(r.after(formatEventId(13), 10)).toEqual({ events: [], more: false });
    // Older than the floor, or newer than anything seen: not known here.
    expect(r.after(formatEventId(9), 10)).toBeUndefined();
    expect(r.after(formatEventId(14), 10)).toBeUndefined();
    expect(r.has(formatEventId(12))).toBe(true);
    expect(r.has(formatEventId(10))).toBeUndefined();
    expect(r.has(formatEventId(14))).toBeUndefined();
  });

  it('moves its floor as it drops the oldest event, and knows nothing after invalidate', () => {
    const r = new RecentHistory(3);
    r.reset(null);
    r.push(ev(1));
    expect(r.after(formatEventId(1), 10)).toBeUndefined();
    r.reset(formatEventId(0));
    for (let n = 1; n <= 5; n++) r.push(ev(n));
    expect(r.after(formatEventId(1), 10)).toBeUndefined();
    expect(ids(r.after(formatEventId(2), 10)!.events)).toEqual([3, 4, 5]);
    expect(r.has(formatEventId(2))).toBeUndefined();
    expect(r.has(formatEventId(4))).toBe(true);
    r.invalidate();
    expect(r.after(formatEventId(4), 10)).toBeUndefined();
  });
});
