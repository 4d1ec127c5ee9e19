/**
 * `sinew verify`: replays a store's chain from its genesis into a fresh in-memory state,
 * re-checking every tx hash, signature, nonce, receipt, root, header hash and sequencer
 * signature, then compares the replayed state with the store's state table. The first
 * difference is reported: in a block (stage `block`: its height and field), or in the state
 * table (stage `state`: the key, both values, and which block last wrote the key in the
 * replay and according to the stored row), which is only checked once every block replayed.
 */
import { bytesEqual, toHex, SinewError, type Hex } from '../core/index.ts'
import type { Store } from '../store/index.ts'
import { BlockMismatchError, Chain } from './chain.ts'
import { parseGenesis } from './genesis.ts'
import type { TxKindRegistry } from './kinds.ts'
import { SignatureRecoveryPool } from './signing/index.ts'
import { storedDelegator, type SignedTx } from './tx.ts'

export type ReplayOptions = {
  workers?: number
  onProgress?: (p: { height: bigint; head: bigint; txs: number }) => void
}

/**
 * Stage `block`: block `height` differs from its re-execution in `field`. Stage `state`: after
 * replaying every block through `height` (the head), the state table differs at `field`
 * (`state[key]`); details say which block last wrote the key in the replay (`lastWrittenBy`:
 * a height, `0` for genesis, `none`) and what the stored row claims (`storedHeight`, or `absent`).
 */
export type ReplayMismatch = {
  stage: 'block' | 'state'
  height: string
  field: string
  expected: string
  actual: string
  details: Record<string, unknown>
}

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
  /** Which block last wrote each key in the replay (genesis is 0): named when the state table differs. */
  const lastWrite = new Map<string, bigint>()
  for (const [key] of chain.state.entries()) lastWrite.set(key, 0n)
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
          return chain.decodeRow({ ...row, delegator: storedDelegator(row.receipt) }, header.height, i)
        })
        const senders = await pool.recoverMany(decoded.map((tx) => ({ digest: tx.digest, signature: tx.signature })))
        const signed: SignedTx[] = decoded.map((tx, i) => chain.checkSender(tx, senders[i], rows[i], header.height, i))
        const execution = await chain.applyBlock(header, signed)
        for (const key of execution.writes.keys()) lastWrite.set(key, header.height)
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
    // A head block deleted from the store leaves its txs behind: name the block, not the
    // state keys it wrote.
    const orphans = await store.getBlockTxs(head + 1n)
    if (orphans.length > 0)
      throw new BlockMismatchError({
        height: head + 1n,
        field: 'height',
        expected: head + 1n,
        actual: `missing (its ${orphans.length} txs are stored, the block is not)`,
        details: { txHash: orphans[0].hash },
      })
    // The state table must equal the replayed state, key by key.
    const stateMismatch = (key: string, replayed: Uint8Array | undefined, stored: { value: Uint8Array; height: bigint } | undefined): ReplayMismatch => ({
      stage: 'state',
      height: chain.head.height.toString(),
      field: `state[${key}]`,
      expected: replayed ? toHex(replayed) : 'absent',
      actual: stored ? toHex(stored.value) : 'absent',
      details: { key, lastWrittenBy: lastWrite.get(key)?.toString() ?? 'none', storedHeight: stored ? stored.height.toString() : 'absent' },
    })
    const seen = new Set<string>()
    for await (const row of store.scanState()) {
      seen.add(row.key)
      const replayed = chain.state.get(row.key)
      if (!replayed || !bytesEqual(replayed, row.value)) return report(stateMismatch(row.key, replayed, row))
    }
    for (const [key, value] of chain.state.entries()) {
      if (!seen.has(key)) return report(stateMismatch(key, value, undefined))
    }
    return report()
  } catch (e) {
    if (e instanceof BlockMismatchError) {
      return report({
        stage: 'block',
        height: e.height.toString(),
        field: e.field,
        expected: String(e.details.expected),
        actual: String(e.details.actual),
        details: e.details,
      })
    }
    throw e
  } finally {
    await pool.close()
  }
}
