import { createSecretKey, type KeyObject } from 'node:crypto';
import { createVerifier } from 'fast-jwt';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import { isRoomId, USER_ID_RE } from '../core/names.js';
import type { Principal, Role } from '../core/principal.js';

/** Roles in the order of their power. */
export const ROLES = ['user', 'publisher', 'admin'] as const satisfies readonly Role[];

const roomPattern = z.string().refine((p) => isRoomId(p.endsWith('*') ? p.slice(0, -1) || 'x' : p), 'room id or prefix* pattern');

/** The claims roomcast reads from a verified token. */
const claimsSchema = z.object({
  sub: z.string().regex(USER_ID_RE),
  role: z.enum(ROLES),
  exp: z.number().int().positive(),
  iat: z.number().int().nonnegative().optional(),
  rooms: z.array(roomPattern).max(256).optional(),
});

/** How tokens are signed and checked; the algorithm is pinned. */
export interface TokenKeys {
  /** HS256 secret (signing and, without a public key, verification). */
  secret: string;
  /** When set, RS256 tokens (issued elsewhere) are also accepted, verified with this PEM key. */
  publicKey?: string | undefined;
}

/** Verified tokens remembered, keyed by the whole token: a reconnect costs no signature check. */
export const VERIFIED_TOKEN_CACHE = 10_000;

/** The `alg` of a token's header, without verifying anything; undefined when unreadable. */
function headerAlg(token: string): unknown {
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  try {
    return (JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8')) as { alg?: unknown }).alg;
  } catch {
    return undefined;
  }
}

/** What a TokenService checks beyond the signature and claims. */
export interface TokenChecks {
  /** Longest lifetime (exp - iat) accepted, in seconds (TOKEN_MAX_TTL); unbounded when absent. */
  maxTtlSec?: number;
  /** The revocations this process knows of. */
  revocations?: { refuses(userId: string, iat: number | undefined): boolean };
}

/** Issues and verifies roomcast tokens. */
export class TokenService {
  /** The signing key, built once (given a string, jsonwebtoken would rebuild it on every call). */
  private readonly secret: KeyObject;
  /** Each verifier is pinned to one algorithm and one key. */
  private readonly verifyHs256: (token: string) => unknown;
  private readonly verifyRs256: ((token: string) => unknown) | undefined;
  /** Principals of tokens verified lately, oldest first (a reconnect verifies nothing again). */
  private readonly verified = new Map<string, Principal>();

  constructor(keys: TokenKeys, readonly ttlSec: number, private readonly checks: TokenChecks = {}) {
    this.secret = createSecretKey(Buffer.from(keys.secret, 'utf8'));
    this.verifyHs256 = createVerifier({ key: keys.secret, algorithms: ['HS256'] });
    this.verifyRs256 = keys.publicKey === undefined ? undefined : createVerifier({ key: keys.publicKey, algorithms: ['RS256'] });
  }

  /** Signs an HS256 token for a user. */
  issue(sub: string, role: Role, opts: { ttlSec?: number; rooms?: readonly string[] } = {}): { token: string; expiresIn: number } {
    const expiresIn = opts.ttlSec ?? this.ttlSec;
    const payload: Record<string, unknown> = { role };
    if (opts.rooms !== undefined) payload.rooms = [...opts.rooms];
    const token = jwt.sign(payload, this.secret, { algorithm: 'HS256', subject: sub, expiresIn });
    return { token, expiresIn };
  }

  /**
   * Signs like `issue`, but never a token the user's revocation refuses at once: `iat` has whole
   * seconds, so right after `POST /admin/revoke` this waits (under a second) for the next second.
   * A revocation whose `before` lies further ahead is not waited for.
   */
  async issueUnrevoked(sub: string, role: Role, opts: { ttlSec?: number; rooms?: readonly string[] } = {}): Promise<{ token: string; expiresIn: number }> {
    const refuses = (iat: number): boolean => this.checks.revocations?.refuses(sub, iat) ?? false;
    for (let tries = 0; tries < 3; tries++) {
      const now = Math.floor(Date.now() / 1000);
      if (!refuses(now) || refuses(now + 1)) break;
      await new Promise((resolve) => setTimeout(resolve, (now + 1) * 1000 - Date.now() + 5));
    }
    return this.issue(sub, role, opts);
  }

  /** Verifies a token and its claims; null when it is forged, expired, of another algorithm or malformed. */
  verify(token: string): Principal | null {
    if (token.length > 8192) return null;
    const known = this.verified.get(token);
    if (known !== undefined) {
      if (known.exp * 1000 > Date.now()) return known;
      this.verified.delete(token);
      return null;
    }
    const principal = this.check(token);
    // Remembered only when the answer cannot change but by expiry (a token with `iat`).
    if (principal !== null && principal.iat !== undefined) {
      if (this.verified.size >= VERIFIED_TOKEN_CACHE) this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(token, principal);
    }
    return principal;
  }

  /** Signature, algorithm, claims and lifetime of a token not seen before. */
  private check(token: string): Principal | null {
    let decoded: unknown;
    try {
      // Each key verifies only its own algorithm: RS256 with the public key (tokens issued
      // elsewhere), HS256 with the secret (our own logins). Anything else, `none` included, fails.
      decoded = headerAlg(token) === 'RS256' && this.verifyRs256 !== undefined ? this.verifyRs256(token) : this.verifyHs256(token);
    } catch {
      return null;
    }
    const parsed = claimsSchema.safeParse(decoded);
    if (!parsed.success) return null;
    const { sub, role, exp, iat, rooms } = parsed.data;
    if (!this.withinMaxTtl(exp, iat)) return null;
    return { userId: sub, role, exp, iat, rooms };
  }

  /**
   * True when the token lives no longer than TOKEN_MAX_TTL, which bounds how long a revocation
   * must be kept. Without `iat` its lifetime is unknown; it is at least what is left of it.
   */
  private withinMaxTtl(exp: number, iat: number | undefined): boolean {
    const max = this.checks.maxTtlSec;
    if (max === undefined) return true;
    return exp - (iat ?? Math.floor(Date.now() / 1000)) <= max;
  }

  /** True when the token was revoked (`POST /admin/revoke`): issued at or before its user's revocation, or without `iat`. */
  revoked(principal: Principal): boolean {
    return this.checks.revocations?.refuses(principal.userId, principal.iat) ?? false;
  }
}
