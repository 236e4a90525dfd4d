// @ts-check
// Small DOM and storage helpers every view uses. Everything is rendered with textContent and DOM
// APIs: no innerHTML, no inline script or style (the hub's CSP allows neither).

/**
 * The element with this id, checked to be of the expected kind.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} [kind] HTMLElement when omitted
 * @returns {T}
 */
export function byId(id, kind) {
  const node = document.getElementById(id);
  const Kind = kind ?? HTMLElement;
  if (!(node instanceof Kind)) throw new Error(`#${id} is missing or not a ${Kind.name}`);
  return /** @type {T} */ (node);
}

/**
 * A new element with an optional class and text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * HH:MM:SS of an instant in the browser's time zone (now when absent).
 * @param {string | number | undefined | null} [at] ISO-8601 or epoch milliseconds
 */
export function clockText(at) {
  const d = at === undefined || at === null ? new Date() : new Date(at);
  if (Number.isNaN(d.getTime())) return '--:--:--';
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/**
 * A one-line rendering of any JSON value, cut to `max` characters.
 * @param {unknown} data
 */
export function summarize(data, max = 300) {
  let text;
  try {
    text = typeof data === 'string' ? data : JSON.stringify(data);
  } catch {
    text = String(data);
  }
  if (text === undefined) text = '';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The JSON stored under a key, or null.
 * @param {string} key
 * @returns {unknown}
 */
export function readJson(key) {
  try {
    const raw = localStorage.getItem(key);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

/**
 * Stores a value as JSON; private mode or a full storage only makes the page forget.
 * @param {string} key
 * @param {unknown} value
 */
export function writeJson(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // The page still works; it just forgets.
  }
}

/**
 * True when a value is a non-null object (for reading event payloads safely).
 * @param {unknown} v
 * @returns {v is Record<string, unknown>}
 */
export function isObject(v) {
  return typeof v === 'object' && v !== null;
}
