// Worker thread for SignatureRecoveryPool (pool.ts). Plain ESM JavaScript that imports only
// npm packages, so it starts the same under `node --import tsx`, `npx tsx` and vitest,
// without a TypeScript loader in the worker (pool.ts starts it with execArgv: []).
//
// Protocol: the main thread packs a batch into one SharedArrayBuffer (layout in pool.ts)
// and posts { id, sab, count, start, end }. The worker recovers items [start, end), writes
// status (1 = recovered, 0 = no key recovers) and the 20-byte address of each into the same
// buffer, then posts { id }. Nothing per item crosses the thread boundary.
import { createRequire } from 'node:module'
import { parentPort } from 'node:worker_threads'

const require = createRequire(import.meta.url)

let secp
try {
  secp = require('secp256k1/bindings.js')
} catch {
  secp = require('secp256k1/elliptic.js')
}

// keccak256 on hash-wasm's WebAssembly Keccak with one reused hasher, as in
// src/core/hash.ts (this worker cannot import TypeScript).
let keccak
try {
  const { createKeccak } = await import('hash-wasm')
  const hasher = await createKeccak(256)
  keccak = (buf) => {
    hasher.init()
    hasher.update(buf)
    return Buffer.from(hasher.digest('binary'))
  }
} catch {
  const { keccak_256 } = await import('@noble/hashes/sha3')
  keccak = (buf) => Buffer.from(keccak_256(buf))
}

const ITEM = 97 // digest 32 ‖ signature 65
const pub = Buffer.alloc(65) // ecdsaRecover writes the uncompressed key here: no allocation per item

function recoverRange(sab, count, start, end) {
  const buf = Buffer.from(sab)
  const statusAt = count * ITEM
  const addrAt = statusAt + count
  for (let i = start; i < end; i++) {
    const o = i * ITEM
    const v = buf[o + 96]
    try {
      secp.ecdsaRecover(buf.subarray(o + 32, o + 96), v >= 27 ? v - 27 : v, buf.subarray(o, o + 32), false, pub)
    } catch {
      buf[statusAt + i] = 0
      continue
    }
    const hash = keccak(pub.subarray(1))
    hash.copy(buf, addrAt + 20 * i, 12, 32)
    buf[statusAt + i] = 1
  }
}

parentPort.on('message', (msg) => {
  if (msg.close) {
    // A clean end: closing the port lets this thread's event loop finish by itself.
    parentPort.close()
    return
  }
  try {
    recoverRange(msg.sab, msg.count, msg.start, msg.end)
    parentPort.postMessage({ id: msg.id })
  } catch (err) {
    parentPort.postMessage({ id: msg.id, error: String(err?.stack ? err.stack : err) })
  }
})
