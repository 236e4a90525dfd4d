import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './support/hub.js';
import { mint, TEST_SECRET } from './support/tokens.js';

let hub: TestHub;
let usersFile: string;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'roomcast-auth-'));
  usersFile = join(dir, 'users.json');
  writeFileSync(usersFile, JSON.stringify([
    { username: 'carol', passwordHash: bcrypt.hashSync('s3cret-pass', 4), role: 'publisher' },
  ]));
  hub = await startTestHub({ DEMO: 'true', USERS_FILE: usersFile, LOGIN_RATE_LIMIT: '3', TRUST_PROXY: 'true' });
});
afterAll(async () => hub.close());

let nextAddress = 1;
/** Each login comes from its own client address unless the test says otherwise. */
const login = (username: string, password: string, headers: Record<string, string> = {}) =>
  hub.call('/auth/login', { method: 'POST', json: { username, password }, headers: { 'x-forwarded-for': `192.0.2.${nextAddress++}`, ...headers } });

describe('POST /auth/login', () => {
  it('validates the body (before any failed attempt counts against the limits)', async () => {
    const r = await hub.call('/auth/login', { method: 'POST', json: { username: 'alice' }, headers: { 'x-forwarded-for': '198.51.100.1' } });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error: { code: 'invalid_request', details: [{ path: 'password' }] } });
  });

  it('logs in a demo user: token, Bearer, expiresIn, user, and an HttpOnly SameSite=Strict cookie', async () => {
    const r = await login('alice', 'alice');
    expect(r.status).toBe(200);
    const body = (await r.json()) as { token: string; tokenType: string; expiresIn: number; user: { id: string; role: string } };
    expect(body.tokenType).toBe('Bearer');
    expect(body.expiresIn).toBe(3600);
    expect(body.user).toEqual({ id: 'alice', role: 'user' });
    const claims = jwt.verify(body.token, TEST_SECRET, { algorithms: ['HS256'] }) as jwt.JwtPayload;
    expect(claims.sub).toBe('alice');
    expect(claims.role).toBe('user');
    const cookie = r.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^roomcast_token=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/i);
  });

  it('marks the cookie Secure behind https (X-Forwarded-Proto with TRUST_PROXY)', async () => {
    const proxied = await startTestHub({ DEMO: 'true', TRUST_PROXY: 'true' });
    try {
      const r = await proxied.call('/auth/login', { method: 'POST', json: { username: 'bob', password: 'bob' }, headers: { 'x-forwarded-proto': 'https' } });
      expect(r.headers.get('set-cookie')).toMatch(/Secure/i);
    } finally {
      await proxied.close();
    }
  });

  it('logs in a USERS_FILE user with its role', async () => {
    const r = await login('carol', 's3cret-pass');
    expect(r.status).toBe(200);
    expect(((await r.json()) as { user: unknown }).user).toEqual({ id: 'carol', role: 'publisher' });
  });

  it('answers unknown user and wrong password with the same 401 invalid_credentials', async () => {
    const a = await login('nobody', 'x');
    const b = await login('carol', 'wrong');
    expect(a.status).toBe(401);
    expect(b.status).toBe(401);
    expect(await a.json()).toEqual(await b.json());
    expect(await (await login('alice', 'nope')).json()).toMatchObject({ error: { code: 'invalid_credentials' } });
  });

  it('rate limits failed logins per username with 429 rate_limited and Retry-After', async () => {
    let last: Response | undefined;
    for (let i = 0; i < 5; i++) last = await login('bob', 'wrong');
    expect(last?.status).toBe(429);
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await last?.json()).toMatchObject({ error: { code: 'rate_limited' } });
  });

  it('rate limits failed logins per client address across usernames', async () => {
    const limited = await startTestHub({ DEMO: 'true', LOGIN_RATE_LIMIT: '3' });
    try {
      let last: Response | undefined;
      for (let i = 0; i < 5; i++) {
        last = await limited.call('/auth/login', { method: 'POST', json: { username: `u${i}`, password: 'x' } });
      }
      expect(last?.status).toBe(429);
    } finally {
      await limited.close();
    }
  });

});

