import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The container tests (`npm run test:docker`, which starts the engine they use):
// one file at a time, since each runs a compose project on a 2-core machine, and
// room for an image build in a file's setup.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/docker/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 20 * 60_000,
    teardownTimeout: 60_000,
    globalSetup: ['test/docker/images.ts'],
    reporters: ['default'],
  },
});
