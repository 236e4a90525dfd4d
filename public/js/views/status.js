// @ts-check
// The connection indicator in the top bar, the notice banner, and pop-up toasts.
import { byId, el } from '../dom.js';

const CONN_LABELS = {
  offline: 'Not connected',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  expired: 'Session expired',
};

/** @typedef {keyof typeof CONN_LABELS} ConnState */

/** How long a toast stays, in milliseconds. */
const TOAST_MS = 7000;
/** Toasts shown at once. */
const MAX_TOASTS = 4;

/** @param {ConnState} s */
export function setConn(s) {
  const conn = byId('conn');
  if (conn.dataset.state === s) return;
  conn.dataset.state = s;
  byId('conn-label').textContent = CONN_LABELS[s];
}

/** @returns {ConnState} */
export function connState() {
  return /** @type {ConnState} */ (byId('conn').dataset.state ?? 'offline');
}

/** @type {(() => void) | null} */
let noticeAction = null;

/**
 * Shows the notice banner.
 * @param {'info' | 'warning' | 'error'} kind
 * @param {string} topic what the notice is about, so a later event can clear just its own notice
 * @param {string} text
 * @param {string} [actionLabel]
 * @param {() => void} [action]
 */
export function showNotice(kind, topic, text, actionLabel, action) {
  const box = byId('notice');
  box.dataset.kind = kind;
  box.dataset.topic = topic;
  byId('notice-text').textContent = text;
  const btn = byId('notice-action', HTMLButtonElement);
  noticeAction = action ?? null;
  btn.hidden = !action;
  btn.textContent = actionLabel ?? '';
  box.hidden = false;
}

/** @param {string} [topic] hide only when the notice is about this */
export function hideNotice(topic) {
  const box = byId('notice');
  if (topic && box.dataset.topic !== topic) return;
  box.hidden = true;
  noticeAction = null;
}

/** @param {string} title @param {string} text */
export function toast(title, text) {
  const box = byId('toasts');
  const t = el('div', 'toast');
  t.append(el('strong', '', title), el('span', '', text));
  box.append(t);
  while (box.children.length > MAX_TOASTS) box.firstElementChild?.remove();
  setTimeout(() => t.remove(), TOAST_MS);
}

/** Wires the notice's buttons and Escape. */
export function wireStatus() {
  byId('notice-action').addEventListener('click', () => noticeAction?.());
  byId('notice-dismiss').addEventListener('click', () => hideNotice());
  document.addEventListener('keydown', (e) => {
    const box = byId('notice');
    if (e.key === 'Escape' && !box.hidden && box.dataset.topic !== 'session') hideNotice();
  });
}
