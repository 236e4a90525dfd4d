// @ts-check
// The clock in the top bar, set by the `time` feed.
import { byId, clockText, isObject } from '../dom.js';

/**
 * Shows a `time` event's time. `data.time` is the hub's wall-clock `HH:MM:SS` (shown as is);
 * older hubs sent epoch milliseconds there, shown in this browser's time zone; `iso` is the instant.
 * @param {unknown} data
 */
export function updateClock(data) {
  if (!isObject(data)) return;
  const clock = byId('clock', HTMLTimeElement);
  const iso = typeof data.iso === 'string' ? data.iso : null;
  if (typeof data.time === 'string') clock.textContent = data.time;
  else if (typeof data.time === 'number') clock.textContent = clockText(data.time);
  else clock.textContent = clockText(iso);
  if (iso !== null) clock.dateTime = iso;
}

/** Back to no time. */
export function resetClock() {
  byId('clock').textContent = '--:--:--';
}
