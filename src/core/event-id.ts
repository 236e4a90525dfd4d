/** Event ids are fixed-width decimal strings, so string order, numeric order and publish order agree. */
export const EVENT_ID_DIGITS = 16;
/** Ids are microsecond-scaled wall-clock time, so they keep increasing across restarts of a process. */
export const ID_TICKS_PER_MS = 1000;

const ID_RE = /^\d{16}$/;

/** Formats a sequence number as an event id. */
export function formatEventId(n: number): string {
  return String(n).padStart(EVENT_ID_DIGITS, '0');
}

/** The sequence number of a well-formed event id, else undefined. */
export function parseEventId(id: string): number | undefined {
  return ID_RE.test(id) ? Number(id) : undefined;
}

/** Hands out strictly increasing ids that also track the clock (memory mode). */
export class EventIdClock {
  private last = 0;
  /** The next id: one more than the last, or the clock if that is later. */
  next(nowMs: number = Date.now()): string {
    this.last = Math.max(this.last + 1, nowMs * ID_TICKS_PER_MS);
    return formatEventId(this.last);
  }
}
