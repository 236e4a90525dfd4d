import { parseArgs } from 'node:util';
import { hashPassword } from '../http/users.js';

const USAGE = 'usage: npm run hash-password -- <password>   (or the password on stdin; one starting with "-" goes on stdin)\n';

/** Reads the command line: the password argument, if any; exits on --help (0) or a bad option (2). */
function readArgs(): string | undefined {
  let parsed;
  try {
    parsed = parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  } catch (err) {
    process.stderr.write(`hash-password: ${(err as Error).message.split(/\.\s|\n/)[0]}\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.values.help === true) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  if (parsed.positionals.length > 1) {
    process.stderr.write(`hash-password: give one password, got ${parsed.positionals.length} arguments\n${USAGE}`);
    process.exit(2);
  }
  return parsed.positionals[0];
}

/** `npm run hash-password -- <password>` (or the password on stdin): prints a bcrypt hash for USERS_FILE. */
async function main(): Promise<void> {
  let password = readArgs();
  if (password === undefined) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  if (password === '') {
    process.stderr.write(`hash-password: give a password as the argument or on stdin\n${USAGE}`);
    process.exit(2);
  }
  process.stdout.write(`${hashPassword(password)}\n`);
}

void main();
