import cluster from 'node:cluster';
import { ConfigError, loadConfig, loadEnvFile, type Config } from './config.js';
import { startHub } from './server.js';

/** Exit code for a configuration error. */
const EXIT_CONFIG = 78;

function readConfig(): Config {
  try {
    // A .env file is read once at start; variables already set win.
    loadEnvFile('.env');
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`roomcast: invalid configuration: ${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
}

async function runNode(config: Config): Promise<void> {
  let running;
  try {
    running = await startHub(config);
  } catch (err) {
    process.stderr.write(`roomcast: cannot start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const { logger } = running;
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = true;
    const hardStop = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    hardStop.unref();
    running.shutdown(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
}

/** WORKERS=N: the primary forks N workers sharing the port, each its own node of the hub. */
function runPrimary(config: Config): void {
  const base = config.nodeId;
  let stopping = false;
  const fork = (i: number): void => {
    const worker = cluster.fork({ NODE_ID: `${base}-w${i}` });
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      process.stderr.write(`roomcast: worker ${i} exited (${signal ?? code}); restarting\n`);
      setTimeout(() => fork(i), 1000);
    });
  };
  for (let i = 1; i <= config.workers; i++) fork(i);
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    const deadline = setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 1000);
    deadline.unref();
    const check = setInterval(() => {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        clearInterval(check);
        process.exit(0);
      }
    }, 50);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const config = readConfig();
if (config.workers > 1 && cluster.isPrimary) runPrimary(config);
else void runNode(config);
