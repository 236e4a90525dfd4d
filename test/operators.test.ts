// Operators on one process: POST /admin/disconnect and POST /admin/revoke, over real sockets.
import { execFileSync } from 'node:child_process';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, TOKEN_MAX_TTL_SEC } from '../src/config.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { mint, TEST_SECRET } from './support/tokens.js';
import { openStream, RawStream } from './support/sse-client.js';

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub({ NODE_ID: 'operators', TOKEN_MAX_TTL: '1d' });
});
afterAll(async () => hub.close());

const nowSec = (): number => Math.floor(Date.now() / 1000);
const post = (path: string, token: string | undefined, json?: unknown, headers: Record<string, string> = {}) =>
  hub.call(path, { method: 'POST', headers, ...(token === undefined ? {} : { token }), ...(json === undefined ? {} : { json }) });
const admin = (): string => hub.token('root', 'admin');
/** A token issued at `iat` (seconds since the epoch), valid for an hour after. */
const issuedAt = (sub: string, iat: number): string => mint(sub, 'user', { iat }, 3600);
/** A token without `iat`. */
const noIat = (sub: string, ttlSec = 3600): string =>
  jwt.sign({ role: 'user' }, TEST_SECRET, { algorithm: 'HS256', subject: sub, expiresIn: ttlSec, noTimestamp: true });

/** Publishes a marker to everyone: a stream that gets it got everything sent to it before. */
async function marker(): Promise<string> {
  const r = await post('/broadcast', hub.token('svc', 'publisher'), { type: 'marker', data: null });
  expect(r.status).toBe(202);
  return ((await r.json()) as { id: string }).id;
}

async function expectError(r: Response, status: number, code: string): Promise<{ error: { details?: { path: string }[] } }> {
  expect(r.status).toBe(status);
  const body = (await r.json()) as { error: { code: string; message: string; details?: { path: string }[] } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  return body;
}

describe('POST /admin/disconnect', () => {
  it('ends every stream of a user, each after `disconnected {reason}`, and counts them; others stay', async () => {
    const t = hub.token('dora');
    const [s1, s2] = [await hub.stream('/events', t), await hub.stream('/events?rooms=lobby', t)];
    const bystander = await hub.stream('/events', hub.token('bystander'));
    const r = await post('/admin/disconnect', admin(), { userId: 'dora', reason: 'permissions changed' });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ disconnected: 2 });
    for (const s of [s1, s2]) {
      expect(await s.next('disconnected')).toEqual({ reason: 'permissions changed' });
      await s.ended();
      // a control event: no id, so the client's last event id still names a published event
      expect(s.frames.find((f) => f.event === 'disconnected')?.id).toBeUndefined();
    }
    const id = await marker();
    await bystander.next('marker');
    expect(bystander.closed).toBe(false);
    expect(bystander.dataOf('disconnected')).toEqual([]);
    expect(bystander.events.at(-1)?.id).toBe(id);
    // not a ban: the client reconnects
    const again = await hub.stream('/events', t);
    expect((await again.next<{ userId: string }>('connected')).userId).toBe('dora');
  });

  it('ends one stream by its connection id, with the default reason', async () => {
    const t = hub.token('eli');
    const [s1, s2] = [await hub.stream('/events', t), await hub.stream('/events', t)];
    const { connectionId } = await s1.next<{ connectionId: string }>('connected');
    const r = await post('/admin/disconnect', admin(), { connectionId });
    expect(await r.json()).toEqual({ disconnected: 1 });
    expect(await s1.next('disconnected')).toEqual({ reason: 'disconnected by an operator' });
    await s1.ended();
    await marker();
    await s2.next('marker');
    expect(s2.closed).toBe(false);
  });

  it('answers 0 for a user or a connection with no open stream', async () => {
    expect(await (await post('/admin/disconnect', admin(), { userId: 'nobody-here' })).json()).toEqual({ disconnected: 0 });
    expect(await (await post('/admin/disconnect', admin(), { connectionId: 'AAAAAAAAAAAAAAAA' })).json()).toEqual({ disconnected: 0 });
  });

  it('is for admins only: 401 without a token, 403 for users and publishers, and nothing ends', async () => {
    const s = await hub.stream('/events', hub.token('fay'));
    await expectError(await post('/admin/disconnect', undefined, { userId: 'fay' }), 401, 'unauthenticated');
    await expectError(await post('/admin/disconnect', hub.token('fay'), { userId: 'fay' }), 403, 'forbidden');
    await expectError(await post('/admin/disconnect', hub.token('svc', 'publisher'), { userId: 'fay' }), 403, 'forbidden');
    await marker();
    await s.next('marker');
    expect(s.dataOf('disconnected')).toEqual([]);
  });

  it('refuses bad bodies with 400 naming the field (415 for another content type)', async () => {
    const bad = async (json: unknown, path: string): Promise<void> => {
      const body = await expectError(await post('/admin/disconnect', admin(), json), 400, 'invalid_request');
      expect(body.error.details?.map((d) => d.path)).toContain(path);
    };
    await bad({}, 'userId');
    await bad({ userId: 'a', connectionId: 'b' }, 'userId');
    await bad({ userId: 'a', extra: 1 }, '(body)');
    await bad({ userId: 'a', reason: '' }, 'reason');
    await bad({ userId: 'a', reason: 7 }, 'reason');
    await bad({ userId: 'a', reason: 'x'.repeat(201) }, 'reason');
    await bad({ userId: '' }, 'userId');
    await bad({ connectionId: 'not a connection id!' }, 'connectionId');
    await expectError(await post('/admin/disconnect', admin()), 400, 'invalid_request');
    const malformed = await hub.call('/admin/disconnect', { method: 'POST', token: admin(), headers: { 'content-type': 'application/json' }, body: '{"userId":' });
    await expectError(malformed, 400, 'invalid_request');
    const text = await hub.call('/admin/disconnect', { method: 'POST', token: admin(), headers: { 'content-type': 'text/plain' }, body: 'userId=a' });
    await expectError(text, 415, 'unsupported_media_type');
  });
});

