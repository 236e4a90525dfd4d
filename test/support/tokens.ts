// The one token minter of the tests, and the secret every test hub (in-process or child) verifies with.
import jwt from 'jsonwebtoken';
import type { Role } from '../../src/core/principal.js';

/** The secret every test hub signs and verifies with. */
export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

/** Mints an HS256 token for `sub` (the test secret unless another is given). */
export function mint(sub: string, role: Role = 'user', claims: Record<string, unknown> = {}, ttlSec = 3600, secret = TEST_SECRET): string {
  return jwt.sign({ role, ...claims }, secret, { algorithm: 'HS256', subject: sub, expiresIn: ttlSec });
}
