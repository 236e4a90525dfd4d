// A publisher that keeps publishing through a Redis failover, as the contract asks publishers to:
// every event has an Idempotency-Key of its own, and a 503 or a network error is retried with the
// same key (on the next process) until it is answered 202.
import { api, type Answer } from '../support/http.js';
import { pause } from '../support/wait.js';
import type { HubNode } from './cluster-harness.js';

/** Pause before a retry (the hub says Retry-After: 1; the test retries sooner to keep short). */
const RETRY_PAUSE_MS = 100;

/** What a run of the publisher saw. */
export interface PublishRun {
  /** The ids answered 202, in publish order (one per event). */
  ids: string[];
  /** 503 answers, and how many of them carried Retry-After. */
  unavailable: number;
  withRetryAfter: number;
  /** The first event answered 503 (undefined: none was). */
  firstRefused: number | undefined;
  /** From the first 503 to the 202 that followed it, in ms (for the log; never asserted). */
  refusedForMs: number;
  /** Requests that failed without an answer (a process busy past the request timeout). */
  networkErrors: number;
}

/**
 * Publishes `count` events to `room`, one at a time, alternating processes; calls `before(i)`
 * before event i (to kill a primary). Gives up after `deadlineMs` in all.
 */
export async function publishThroughFailover(nodes: readonly HubNode[], opts: {
  token: string; room: string; count: number; tag: string; deadlineMs: number; before?: (i: number) => void;
}): Promise<PublishRun> {
  const run: PublishRun = { ids: [], unavailable: 0, withRetryAfter: 0, firstRefused: undefined, refusedForMs: 0, networkErrors: 0 };
  const deadline = Date.now() + opts.deadlineMs;
  let refusedAt: number | undefined;
  for (let i = 0; i < opts.count; i++) {
    opts.before?.(i);
    const key = `${opts.tag}-${i}`;
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > deadline) throw new Error(`event ${i} not published within ${opts.deadlineMs} ms: ${JSON.stringify(run)}`);
      const node = nodes[(i + attempt) % nodes.length] as HubNode;
      let r: Answer;
      try {
        r = await api(node.url, 'POST', `/broadcast/room/${opts.room}`, {
          token: opts.token, body: { type: 'f', data: { i } }, headers: { 'Idempotency-Key': key },
        });
      } catch {
        run.networkErrors++;
        await pause(RETRY_PAUSE_MS);
        continue;
      }
      if (r.status === 202) {
        if (refusedAt !== undefined && run.refusedForMs === 0) run.refusedForMs = Date.now() - refusedAt;
        run.ids.push(r.body.id as string);
        break;
      }
      if (r.status !== 503) throw new Error(`unexpected answer ${r.status}: ${JSON.stringify(r.body)}`);
      run.unavailable++;
      run.firstRefused ??= i;
      refusedAt ??= Date.now();
      if (r.headers.get('retry-after') !== null) run.withRetryAfter++;
      await pause(RETRY_PAUSE_MS);
    }
  }
  return run;
}
