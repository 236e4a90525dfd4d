// HS256 tokens for the benchmark's subscribers and publisher.
import jwt from 'jsonwebtoken';

export function mintToken(secret, sub, role, ttlSec = 6 * 3600) {
  return jwt.sign({ sub, role }, secret, { algorithm: 'HS256', expiresIn: ttlSec });
}
