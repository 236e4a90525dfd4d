// @ts-check
// The stocks panel: one tile per symbol with its price, change and a price line.
import { byId, el, isObject } from '../dom.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
/** Prices kept per symbol for its line. */
const SPARK_POINTS = 40;
/** How long a tile flashes after an update, in milliseconds. */
const FLASH_MS = 700;

/** @typedef {{ tile: HTMLElement, price: HTMLElement, change: HTMLElement, line: SVGPolylineElement, history: number[] }} Tile */

/** @type {Map<string, Tile>} */
const tiles = new Map();

/** Removes every tile. */
export function clearStocks() {
  tiles.clear();
  byId('stock-tiles').replaceChildren();
  byId('stocks-empty').hidden = false;
}

/** True when no tile is shown. */
export function noStocks() {
  return tiles.size === 0;
}

/** @param {string} symbol @returns {Tile} */
function newTile(symbol) {
  const tile = el('article', 'tile');
  tile.dataset.symbol = symbol;
  const price = el('span', 'price');
  const change = el('span', 'change');
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', '0 0 100 30');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('aria-hidden', 'true');
  const line = document.createElementNS(SVG_NS, 'polyline');
  svg.append(line);
  tile.append(el('h3', 'symbol', symbol), price, change, svg);
  const box = byId('stock-tiles');
  const after = [...box.children].find((t) => (/** @type {HTMLElement} */ (t).dataset.symbol ?? '') > symbol);
  box.insertBefore(tile, after ?? null);
  byId('stocks-empty').hidden = true;
  return { tile, price, change, line, history: [] };
}

/** @param {number[]} history */
function linePoints(history) {
  const min = Math.min(...history);
  const max = Math.max(...history);
  const span = max - min || 1;
  const n = history.length;
  const points = history.map((p, i) => {
    const x = n === 1 ? 0 : (i / (n - 1)) * 100;
    const y = max === min ? 15 : 28 - ((p - min) / span) * 26;
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  if (n === 1) points.push(`100,${(points[0] ?? '0,15').split(',')[1]}`);
  return points.join(' ');
}

/**
 * Shows a `stock-update`: `{symbol, price, change, changePercent}`.
 * @param {unknown} d
 */
export function updateStock(d) {
  if (!isObject(d) || typeof d.symbol !== 'string' || typeof d.price !== 'number') return;
  let s = tiles.get(d.symbol);
  if (!s) tiles.set(d.symbol, (s = newTile(d.symbol)));
  const change = typeof d.change === 'number' ? d.change : 0;
  const pct = typeof d.changePercent === 'number' ? d.changePercent : 0;
  const sign = change > 0 ? '+' : change < 0 ? '−' : '±';
  s.history.push(d.price);
  if (s.history.length > SPARK_POINTS) s.history.shift();
  s.price.textContent = d.price.toFixed(2);
  s.change.textContent = `${sign}${Math.abs(change).toFixed(2)} (${sign}${Math.abs(pct).toFixed(2)}%)`;
  const tile = s.tile;
  tile.classList.toggle('up', change > 0);
  tile.classList.toggle('down', change < 0);
  tile.dataset.price = String(d.price);
  tile.dataset.updates = String(Number(tile.dataset.updates ?? '0') + 1);
  tile.setAttribute('aria-label', `${d.symbol} ${d.price.toFixed(2)}, ${change > 0 ? 'up' : change < 0 ? 'down' : 'unchanged'} ${Math.abs(pct).toFixed(2)} percent`);
  s.line.setAttribute('points', linePoints(s.history));
  tile.classList.remove('flash');
  void tile.offsetWidth; // restart the animation
  tile.classList.add('flash');
  setTimeout(() => tile.classList.remove('flash'), FLASH_MS);
}
