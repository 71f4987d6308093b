import { defineConfig } from 'vitest/config';

/**
 * Five projects, run one after another by `npm test` (package.json): `unit` needs nothing running;
 * `integration` shares one Temporal dev server and a template database (tests/global-setup.ts), two
 * files at a time; `console` drives Chromium and `reliability` kills and restarts processes, so their
 * files run one at a time, never beside another heavy suite on two cores; `cluster` starts a
 * self-hosted Temporal Server and several processes of each kind of its own (scripts/cluster/).
 */
const shared = {
  // Worker threads and the Temporal native bridge do not mix.
  pool: 'forks' as const,
  // @fastify/autoload imports routes with Node's own import(): let tsx load them.
  execArgv: ['--import', 'tsx'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
};

export default defineConfig({
  test: {
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      { test: { ...shared, name: 'unit', include: ['tests/unit/**/*.test.ts'] } },
      {
        test: {
          ...shared,
          name: 'integration',
          include: ['tests/**/*.test.ts'],
          exclude: ['tests/unit/**', 'tests/reliability/**', 'tests/console/**', 'tests/cluster/**'],
          globalSetup: ['tests/global-setup.ts'],
        },
      },
      {
        test: {
          ...shared,
          name: 'console',
          include: ['tests/console/**/*.test.ts'],
          globalSetup: ['tests/global-setup.ts'],
        },
      },
      {
        test: {
          ...shared,
          name: 'reliability',
          include: ['tests/reliability/**/*.test.ts'],
          globalSetup: ['tests/global-setup.ts'],
        },
      },
      // A self-hosted Temporal Server with several processes of each kind (npm run cluster): its own.
      // Never two clusters at once: each holds dozens of PostgreSQL connections.
      { test: { ...shared, name: 'cluster', include: ['tests/cluster/**/*.test.ts'], fileParallelism: false } },
    ],
  },
});
