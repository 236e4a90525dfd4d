import { STOCK_SYMBOLS, stepPrice } from './stock.js';

/** What the built-in feeds publish through (the same path as `/broadcast`). */
export interface FeedPublisher {
  publish(input: { type: string; data: unknown; room?: string | null; sender: string }): Promise<unknown>;
}

export { STOCK_SYMBOLS, stepPrice, MAX_STEP_FRACTION } from './stock.js';
export type { StockQuote } from './stock.js';

/** One built-in feed's name. */
export type FeedName = 'time' | 'stock' | 'chat';

/** Default interval of each feed, in milliseconds. */
export const FEED_INTERVALS_MS: Readonly<Record<FeedName, number>> = Object.freeze({ time: 1000, stock: 2000, chat: 4000 });

/** The bot's user id and display name in `chat-message` events. */
export const CHAT_BOT = Object.freeze({ userId: 'bot', username: 'bot' });

/** What the chat bot says, in turn. */
export const CHAT_LINES: readonly string[] = Object.freeze([
  'Welcome to roomcast! Every message here is a Server-Sent Event.',
  'Try joining the stocks room to watch the prices move.',
  'Close your laptop lid and come back: the stream resumes where it left off.',
  'Admins can broadcast to everyone, a room or a single user.',
  'Open a second tab: presence events keep the member list current.',
  'Fun fact: EventSource reconnects by itself and sends Last-Event-ID.',
  'Anyone there? Say hello in the box below.',
]);

/** Options of the built-in feeds: where failures are logged, and interval overrides (tests). */
export interface SimulatorOptions {
  readonly logger?: { warn(obj: object, msg: string): void };
  readonly intervalsMs?: Partial<Record<FeedName, number>>;
}

/** The running feeds. */
export interface Simulators {
  /** Clears every timer; nothing is published afterwards. Safe to call twice. */
  stop(): void;
}

const SENDER = 'system';

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** The `time` feed's payload for an instant: the local wall clock (`HH:MM:SS`), the local date, the ISO-8601 instant. */
export function timeData(now: Date): { time: string; date: string; iso: string } {
  return {
    time: `${pad2(now.getHours())}:${pad2(now.getMinutes())}:${pad2(now.getSeconds())}`,
    date: `${String(now.getFullYear()).padStart(4, '0')}-${pad2(now.getMonth() + 1)}-${pad2(now.getDate())}`,
    iso: now.toISOString(),
  };
}

/**
 * Starts the named built-in feeds. Each publishes through `publisher` with sender `system`;
 * a publish that rejects is logged and the feed goes on. The timers are deliberately not
 * unref()'d: they keep a demo process alive. Call stop() on shutdown.
 */
export function startSimulators(
  names: readonly FeedName[],
  publisher: FeedPublisher,
  opts: SimulatorOptions = {},
): Simulators {
  const intervals = { ...FEED_INTERVALS_MS, ...opts.intervalsMs };
  const timers: ReturnType<typeof setInterval>[] = [];
  let stopped = false;

  const publish = (feed: FeedName, type: string, room: string | null, data: unknown): void => {
    if (stopped) return;
    let pending: Promise<unknown>;
    try {
      pending = publisher.publish({ type, data, room, sender: SENDER });
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.catch((err: unknown) => {
      if (stopped) return;
      opts.logger?.warn({ feed, type, err }, 'simulator publish failed');
    });
  };

  const every = (ms: number, fn: () => void): void => {
    timers.push(setInterval(fn, ms));
  };

  for (const name of new Set(names)) {
    switch (name) {
      case 'time':
        every(intervals.time, () => publish('time', 'time', null, timeData(new Date())));
        break;
      case 'stock': {
        const prices = new Map<string, number>(Object.entries(STOCK_SYMBOLS));
        every(intervals.stock, () => {
          for (const [symbol, previous] of prices) {
            const quote = stepPrice(symbol, previous, Math.random());
            prices.set(symbol, quote.price);
            publish('stock', 'stock-update', 'stocks', quote);
          }
        });
        break;
      }
      case 'chat': {
        let next = 0;
        every(intervals.chat, () => {
          const text = CHAT_LINES[next % CHAT_LINES.length] ?? '';
          next += 1;
          publish('chat', 'chat-message', 'chat', { ...CHAT_BOT, text });
        });
        break;
      }
    }
  }

  return {
    stop(): void {
      stopped = true;
      for (const t of timers.splice(0)) clearInterval(t);
    },
  };
}
