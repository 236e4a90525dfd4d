import { hashPassword } from '../http/users.js';
import { HELP_OPTION, failUsage, readCommandLine } from './args.js';

/** This command, for its messages. */
const CMD = {
  name: 'hash-password',
  usage: 'usage: npm run hash-password -- <password>   (or the password on stdin; one starting with "-" goes on stdin)\n',
};

/** Reads the command line: the password argument, if any; exits on --help (0) or a bad option (2). */
function readArgs(): string | undefined {
  const { positionals } = readCommandLine(CMD, { options: { help: HELP_OPTION }, allowPositionals: true });
  if (positionals.length > 1) failUsage(CMD, `give one password, got ${positionals.length} arguments`);
  return positionals[0];
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
    failUsage(CMD, 'give a password as the argument or on stdin');
  }
  process.stdout.write(`${hashPassword(password)}\n`);
}

void main();
