import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Database-backed suites share PostgreSQL and Redis; files run in parallel,
    // each on its own schema / key prefix.
    pool: 'forks',
    // Two files at once: many tests wait on child processes, servers and databases, so two
    // forks on two cores finish the suite in about half the time of vitest's default of one.
    maxWorkers: 2,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
