import { defineConfig } from 'vitest/config';

// Tests speak to real servers over real sockets; give them room and run files in parallel forks.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 10_000,
    reporters: ['default'],
  },
});
