// Token renewal against a real hub: a subscription crosses three token expiries with no gap, no
// repeat and no reconnect, once with getToken (4-second tokens) and once holding only a token that
// it renews with POST /auth/refresh (the hub's JWT_TTL is 4 s), while events keep being published.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomcastClient } from '../../src/client/client.js';
import { RoomcastPublisher } from '../../src/client/publisher.js';
import { tokenTimes } from '../../src/client/token.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { pause, waitFor } from '../support/wait.js';
import { record } from './support.js';

/** Token lifetime, in seconds: renewed a second before it expires. */
const TTL_SEC = 4;
/** Pace of the publishing loop, in milliseconds. */
const PUBLISH_EVERY_MS = 100;

let hub: TestHub;
const clients: RoomcastClient[] = [];

beforeAll(async () => {
  hub = await startTestHub({ JWT_TTL: String(TTL_SEC) });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await hub?.close();
});

describe('token renewal', () => {
  it('crosses three expiries with getToken and with /auth/refresh, with no gap, repeat or reconnect', async () => {
    const issued: string[] = [];
    const withGetToken = new RoomcastClient({
      url: hub.url,
      getToken: () => {
        const t = hub.token('alice', 'user', {}, TTL_SEC);
        issued.push(t);
        return t;
      },
    });
    const withRefresh = new RoomcastClient({ url: hub.url, token: hub.token('bob', 'user', {}, TTL_SEC) });
    clients.push(withGetToken, withRefresh);
    const subs = [withGetToken.subscribe(), withRefresh.subscribe()];
    const recs = subs.map(record);
    await waitFor('both open', () => subs.every((s) => s.state === 'open'));

    // Publish to everyone until each client has held four tokens and the third one has expired.
    const publisher = new RoomcastPublisher({ url: hub.url, token: hub.token('svc', 'publisher') });
    const published: string[] = [];
    const refreshed = new Set<string>([withRefresh.token ?? '']);
    const thirdExpired = (tokens: string[]): boolean => tokens.length >= 4 && Date.now() > (tokenTimes(tokens[2] ?? '').expMs ?? Infinity);
    let n = 0;
    while (!(thirdExpired(issued) && thirdExpired([...refreshed]))) {
      published.push((await publisher.publish({ type: 'tick', data: { n: n++ } })).id);
      if (withRefresh.token !== undefined) refreshed.add(withRefresh.token);
      if (n > 30_000 / PUBLISH_EVERY_MS) throw new Error(`not renewed in time: ${issued.length} and ${refreshed.size} tokens`);
      await pause(PUBLISH_EVERY_MS); // pacing the load, not waiting for an outcome
    }
    published.push((await publisher.publish({ type: 'tick', data: { n: 'marker' } })).id);
    for (const rec of recs) await rec.until('the marker', () => rec.events.some((e) => e.id === published.at(-1)));

    for (const [i, rec] of recs.entries()) {
      expect(rec.events.map((e) => e.id), `client ${i}`).toEqual(published);
      expect(rec.states, `client ${i}`).toEqual(['connecting', 'open']);
      expect(rec.log.filter((l) => l === 'token-expired' || l === 'gap'), `client ${i}`).toEqual([]);
      expect(rec.log.filter((l) => l === 'connected').length, `client ${i}`).toBeGreaterThanOrEqual(4);
      expect(rec.errors, `client ${i}`).toEqual([]);
    }
    // The tokens really were short-lived ones, each replaced before its successor.
    expect(issued.length).toBeGreaterThanOrEqual(4);
    expect(refreshed.size).toBeGreaterThanOrEqual(4);
    for (const t of [...issued, ...refreshed]) {
      const { expMs, iatMs } = tokenTimes(t);
      expect((expMs ?? 0) - (iatMs ?? 0)).toBe(TTL_SEC * 1000);
    }
  }, 60_000);
});
