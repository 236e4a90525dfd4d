// @ts-check
// The event log: every published event and control event, newest first, filterable by type.
import { byId, clockText, el, summarize } from '../dom.js';

/** Entries kept in memory. */
const MAX_LOG = 500;
/** Entries rendered. */
const MAX_LOG_DOM = 200;

/**
 * @typedef {{ id: string | null, type: string, room: string | null, userId: string | null, sender: string | null,
 *   data: unknown, at: string, control: boolean }} LogEntry
 */

/** @type {LogEntry[]} */
let entries = [];
/** @type {Set<string>} */
const types = new Set();
let received = 0;

/** @param {LogEntry} entry */
function matchesFilter(entry) {
  const type = byId('log-filter', HTMLSelectElement).value;
  if (type && entry.type !== type) return false;
  if (byId('log-hide-time', HTMLInputElement).checked && entry.type === 'time') return false;
  return true;
}

/** @param {LogEntry} entry */
function logItem(entry) {
  const li = el('li');
  li.classList.add(`type-${entry.type.replace(/[^A-Za-z0-9_-]/g, '_')}`);
  if (entry.control) li.classList.add('control');
  if (entry.userId) li.classList.add('targeted');
  li.dataset.type = entry.type;
  if (entry.id) li.dataset.id = entry.id;
  let target;
  if (entry.control) target = entry.room ? `control · ${entry.room}` : 'control';
  else {
    target = entry.room ? `to ${entry.room}` : entry.userId ? `to user ${entry.userId}` : 'to everyone';
    if (entry.sender) target += ` · from ${entry.sender}`;
    if (entry.id) target += ` · #${entry.id}`;
  }
  li.append(el('time', 'at', clockText(entry.at)), el('span', 'type', entry.type), el('span', 'target', target), el('code', 'data', summarize(entry.data)));
  return li;
}

/** Adds an entry (and its type to the filter). @param {LogEntry} entry */
export function addLog(entry) {
  entries.push(entry);
  if (entries.length > MAX_LOG) entries.shift();
  received += 1;
  byId('log-count').textContent = `${received} event${received === 1 ? '' : 's'}`;
  if (!types.has(entry.type)) {
    types.add(entry.type);
    const select = byId('log-filter', HTMLSelectElement);
    const opt = el('option', '', entry.type);
    opt.value = entry.type;
    const after = [...select.options].slice(1).find((o) => o.value > entry.type);
    select.insertBefore(opt, after ?? null);
  }
  if (!matchesFilter(entry)) return;
  const list = byId('event-log');
  list.prepend(logItem(entry));
  while (list.children.length > MAX_LOG_DOM) list.lastElementChild?.remove();
}

/**
 * A control event as a log entry.
 * @param {string} type
 * @param {unknown} data
 */
export function addControl(type, data) {
  const room = typeof data === 'object' && data !== null && 'roomId' in data && typeof data.roomId === 'string' ? data.roomId : null;
  addLog({ id: null, type, room, userId: null, sender: null, data, at: new Date().toISOString(), control: true });
}

/** Marks how many repeated events the stream dropped (none, normally). @param {number} n */
export function setDuplicates(n) {
  if (n > 0) byId('event-log').dataset.duplicates = String(n);
}

function renderLog() {
  const items = [];
  for (let i = entries.length - 1; i >= 0 && items.length < MAX_LOG_DOM; i--) {
    const entry = /** @type {LogEntry} */ (entries[i]);
    if (matchesFilter(entry)) items.push(logItem(entry));
  }
  byId('event-log').replaceChildren(...items);
}

/** Empties the log and its filter. */
export function resetLog() {
  entries = [];
  types.clear();
  received = 0;
  const list = byId('event-log');
  list.replaceChildren();
  delete list.dataset.duplicates;
  byId('log-count').textContent = '0 events';
  const select = byId('log-filter', HTMLSelectElement);
  while (select.options.length > 1) select.lastElementChild?.remove();
  select.value = '';
}

/** Wires the filter, the time-tick toggle and Clear. */
export function wireLog() {
  byId('log-filter').addEventListener('change', renderLog);
  byId('log-hide-time').addEventListener('change', renderLog);
  byId('log-clear').addEventListener('click', () => {
    entries = [];
    renderLog();
  });
}
