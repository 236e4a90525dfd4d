// @ts-check
// The hub panel for publishers and admins: stats, and a broadcast form that publishes through
// the client library's RoomcastPublisher (its own Idempotency-Key, retried on 503).
import { RoomcastPublisher } from '../../sdk/roomcast.js';
import { api, describeError, failureOf, ID_PATTERN } from '../api.js';
import { byId, clockText, el } from '../dom.js';

/** How often stats refresh while the page is visible, in milliseconds. */
const STATS_REFRESH_MS = 5_000;
/** Attempts per broadcast: a person is waiting for the answer. */
const PUBLISH_ATTEMPTS = 3;

/** @type {ReturnType<typeof setInterval> | undefined} */
let statsTimer;
/** @type {RoomcastPublisher | null} */
let publisher = null;

/** @param {HTMLElement} box @param {string} label @param {unknown} value */
function stat(box, label, value) {
  const dl = el('dl', 'stat');
  dl.append(el('dt', '', label), el('dd', '', value === undefined || value === null ? '—' : String(value)));
  box.append(dl);
}

async function refreshStats() {
  const r = await api('GET', '/stats');
  const error = byId('stats-error');
  if (!r.ok) {
    error.textContent = `Stats unavailable: ${describeError(r)}`;
    return;
  }
  error.textContent = '';
  /** @type {any} */
  const s = r.data ?? {};
  const box = byId('stats');
  box.replaceChildren();
  stat(box, 'Connections', s.totalConnections);
  stat(box, 'Active users', s.activeUsers);
  stat(box, 'Rooms', s.totalRooms);
  stat(box, 'Published', s.events?.published);
  stat(box, 'Delivered', s.events?.delivered);
  stat(box, 'Replayed', s.events?.replayed);
  stat(box, 'Evicted', s.events?.evicted);
  stat(box, 'History', s.history?.size);
  stat(box, 'Redis', s.redis);
  if (Array.isArray(s.nodes) && s.nodes.length > 0) {
    const ul = el('ul', 'nodes');
    ul.setAttribute('aria-label', 'Nodes');
    for (const n of s.nodes) ul.append(el('li', '', `${n.nodeId}: ${n.connections} connection${n.connections === 1 ? '' : 's'}, up ${n.uptimeSec} s`));
    box.append(ul);
  }
  byId('stats-updated').textContent = `updated ${clockText(null)}`;
}

function target() {
  const checked = document.querySelector('input[name="target"]:checked');
  return checked instanceof HTMLInputElement ? checked.value : 'all';
}

function updateTargetField() {
  const t = target();
  const input = byId('bc-target-id', HTMLInputElement);
  input.disabled = t === 'all';
  input.required = t !== 'all';
  if (t === 'all') input.value = '';
}

/** @param {SubmitEvent} e */
async function onBroadcast(e) {
  e.preventDefault();
  const result = byId('bc-result');
  const typeInput = byId('bc-type', HTMLInputElement);
  const targetInput = byId('bc-target-id', HTMLInputElement);
  const type = typeInput.value.trim();
  const t = target();
  const targetId = targetInput.value.trim();
  const raw = byId('bc-data', HTMLTextAreaElement).value;
  result.dataset.kind = 'error';
  if (!ID_PATTERN.test(type)) {
    result.textContent = 'The event type is 1–64 letters, digits, _ . : - and starts with a letter or digit.';
    typeInput.focus();
    return;
  }
  if (t !== 'all' && !targetId) {
    result.textContent = `Name the ${t} to send to.`;
    targetInput.focus();
    return;
  }
  /** @type {unknown} */
  let data = {};
  if (raw.trim() !== '') {
    try {
      data = JSON.parse(raw);
    } catch {
      data = { text: raw.trim() };
    }
  }
  const send = byId('bc-send', HTMLButtonElement);
  send.disabled = true;
  result.dataset.kind = '';
  result.textContent = 'Sending…';
  publisher ??= new RoomcastPublisher({ url: location.origin, maxAttempts: PUBLISH_ATTEMPTS });
  try {
    const r = await publisher.publish({ type, data, ...(t === 'room' ? { room: targetId } : t === 'user' ? { userId: targetId } : {}) });
    result.dataset.kind = 'ok';
    result.textContent = `Sent event ${r.id} to ${r.recipients} connection${r.recipients === 1 ? '' : 's'}.`;
  } catch (err) {
    result.dataset.kind = 'error';
    result.textContent = describeError(failureOf(err));
  } finally {
    send.disabled = false;
  }
}

/** Shows stats now and every few seconds while the page is visible. */
export function startStats() {
  stopStats();
  void refreshStats();
  statsTimer = setInterval(() => {
    if (document.visibilityState === 'visible') void refreshStats();
  }, STATS_REFRESH_MS);
}

/** Stops refreshing stats. */
export function stopStats() {
  clearInterval(statsTimer);
  statsTimer = undefined;
}

/** Empties the panel. */
export function resetAdmin() {
  byId('stats').replaceChildren();
  byId('bc-result').textContent = '';
}

/** Wires the broadcast form. */
export function wireAdmin() {
  for (const radio of document.querySelectorAll('input[name="target"]')) radio.addEventListener('change', updateTargetField);
  byId('broadcast-form').addEventListener('submit', (e) => void onBroadcast(/** @type {SubmitEvent} */ (e)));
  updateTargetField();
}