describe('POST /admin/revoke', () => {
  it('ends the streams holding older tokens with `token-revoked` and refuses those tokens everywhere; later tokens work', async () => {
    const old = issuedAt('gil', nowSec() - 10);
    const bare = noIat('gil');
    const s = await hub.stream('/events', old);
    const sBare = await hub.stream('/events', bare);
    const other = await hub.stream('/events', issuedAt('hal', nowSec() - 10));
    const r = await post('/admin/revoke', admin(), { userId: 'gil' });
    expect(r.status).toBe(200);
    const answer = (await r.json()) as { userId: string; before: string };
    expect(answer.userId).toBe('gil');
    expect(Math.abs(Date.parse(answer.before) - Date.now())).toBeLessThan(60_000);
    for (const stream of [s, sBare]) {
      expect(await stream.next('token-revoked')).toEqual({ reason: 'token revoked' });
      await stream.ended();
      expect(stream.frames.find((f) => f.event === 'token-revoked')?.id).toBeUndefined();
    }
    for (const t of [old, bare]) {
      const rest = await hub.call('/rooms', { token: t });
      await expectError(rest, 401, 'unauthenticated');
      expect(rest.headers.get('www-authenticate')).toMatch(/^Bearer/);
      await expectError(await post('/auth/refresh', t), 401, 'unauthenticated');
      const refused = await openStream(hub.url, '/events', { authorization: `Bearer ${t}` });
      expect(refused).not.toBeInstanceOf(RawStream);
      expect(refused).toMatchObject({ status: 401 });
    }
    // iat has one-second resolution: a token of the same second as `before` counts as at or before it.
    const beforeSec = Math.floor(Date.parse(answer.before) / 1000);
    await expectError(await hub.call('/rooms', { token: issuedAt('gil', beforeSec) }), 401, 'unauthenticated');
    const later = issuedAt('gil', beforeSec + 1);
    expect((await hub.call('/rooms', { token: later })).status).toBe(200);
    expect((await post('/auth/refresh', later)).status).toBe(200);
    await hub.stream('/events', later);
    // another user's streams and tokens are untouched
    await marker();
    await other.next('marker');
    expect(other.closed).toBe(false);
  });

  it('revokes up to a given `before`: tokens issued after it keep working, and an earlier revoke narrows nothing', async () => {
    const t0 = nowSec();
    const older = issuedAt('ida', t0 - 100);
    const newer = issuedAt('ida', t0 - 50);
    const sOld = await hub.stream('/events', older);
    const sNew = await hub.stream('/events', newer);
    const before = new Date((t0 - 75) * 1000).toISOString().replace('.000Z', '+00:00');
    const r = await post('/admin/revoke', admin(), { userId: 'ida', before });
    expect(await r.json()).toEqual({ userId: 'ida', before: new Date((t0 - 75) * 1000).toISOString() });
    await sOld.next('token-revoked');
    await sOld.ended();
    await marker();
    await sNew.next('marker');
    expect(sNew.closed).toBe(false);
    expect((await hub.call('/rooms', { token: newer })).status).toBe(200);
    // an earlier `before` afterwards does not let the older token back in
    expect((await post('/admin/revoke', admin(), { userId: 'ida', before: new Date((t0 - 200) * 1000).toISOString() })).status).toBe(200);
    expect((await hub.call('/rooms', { token: older })).status).toBe(401);
    expect((await hub.call('/rooms', { token: newer })).status).toBe(200);
  });

  it('keeps a revocation only while a token it refuses could be unexpired (TOKEN_MAX_TTL after `before`)', async () => {
    const longAgo = new Date(Date.now() - 86_400_000 - 10_000).toISOString();
    expect((await post('/admin/revoke', admin(), { userId: 'jo', before: longAgo })).status).toBe(200);
    // every token issued before then has expired (TOKEN_MAX_TTL is 1d): nothing left to refuse
    expect((await hub.call('/rooms', { token: noIat('jo') })).status).toBe(200);
  });

  it('is for admins only: 401 without a token, 403 for users and publishers, and nothing is revoked', async () => {
    const t = issuedAt('kim', nowSec() - 10);
    await expectError(await post('/admin/revoke', undefined, { userId: 'kim' }), 401, 'unauthenticated');
    await expectError(await post('/admin/revoke', t, { userId: 'kim' }), 403, 'forbidden');
    await expectError(await post('/admin/revoke', hub.token('svc', 'publisher'), { userId: 'kim' }), 403, 'forbidden');
    expect((await hub.call('/rooms', { token: t })).status).toBe(200);
  });

  it('refuses bad bodies with 400 naming the field', async () => {
    const bad = async (json: unknown, path: string): Promise<void> => {
      const body = await expectError(await post('/admin/revoke', admin(), json), 400, 'invalid_request');
      expect(body.error.details?.map((d) => d.path)).toContain(path);
    };
    await bad({}, 'userId');
    await bad({ userId: 'a', before: 'yesterday' }, 'before');
    await bad({ userId: 'a', before: '2026-01-01T00:00:00' }, 'before');
    await bad({ userId: 'a', before: 1_700_000_000 }, 'before');
    await bad({ userId: 'a', before: new Date(Date.now() + 3_600_000).toISOString() }, 'before');
    await bad({ userId: 'a', extra: true }, '(body)');
    await bad({ userId: 'a\u0000b' }, 'userId');
  });
});

