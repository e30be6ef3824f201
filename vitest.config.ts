import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Database-backed suites share PostgreSQL and Redis; files run in parallel,
    // each on its own schema / key prefix.
    pool: 'forks',
    // Three files at once on two cores: many tests wait on child processes, servers, browsers and
    // databases, so a third fork fills the time the other two spend waiting.
    maxWorkers: 3,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
