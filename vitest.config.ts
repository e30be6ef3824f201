import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Database-backed suites share PostgreSQL and Redis; files run in parallel,
    // each on its own schema / key prefix.
    pool: 'forks',
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
