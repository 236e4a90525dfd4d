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
  rooms: z.array(roomPattern).max(256).optional(),
});

/** How tokens are signed and checked; the algorithm is pinned. */
export interface TokenKeys {
  /** HS256 secret (signing and, without a public key, verification). */
  secret: string;
  /** When set, RS256 tokens (issued elsewhere) are also accepted, verified with this PEM key. */
  publicKey?: string | undefined;
}

/** Verified tokens remembered (fast-jwt's cache, keyed by the whole token): reconnects verify again for free. */
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

/** Issues and verifies roomcast tokens. */
export class TokenService {
  /** The signing key, built once (given a string, jsonwebtoken would rebuild it on every call). */
  private readonly secret: KeyObject;
  /** Each verifier is pinned to one algorithm and one key. */
  private readonly verifyHs256: (token: string) => unknown;
  private readonly verifyRs256: ((token: string) => unknown) | undefined;

  constructor(keys: TokenKeys, readonly ttlSec: number) {
    this.secret = createSecretKey(Buffer.from(keys.secret, 'utf8'));
    this.verifyHs256 = createVerifier({ key: keys.secret, algorithms: ['HS256'], cache: VERIFIED_TOKEN_CACHE });
    this.verifyRs256 = keys.publicKey === undefined
      ? undefined
      : createVerifier({ key: keys.publicKey, algorithms: ['RS256'], cache: VERIFIED_TOKEN_CACHE });
  }

  /** Signs an HS256 token for a user. */
  issue(sub: string, role: Role, opts: { ttlSec?: number; rooms?: readonly string[] } = {}): { token: string; expiresIn: number } {
    const expiresIn = opts.ttlSec ?? this.ttlSec;
    const payload: Record<string, unknown> = { role };
    if (opts.rooms !== undefined) payload.rooms = [...opts.rooms];
    const token = jwt.sign(payload, this.secret, { algorithm: 'HS256', subject: sub, expiresIn });
    return { token, expiresIn };
  }

  /** Verifies a token and its claims; null when it is forged, expired, of another algorithm or malformed. */
  verify(token: string): Principal | null {
    if (token.length > 8192) return null;
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
    const { sub, role, exp, rooms } = parsed.data;
    return { userId: sub, role, exp, rooms };
  }
}
