import { configDefaults, defineConfig } from 'vitest/config';

// Tests speak to real servers over real sockets; give them room and run files in parallel forks.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The container tests need an engine of their own: `npm run test:docker` (test/docker/run.sh).
    exclude: [...configDefaults.exclude, 'test/docker/**'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 10_000,
    reporters: ['default'],
  },
});