describe('tokens', () => {
  const stats = (headers: Record<string, string>) => hub.call('/rooms', { headers });

  it('accepts a valid bearer token', async () => {
    expect((await stats({ authorization: `Bearer ${mint('u1')}` })).status).toBe(200);
  });

  it('refuses alg none, expired, wrong-key and garbage tokens with 401 unauthenticated', async () => {
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'eve', role: 'admin', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url')}.`;
    const expired = jwt.sign({ role: 'admin', exp: Math.floor(Date.now() / 1000) - 10 }, TEST_SECRET, { algorithm: 'HS256', subject: 'eve' });
    const forged = mint('eve', 'admin', {}, 600, 'another-secret-that-is-long-enough-0123456789');
    const hs512 = jwt.sign({ role: 'admin' }, TEST_SECRET, { algorithm: 'HS512', subject: 'eve', expiresIn: 600 });
    const badRole = mint('eve', 'root' as never);
    for (const t of [none, expired, forged, hs512, badRole, 'garbage', '']) {
      const r = await stats({ authorization: `Bearer ${t}` });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await r.json()).toMatchObject({ error: { code: 'unauthenticated' } });
    }
  });

  it('prefers the Authorization header over the query and cookie', async () => {
    const r = await hub.call(`/rooms?access_token=${mint('u2')}`, { headers: { authorization: 'Bearer invalid', cookie: `roomcast_token=${mint('u3')}` } });
    expect(r.status).toBe(401);
  });

  it('passes over another Authorization scheme (HTTP Basic) to the query and the cookie', async () => {
    const basic = { authorization: 'Basic YTpi' };
    expect((await hub.call(`/auth/refresh?access_token=${mint('via-query')}`, { method: 'POST', headers: basic })).status).toBe(200);
    const byCookie = await hub.call('/auth/refresh', { method: 'POST', headers: { ...basic, cookie: `roomcast_token=${mint('via-cookie')}` } });
    expect(((await byCookie.json()) as { user: { id: string } }).user.id).toBe('via-cookie');
    expect((await hub.call('/rooms', { headers: basic })).status).toBe(401);
    expect((await hub.call(`/rooms?access_token=${mint('u4')}`, { headers: { authorization: 'Bearer' } })).status).toBe(401);
  });

  it('refresh answers a fresh token in the login shape; logout clears the cookie', async () => {
    const t = mint('dave', 'publisher', { rooms: ['a*'] });
    const r = await hub.call('/auth/refresh', { method: 'POST', token: t });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { token: string; user: unknown; tokenType: string };
    expect(body.user).toEqual({ id: 'dave', role: 'publisher' });
    expect((jwt.verify(body.token, TEST_SECRET) as jwt.JwtPayload).rooms).toEqual(['a*']);
    expect((await hub.call('/auth/refresh', { method: 'POST' })).status).toBe(401);
    const out = await hub.call('/auth/logout', { method: 'POST' });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/roomcast_token=;.*Expires=Thu, 01 Jan 1970/);
  });
});

describe('RS256 with JWT_PUBLIC_KEY', () => {
  it('accepts RS256 tokens of the matching key; refuses other keys and HS256 signed with the PEM (algorithm confusion)', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const rs = await startTestHub({ JWT_PUBLIC_KEY: pem });
    try {
      const good = jwt.sign({ role: 'user' }, privateKey, { algorithm: 'RS256', subject: 'rsa-user', expiresIn: 600 });
      expect((await rs.call('/rooms', { token: good })).status).toBe(200);
      const confused = jwt.sign({ role: 'admin' }, pem, { algorithm: 'HS256', subject: 'eve', expiresIn: 600 });
      expect((await rs.call('/rooms', { token: confused })).status).toBe(401);
      const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const forged = jwt.sign({ role: 'admin' }, otherKey, { algorithm: 'RS256', subject: 'eve', expiresIn: 600 });
      expect((await rs.call('/rooms', { token: forged })).status).toBe(401);
      // The hub's own logins (HS256 with JWT_SECRET) keep working beside RS256.
      expect((await rs.call('/rooms', { token: rs.token('own-login') })).status).toBe(200);
    } finally {
      await rs.close();
    }
  });
});

describe('commands', () => {
  it('npm run token mints a service token the hub accepts; hash-password prints a bcrypt hash', async () => {
    const out = execFileSync(process.execPath, ['dist/cli/token.js', '--sub', 'billing', '--role', 'publisher', '--ttl', '30d'], {
      env: { PATH: process.env.PATH ?? '', JWT_SECRET: TEST_SECRET }, encoding: 'utf8',
    }).trim();
    const claims = jwt.verify(out, TEST_SECRET) as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: 'billing', role: 'publisher' });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(30 * 86_400);
    const r = await hub.call('/broadcast', { method: 'POST', token: out, json: { type: 'x' } });
    expect(r.status).toBe(202);
    const hash = execFileSync(process.execPath, ['dist/cli/hash-password.js', 'hunter22'], { encoding: 'utf8' }).trim();
    expect(bcrypt.compareSync('hunter22', hash)).toBe(true);
  });

  it('the token command refuses a bad role with a message and non-zero exit', () => {
    expect(() => execFileSync(process.execPath, ['dist/cli/token.js', '--sub', 'x', '--role', 'root'], {
      env: { PATH: process.env.PATH ?? '', JWT_SECRET: TEST_SECRET }, encoding: 'utf8', stdio: 'pipe',
    })).toThrow(/role/);
  });
});

describe('login right after a revocation', () => {
  it('answers a token that works at once (its iat is past the revocation), while the older one is refused', async () => {
    const tokenOf = async (r: Response): Promise<string> => {
      expect(r.status).toBe(200);
      return ((await r.json()) as { token: string }).token;
    };
    const old = await tokenOf(await login('alice', 'alice'));
    // Early in a second, so the login below falls in the revocation's second (the case being fixed).
    const ms = Date.now() % 1000;
    if (ms > 500) await new Promise((resolve) => setTimeout(resolve, 1000 - ms + 10));
    const revoked = await hub.call('/admin/revoke', { method: 'POST', token: hub.token('root', 'admin'), json: { userId: 'alice' } });
    expect(revoked.status).toBe(200);
    const before = Math.floor(Date.parse(((await revoked.json()) as { before: string }).before) / 1000);
    const fresh = await tokenOf(await login('alice', 'alice'));
    expect((jwt.decode(fresh) as jwt.JwtPayload).iat).toBeGreaterThan(before);
    expect((await hub.call('/rooms', { token: fresh })).status).toBe(200);
    expect((await hub.call('/rooms', { token: old })).status).toBe(401);
    // /auth/refresh with the new token answers one that works too
    const refreshed = await tokenOf(await hub.call('/auth/refresh', { method: 'POST', token: fresh }));
    expect((await hub.call('/rooms', { token: refreshed })).status).toBe(200);
  });
});
