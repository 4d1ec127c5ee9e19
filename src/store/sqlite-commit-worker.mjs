// Worker thread for SqliteStore's block commits (sqlite.ts, `commitThread`). Plain ESM
// JavaScript that imports only npm packages, so it starts the same under `node --import tsx`,
// `npx tsx` and vitest, without a TypeScript loader in the worker (started with execArgv: []).
//
// Why: a commit with synchronous=FULL waits for the WAL's fsync, tens of ms on a busy disk,
// and better-sqlite3 waits synchronously. On the writer's thread that stalls everything else
// (HTTP parsing, decoding, the next batches' signature checks) once per block. Here it stalls
// only this thread; the block is as durable as before (same pragmas, same one transaction),
// and the writer acknowledges its txs only once this thread has answered.
//
// Protocol: workerData { file, sql } (the statements, from sqlite.ts). Each message
// { id, block, txs, writes } is committed as one transaction, in order; the answer is { id }
// or { id, error: { code, message } } (the transaction rolled back: nothing of it kept).
// { close: true } closes the connection and ends the thread.
import { createRequire } from 'node:module'
import { parentPort, workerData } from 'node:worker_threads'

const require = createRequire(import.meta.url)
const Database = require('better-sqlite3')

const { file, sql } = workerData
let db
let commit
let initError
try {
  db = new Database(file, { fileMustExist: true })
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.defaultSafeIntegers(false)
  const insertBlock = db.prepare(sql.insertBlock)
  const insertTx = db.prepare(sql.insertTx)
  const putState = db.prepare(sql.putState)
  const deleteState = db.prepare(sql.deleteState)
  const putHistory = db.prepare(sql.putHistory)
  commit = db.transaction((block, txs, writes) => {
    const height = Number(block.height)
    insertBlock.run(
      height,
      block.hash,
      block.parentHash,
      Number(block.timestamp),
      block.txRoot,
      block.stateRoot,
      block.receiptsRoot,
      block.txCount,
      block.proposer,
      block.signature,
    )
    for (const t of txs) {
      insertTx.run(
        height * 1_048_576 + t.index, // txSeq in sqlite.ts
        Buffer.from(t.hash.slice(2), 'hex'),
        height,
        t.index,
        t.type,
        t.sender,
        t.nonce.toString(),
        t.message,
        t.signature,
        t.receipt,
      )
    }
    for (const [key, value] of writes) {
      if (value === null) deleteState.run(key)
      else putState.run(key, value, height)
      putHistory.run(key, height, value)
    }
  })
} catch (err) {
  initError = err
}

const errorOf = (err) => ({ code: typeof err?.code === 'string' ? err.code : undefined, message: String(err?.message ?? err) })

parentPort.on('message', (msg) => {
  if (msg.close) {
    try {
      db?.close()
    } finally {
      parentPort.close()
    }
    return
  }
  if (initError) {
    parentPort.postMessage({ id: msg.id, error: errorOf(initError) })
    return
  }
  try {
    commit(msg.block, msg.txs, msg.writes)
    parentPort.postMessage({ id: msg.id })
  } catch (err) {
    parentPort.postMessage({ id: msg.id, error: errorOf(err) })
  }
})
