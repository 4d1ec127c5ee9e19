/**
 * `sinew verify`: replays a store's chain from its genesis into a fresh in-memory state,
 * re-checking every tx hash, signature, nonce, receipt, root, header hash and sequencer
 * signature, then compares the replayed state with the store's state table. The first
 * difference is reported with its block and field.
 */
import { bytesEqual, toHex, SinewError, type Hex } from '../core/index.ts'
import type { Store } from '../store/index.ts'
import { BlockMismatchError, Chain } from './chain.ts'
import { parseGenesis } from './genesis.ts'
import type { TxKindRegistry } from './kinds.ts'
import { SignatureRecoveryPool } from './signing/index.ts'
import type { SignedTx } from './tx.ts'

export type ReplayOptions = {
  workers?: number
  onProgress?: (p: { height: bigint; head: bigint; txs: number }) => void
}

export type ReplayMismatch = { height: string; field: string; expected: string; actual: string; details: Record<string, unknown> }

export type ReplayReport = {
  ok: boolean
  genesisHash: Hex
  blocks: number
  txs: number
  stateKeys: number
  headHash: Hex | null
  stateRoot: Hex | null
  seconds: number
  mismatch?: ReplayMismatch
}

export async function replayChain(store: Store, registry: TxKindRegistry, options: ReplayOptions = {}): Promise<ReplayReport> {
  const started = performance.now()
  const genesisJson = await store.getMeta('genesis')
  if (!genesisJson) throw new SinewError({ code: 'integrity', message: `No genesis in the store at ${store.location}`, hint: 'Is this a Sinew data dir?' })
  const chain = Chain.inMemory(parseGenesis(JSON.parse(genesisJson)), registry)
  const storedHead = await store.head()
  const head = storedHead?.height ?? 0n
  const pool = new SignatureRecoveryPool({ workers: options.workers ?? 2 })
  let txs = 0
  let blocks = 0
  const report = (mismatch?: ReplayMismatch): ReplayReport => ({
    ok: mismatch === undefined,
    genesisHash: chain.genesisHash,
    blocks,
    txs,
    stateKeys: chain.state.size,
    headHash: chain.head.hash,
    stateRoot: chain.head.stateRoot,
    seconds: (performance.now() - started) / 1000,
    ...(mismatch ? { mismatch } : {}),
  })
  try {
    const block0 = await store.getBlock(0n)
    if (!block0 || block0.hash !== chain.head.hash) {
      throw new BlockMismatchError({ height: 0n, field: 'hash', expected: chain.head.hash, actual: block0?.hash ?? 'missing' })
    }
    blocks = 1
    const BATCH = 200
    for (let from = 1n; from <= head; from += BigInt(BATCH)) {
      const headers = await store.listBlocks(from, BATCH)
      for (let k = 0; k < headers.length; k++) {
        const header = headers[k]
        const expectedHeight = from + BigInt(k)
        if (header.height !== expectedHeight)
          throw new BlockMismatchError({
            height: expectedHeight,
            field: 'height',
            expected: expectedHeight,
            actual: `missing (next stored is ${header.height})`,
          })
        const rows = await store.getBlockTxs(header.height)
        const decoded = rows.map((row, i) => {
          if (row.index !== i) throw new BlockMismatchError({ height: header.height, field: `txs[${i}].index`, expected: i, actual: row.index })
          return chain.decodeRow(row, header.height, i)
        })
        const senders = await pool.recoverMany(decoded.map((tx) => ({ digest: tx.digest, signature: tx.signature })))
        const signed: SignedTx[] = decoded.map((tx, i) => chain.checkSender(tx, senders[i], rows[i], header.height, i))
        const execution = await chain.applyBlock(header, signed)
        execution.included.forEach((x, i) => {
          if (x.receiptJson !== rows[i].receipt)
            throw new BlockMismatchError({
              height: header.height,
              field: `txs[${i}].receipt`,
              expected: x.receiptJson,
              actual: rows[i].receipt,
              details: { txHash: x.tx.hash },
            })
        })
        txs += rows.length
        blocks++
        options.onProgress?.({ height: header.height, head, txs })
      }
      if (headers.length < BATCH) break
    }
    if (chain.head.height !== head) throw new BlockMismatchError({ height: chain.head.height + 1n, field: 'height', expected: head, actual: 'missing block' })
    // The state table must equal the replayed state, key by key.
    const seen = new Set<string>()
    for await (const row of store.scanState()) {
      seen.add(row.key)
      const replayed = chain.state.get(row.key)
      if (!replayed || !bytesEqual(replayed, row.value)) {
        throw new BlockMismatchError({
          height: row.height,
          field: `state[${row.key}]`,
          expected: replayed ? toHex(replayed) : 'absent',
          actual: toHex(row.value),
          details: {
            key: row.key,
            note: `the stored row says block ${row.height} wrote it last`,
          },
        })
      }
    }
    for (const [key] of chain.state.entries()) {
      if (!seen.has(key))
        throw new BlockMismatchError({ height: chain.head.height, field: `state[${key}]`, expected: 'present', actual: 'absent', details: { key } })
    }
    return report()
  } catch (e) {
    if (e instanceof BlockMismatchError) {
      return report({ height: e.height.toString(), field: e.field, expected: String(e.details.expected), actual: String(e.details.actual), details: e.details })
    }
    throw e
  } finally {
    await pool.close()
  }
}
