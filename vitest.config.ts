import { defineConfig } from 'vitest/config';

/**
 * Files that replace modules (`vi.mock`) or change the process's working folder need a fresh
 * module graph; every other file shares its worker's, so the engine's modules load once per
 * worker instead of once per file (about a second each on two cores).
 */
const ISOLATED = ['test/dormancy/scoring-fallback.test.ts', 'test/project/first-hour.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Database-backed suites share PostgreSQL and Redis; files run in parallel,
    // each on its own schema / key prefix.
    pool: 'forks',
    // Three files at once on two cores: many tests wait on child processes, servers, browsers and
    // databases, so a third fork fills the time the other two spend waiting.
    maxWorkers: 3,
    globalSetup: ['test/helpers/global-setup.ts'],
    projects: [
      { extends: true, test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: ISOLATED, isolate: false } },
      { extends: true, test: { name: 'isolated', include: ISOLATED } },
    ],
  },
});
