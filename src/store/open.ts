/**
 * Opens the store a node or a tool is configured with: the SQLite file in the data dir by
 * default, or PostgreSQL when `store` is a `postgres://` URL.
 */
import { join } from 'node:path'
import { isPostgresUrl, openPostgresStore } from './postgres.ts'
import { openSqliteStore } from './sqlite.ts'
import type { Store } from './types.ts'

/** The SQLite file of a data dir. */
export const storeFile = (dataDir: string): string => join(dataDir, 'sinew.db')

/** The store a config names: a PostgreSQL URL, or (unset or `sqlite`) the data dir's SQLite file. */
export const storeLocation = (config: { store?: string; dataDir: string }): string =>
  config.store && isPostgresUrl(config.store) ? config.store : storeFile(config.dataDir)

/** Opens a store by location: a `postgres://` URL or a SQLite file path. */
export function openStore(location: string, options: { readonly?: boolean } = {}): Promise<Store> {
  return isPostgresUrl(location) ? openPostgresStore(location, options) : Promise.resolve(openSqliteStore(location, options))
}
