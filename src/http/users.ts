import { readFileSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import { z } from 'zod';
import { USER_ID_RE } from '../core/names.js';
import type { Role } from '../core/principal.js';
import { ROLES } from './tokens.js';

/** bcrypt cost for hashes this project makes. */
export const BCRYPT_ROUNDS = 10;

const usersFileSchema = z.array(z.object({
  username: z.string().regex(USER_ID_RE),
  passwordHash: z.string().regex(/^\$2[aby]\$\d{2}\$.{53}$/, 'a bcrypt hash'),
  role: z.enum(ROLES),
}).strict());

interface UserRecord {
  passwordHash: string;
  role: Role;
}

/** The configured users: `USERS_FILE`, plus alice, bob and admin in demo mode. */
export class UserDirectory {
  private readonly users = new Map<string, UserRecord>();
  /** Compared against when the user is unknown, so both failures take the same time. */
  private readonly decoyHash = bcrypt.hashSync('roomcast-decoy', BCRYPT_ROUNDS);

  /** Loads users; throws with a message naming the file on a malformed one. */
  static load(opts: { usersFile?: string | undefined; demo: boolean }): UserDirectory {
    const dir = new UserDirectory();
    if (opts.demo) {
      // Demo passwords equal the names; hashed once at start like any configured user.
      for (const [name, role] of [['alice', 'user'], ['bob', 'user'], ['admin', 'admin']] as const) {
        dir.users.set(name, { passwordHash: bcrypt.hashSync(name, 4), role });
      }
    }
    if (opts.usersFile !== undefined) {
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(opts.usersFile, 'utf8'));
      } catch (err) {
        throw new Error(`USERS_FILE: cannot read ${opts.usersFile} as JSON (${(err as Error).message})`);
      }
      const parsed = usersFileSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(`USERS_FILE: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`);
      }
      for (const u of parsed.data) dir.users.set(u.username, { passwordHash: u.passwordHash, role: u.role });
    }
    return dir;
  }

  /** The user's role when the password is right, else null (same work either way). */
  async authenticate(username: string, password: string): Promise<Role | null> {
    const user = this.users.get(username);
    const ok = await bcrypt.compare(password, user?.passwordHash ?? this.decoyHash);
    return ok && user !== undefined ? user.role : null;
  }

  /** Number of configured users. */
  get size(): number {
    return this.users.size;
  }
}

/** A bcrypt hash of a password, for USERS_FILE. */
export function hashPassword(password: string): string {
  return bcrypt.hashSync(password, BCRYPT_ROUNDS);
}
