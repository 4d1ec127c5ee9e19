export type { BlockCommit, BlockRow, StateRow, Store, TxRow } from './types.ts'
export { openSqliteStore, SqliteStore, type SqliteStoreOptions } from './sqlite.ts'
export { lockDataDir, type DataDirLock } from './data-dir-lock.ts'
export { assertWritableDir, isStorageFault, probeDirectory, storageFault, type StorageFaultCode } from './storage-fault.ts'
