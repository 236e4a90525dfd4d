import { Router, type Request, type RequestHandler, type Response } from 'express';
import { HubError } from '../../core/errors.js';
import type { Principal } from '../../core/principal.js';
import { TOKEN_COOKIE, principalOf } from '../auth.js';
import { loginSchema, parseWith } from '../schemas.js';
import type { TokenService } from '../tokens.js';
import type { UserDirectory } from '../users.js';

function setTokenCookie(req: Request, res: Response, token: string, maxAgeSec: number): void {
  res.cookie(TOKEN_COOKIE, token, {
    httpOnly: true, sameSite: 'strict', path: '/', secure: req.secure, maxAge: maxAgeSec * 1000,
  });
}

async function answerToken(req: Request, res: Response, tokens: TokenService, p: Pick<Principal, 'userId' | 'role' | 'rooms'>): Promise<void> {
  // Right after a revocation of this user, waits for a second its `iat` is not refused in.
  const { token, expiresIn } = await tokens.issueUnrevoked(p.userId, p.role, p.rooms === undefined ? {} : { rooms: p.rooms });
  setTokenCookie(req, res, token, expiresIn);
  res.json({ token, tokenType: 'Bearer', expiresIn, user: { id: p.userId, role: p.role } });
}

/** `/auth/login`, `/auth/logout`, `/auth/refresh`. */
export function authRouter(opts: {
  tokens: TokenService;
  users: UserDirectory;
  auth: RequestHandler;
  json: RequestHandler;
  loginLimiters: RequestHandler[];
}): Router {
  const { tokens, users, auth, json } = opts;
  const router = Router();

  router.post('/auth/login', json, ...opts.loginLimiters, async (req, res) => {
    const body = parseWith(loginSchema, req.body);
    const role = await users.authenticate(body.username, body.password);
    if (role === null) throw new HubError('invalid_credentials', 'unknown user or wrong password');
    await answerToken(req, res, tokens, { userId: body.username, role, rooms: undefined });
  });

  router.post('/auth/logout', (req, res) => {
    res.clearCookie(TOKEN_COOKIE, { httpOnly: true, sameSite: 'strict', path: '/', secure: req.secure });
    res.json({ loggedOut: true });
  });

  router.post('/auth/refresh', auth, async (req, res) => {
    await answerToken(req, res, tokens, principalOf(res));
  });

  return router;
}
