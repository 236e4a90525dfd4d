import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, loadEnvFile, parseDurationSec, type Config } from '../config.js';
import { isRoomId, isUserId } from '../core/names.js';
import type { Role } from '../core/principal.js';
import { ROLES, TokenService } from '../http/tokens.js';

const USAGE = 'usage: npm run token -- --sub <id> [--role user|publisher|admin] [--ttl 30d] [--rooms a,b*]\n';

/** Prints `token: <msg>` and the usage to stderr; exits 2. */
function fail(msg: string): never {
  process.stderr.write(`token: ${msg}\n${USAGE}`);
  process.exit(2);
}

/** Reads the options; exits on --help (usage, 0) or a bad option (one line and the usage, 2). */
function readArgs() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        sub: { type: 'string' },
        role: { type: 'string', default: 'publisher' },
        ttl: { type: 'string', default: '30d' },
        rooms: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    fail((err as Error).message.split(/\.\s|\n/)[0] ?? String(err));
  }
  if (parsed.values.help === true) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  return parsed.values;
}

/** `npm run token -- --sub billing --role publisher --ttl 30d [--rooms a,b*]`: prints a signed token. */
function main(): void {
  const values = readArgs();
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
