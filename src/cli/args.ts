import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command's name and usage line, for its messages. */
export interface Command {
  readonly name: string;
  readonly usage: string;
}

/** Prints `<name>: <msg>` and the usage to stderr; exits 2. */
export function failUsage(cmd: Command, msg: string): never {
  process.stderr.write(`${cmd.name}: ${msg}\n${cmd.usage}`);
  process.exit(2);
}

/** The `--help`/`-h` option every command takes (readCommandLine answers it). */
export const HELP_OPTION = { type: 'boolean', short: 'h' } as const;

/**
 * Reads the command line with node:util's parseArgs (whose options include HELP_OPTION as `help`):
 * prints the usage and exits 0 on help; a bad option prints its first line and the usage and
 * exits 2 (no stack trace).
 */
export function readCommandLine<T extends ParseArgsConfig>(cmd: Command, config: T): ReturnType<typeof parseArgs<T>> {
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(config);
  } catch (err) {
    failUsage(cmd, (err as Error).message.split(/\.\s|\n/)[0] ?? String(err));
  }
  if ((parsed.values as Record<string, unknown>).help === true) {
    process.stdout.write(cmd.usage);
    process.exit(0);
  }
  return parsed;
}
