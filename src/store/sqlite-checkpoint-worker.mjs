/**
 * The SQLite store's checkpointer (src/store/sqlite.ts): a worker thread with its own
 * connection to the database, copying the WAL's committed frames into the database file
 * (a PASSIVE checkpoint, which never blocks the writer or readers), so the node's thread
 * never does it inside a commit. Each checkpoint syncs the WAL before and the database
 * after (synchronous=NORMAL), as SQLite's own auto-checkpoint does.
 *
 * Messages in: 'commit' (a block was committed: checkpoint once idle), 'close'. Out:
 * { checkpointed: number } after each, { error } if one failed (the next commit retries).
 */
import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'

const db = new Database(workerData.file, { fileMustExist: true })
db.pragma('synchronous = NORMAL')
db.pragma('wal_autocheckpoint = 0')
db.pragma('busy_timeout = 5000')

let pending = false
let running = false

function run() {
  if (running || !pending) return
  running = true
  pending = false
  // Off the current turn, so a burst of commits coalesces into one checkpoint.
  setImmediate(() => {
    try {
      const [row] = db.pragma('wal_checkpoint(PASSIVE)')
      parentPort.postMessage({ checkpointed: row?.checkpointed ?? 0 })
    } catch (e) {
      parentPort.postMessage({ error: String(e?.message ?? e) })
    }
    running = false
    run()
  })
}

parentPort.on('message', (msg) => {
  if (msg === 'close') {
    db.close()
    parentPort.close()
    return
  }
  pending = true
  run()
})