describe('token lifetime (TOKEN_MAX_TTL bounds every token, so revocations can expire)', () => {
  it('refuses a token that lives longer, with or without iat', async () => {
    expect((await hub.call('/rooms', { token: mint('lu', 'user', {}, 86_400) })).status).toBe(200);
    await expectError(await hub.call('/rooms', { token: mint('lu', 'user', {}, 86_401) }), 401, 'unauthenticated');
    await expectError(await hub.call('/rooms', { token: noIat('lu', 2 * 86_400) }), 401, 'unauthenticated');
    expect((await hub.call('/rooms', { token: noIat('lu', 3600) })).status).toBe(200);
  });

  it('is configured by TOKEN_MAX_TTL (default 90 days), which JWT_TTL may not exceed', () => {
    expect(TOKEN_MAX_TTL_SEC).toBe(90 * 86_400);
    expect(loadConfig({ JWT_SECRET: TEST_SECRET }).tokenMaxTtlSec).toBe(TOKEN_MAX_TTL_SEC);
    expect(loadConfig({ JWT_SECRET: TEST_SECRET, TOKEN_MAX_TTL: '12h' }).tokenMaxTtlSec).toBe(43_200);
    expect(() => loadConfig({ JWT_SECRET: TEST_SECRET, TOKEN_MAX_TTL: '1h', JWT_TTL: '2h' })).toThrow(ConfigError);
    expect(() => loadConfig({ JWT_SECRET: TEST_SECRET, TOKEN_MAX_TTL: 'forever' })).toThrow(/TOKEN_MAX_TTL/);
  });

  it('`npm run token` will not sign a token longer than TOKEN_MAX_TTL', () => {
    const env = { PATH: process.env.PATH ?? '', JWT_SECRET: TEST_SECRET, TOKEN_MAX_TTL: '30d' };
    const run = (ttl: string): { status: number; out: string } => {
      try {
        return { status: 0, out: execFileSync(process.execPath, ['dist/cli/token.js', '--sub', 'svc', '--ttl', ttl], { env, encoding: 'utf8', stdio: 'pipe' }) };
      } catch (err) {
        const e = err as { status: number; stderr: string };
        return { status: e.status, out: e.stderr };
      }
    };
    expect(run('30d').status).toBe(0);
    const over = run('31d');
    expect(over.status).toBe(2);
    expect(over.out).toMatch(/TOKEN_MAX_TTL/);
  });
});
