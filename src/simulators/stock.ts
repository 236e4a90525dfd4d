/** One stock's quote as published in a `stock-update` event. */
export interface StockQuote {
  readonly symbol: string;
  /** Current price, rounded to cents, never below zero. */
  readonly price: number;
  /** Difference from the previous price, rounded to cents. */
  readonly change: number;
  /** `change` relative to the previous price, in percent, rounded to two decimals (0 when the previous price was 0). */
  readonly changePercent: number;
}

/** The symbols the stock feed publishes, with their starting prices. */
export const STOCK_SYMBOLS: Readonly<Record<string, number>> = Object.freeze({
  AAPL: 189.5,
  GOOG: 141.2,
  MSFT: 378.9,
  AMZN: 153.4,
  TSLA: 242.6,
});

/** Largest relative move of one step (±2 %). */
export const MAX_STEP_FRACTION = 0.02;

const round2 = (n: number): number => Math.round(n * 100) / 100;

/**
 * One step of the random walk: moves `previous` by up to ±MAX_STEP_FRACTION of itself
 * (with a one-cent floor on the move so a price at or near zero can still rise).
 * `random` is a number in [0, 1), as from Math.random; the result never goes below zero.
 */
export function stepPrice(symbol: string, previous: number, random: number): StockQuote {
  const prev = Number.isFinite(previous) && previous > 0 ? round2(previous) : 0;
  const r = Number.isFinite(random) ? Math.min(Math.max(random, 0), 1) : 0.5;
  const span = Math.max(prev * MAX_STEP_FRACTION, 0.01);
  const price = Math.max(0, round2(prev + (r * 2 - 1) * span));
  const change = round2(price - prev);
  const changePercent = prev > 0 ? round2((change / prev) * 100) : 0;
  return { symbol, price, change, changePercent };
}
