// The hub's real publish script (from the build, wherever the Redis backend lives) and the
// arguments of one ~200-byte event for it, built as src/broker/redis-broker.ts builds them.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the build keeps scripts.js, before and after the backend moved to src/backend/redis. */
const CANDIDATES = ['dist/broker/scripts.js', 'dist/backend/redis/scripts.js'];

/** PUBLISH_LUA as the build has it; throws (naming `npm run build`) when there is no build. */
export async function loadPublishLua() {
  for (const rel of CANDIDATES) {
    const file = path.join(ROOT, rel);
    if (!existsSync(file)) continue;
    const mod = await import(pathToFileURL(file).href);
    if (typeof mod.PUBLISH_LUA === 'string') return { lua: mod.PUBLISH_LUA, from: rel };
  }
  throw new Error(`PUBLISH_LUA not found in ${CANDIDATES.join(' or ')}: run \`npm run build\` first`);
}

/** The data JSON of a bench event: `bytes` long. */
export function dataJson(bytes = 200) {
  const base = JSON.stringify({ text: '' });
  return JSON.stringify({ text: 'x'.repeat(Math.max(0, bytes - base.length)) });
}

/**
 * KEYS and ARGV of one publish (prefix P, room, history size), in the script's order:
 * seq, history | channel, maxlen, header, frameB, frameC1, data, frameC2.
 */
export function publishArgs(prefix, { room = 'bench-room', historySize = 1000, data = dataJson() } = {}) {
  const type = 'chat-message';
  const h = { t: type, r: room, u: null, c: null, f: null, s: 'bench-publisher', o: null, ts: new Date().toISOString() };
  const b = `\nevent: ${type}\ndata: {"id":"`;
  const c1 = `","type":${JSON.stringify(type)},"data":`;
  const c2 = `,"room":${JSON.stringify(h.r)},"userId":null,"sender":${JSON.stringify(h.s)},"timestamp":${JSON.stringify(h.ts)}}\n\n`;
  return [`${prefix}seq`, `${prefix}history`, `${prefix}bus`, historySize, JSON.stringify(h), b, c1, data, c2];
}
