import { ConfigError, loadConfig, loadEnvFile, parseDurationSec, type Config } from '../config.js';
import { isRoomId, isUserId } from '../core/names.js';
import type { Role } from '../core/principal.js';
import { ROLES, TokenService } from '../http/tokens.js';
import { HELP_OPTION, failUsage, readCommandLine } from './args.js';

/** This command, for its messages. */
const CMD = { name: 'token', usage: 'usage: npm run token -- --sub <id> [--role user|publisher|admin] [--ttl 30d] [--rooms a,b*]\n' };

/** Prints `token: <msg>` and the usage to stderr; exits 2. */
const fail = (msg: string): never => failUsage(CMD, msg);

/** `npm run token -- --sub billing --role publisher --ttl 30d [--rooms a,b*]`: prints a signed token. */
function main(): void {
  const { values } = readCommandLine(CMD, {
    options: {
      sub: { type: 'string' },
      role: { type: 'string', default: 'publisher' },
      ttl: { type: 'string', default: '30d' },
      rooms: { type: 'string' },
      help: HELP_OPTION,
    },
  });
  if (values.sub === undefined || !isUserId(values.sub)) fail('--sub must be a user id (1-128 characters, no control characters)');
  if (!(ROLES as readonly string[]).includes(values.role)) fail(`--role must be one of ${ROLES.join(', ')}`);
  const ttlSec = parseDurationSec(values.ttl) ?? fail('--ttl must be seconds or like 15m, 12h, 30d');
  const rooms = values.rooms?.split(',').map((r) => r.trim()).filter(Boolean);
  for (const r of rooms ?? []) if (!isRoomId(r.endsWith('*') ? r.slice(0, -1) || 'x' : r)) fail(`invalid room pattern "${r}"`);

  let config: Config;
  try {
    loadEnvFile('.env');
    // The service token must verify on the hub, so it needs the hub's own secret.
    config = loadConfig({ ...process.env, DEMO: 'false' });
  } catch (err) {
    fail(err instanceof ConfigError ? err.message : String(err));
    return;
  }
  // The hub refuses a token that lives longer (revocations are kept only that long).
  if (ttlSec > config.tokenMaxTtlSec) fail(`--ttl must not exceed TOKEN_MAX_TTL (${config.tokenMaxTtlSec} s); rotate the token instead`);
  const tokens = new TokenService({ secret: config.jwtSecret }, ttlSec);
  process.stdout.write(`${tokens.issue(values.sub as string, values.role as Role, rooms ? { rooms } : {}).token}\n`);
}

main();
