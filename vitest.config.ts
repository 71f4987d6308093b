import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Worker threads and the Temporal native bridge do not mix.
    pool: 'forks',
    maxWorkers: 2,
    // @fastify/autoload imports routes with Node's own import(): let tsx load them.
    execArgv: ['--import', 'tsx'],
    globalSetup: ['tests/global-setup.ts'],
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
