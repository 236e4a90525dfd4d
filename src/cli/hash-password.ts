import { hashPassword } from '../http/users.js';

/** `npm run hash-password -- <password>` (or the password on stdin): prints a bcrypt hash for USERS_FILE. */
async function main(): Promise<void> {
  let password = process.argv[2];
  if (password === undefined) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  if (password === '') {
    process.stderr.write('hash-password: give a password as the argument or on stdin\n');
    process.exit(2);
  }
  process.stdout.write(`${hashPassword(password)}\n`);
}

void main();
