import { configDefaults, defineConfig } from 'vitest/config'

/**
 * The end-to-end suites that run on both store engines: once on SQLite (the default, with
 * everything else) and once on PostgreSQL (the `postgres` project: a real server started by
 * test/pg-server.ts, a fresh database per node: test/pg.ts).
 */
const BOTH_ENGINES = ['test/ledger-api.test.ts', 'test/datanets-api.test.ts', 'test/gateway-e2e.test.ts', 'test/agents-cli.test.ts', 'test/agents-mcp.test.ts']

const shared = { pool: 'forks' as const, testTimeout: 60_000, hookTimeout: 60_000 }

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: 'sqlite',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/**/*.pg.test.ts'],
          // Builds web/dist if stale, once, before the browser tests (test/web-*.test.ts) run.
          globalSetup: ['test/global-setup.ts'],
        },
      },
      {
        test: {
          ...shared,
          name: 'postgres',
          include: [...BOTH_ENGINES, 'src/**/*.pg.test.ts', 'test/**/*.pg.test.ts'],
          env: { SINEW_TEST_ENGINE: 'postgres' },
          globalSetup: ['test/pg-server.ts'],
        },
      },
    ],
  },
})
