/**
 * PostgreSQL in the end-to-end tests. The `postgres` vitest project (vitest.config.ts) runs
 * the ledger, Datanets, gateway and agents suites again with SINEW_TEST_ENGINE=postgres: each
 * node they start then stores its chain in a fresh database of the test server
 * (test/pg-server.ts), and its data dir's config.json names it, so the CLI commands a test
 * runs on that data dir (`sinew verify`, …) read the same chain.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { inject } from 'vitest'

export type TestEngine = 'sqlite' | 'postgres'

/** The engine this run of the suites stores chains in. */
export const testEngine = (): TestEngine => (process.env.SINEW_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite')

/** A URL of the test server as a user that may create databases. */
export function pgAdminUrl(): string {
  const url = inject('pgAdminUrl')
  if (!url) throw new Error('No PostgreSQL test server: run this file in the `postgres` vitest project (npx vitest run --project postgres …)')
  return url
}

/** A new empty database on the test server (or the server of `admin`); its URL. */
export async function freshPgDatabase(admin = pgAdminUrl(), prefix = 'sinew_test'): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  const client = new pg.Client({ connectionString: admin })
  await client.connect()
  try {
    await client.query(`CREATE DATABASE ${name}`)
  } finally {
    await client.end()
  }
  const url = new URL(admin)
  url.pathname = `/${name}`
  return url.toString()
}

/**
 * The `store` setting of a node on `dataDir` in this run: none on SQLite; on PostgreSQL a
 * fresh database, also written to the data dir's config.json (unless one names a store).
 */
export async function testStoreFlags(dataDir: string): Promise<{ store?: string }> {
  if (testEngine() !== 'postgres') return {}
  const file = join(dataDir, 'config.json')
  const existing = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {}
  if (typeof existing.store === 'string') return { store: existing.store }
  const store = await freshPgDatabase()
  mkdirSync(dataDir, { recursive: true })
  writeFileSync(file, JSON.stringify({ ...existing, store }, null, 2))
  return { store }
}
