/**
 * `sinew store copy`: a network's whole store from one engine to the other, losslessly —
 * every block with its txs, the state table with the height that last wrote each key (so
 * `sinew verify` checks the copy as it checked the original), the meta entries, and the
 * blobs (files in a data dir; a table in PostgreSQL). Not the state history of earlier
 * heights: proofs at past heights on the copy start at its head. A target that holds anything already
 * is refused: a copy never merges two chains.
 *
 * Blocks are copied in order, each in its own transaction with the state rows it last
 * wrote, so a copy cut short leaves a prefix of the chain; it is refused as non-empty on a
 * second try, and the operator starts again on an empty target.
 */
import { existsSync } from 'node:fs'
import { SinewError } from '../core/index.ts'
import { BlobStore } from '../datanets/index.ts'
import { isPostgresUrl, openStore, redactUrl, storeFile, type BlobTable, type Store } from '../store/index.ts'

export type CopyProgress = { phase: 'blocks' | 'blobs'; done: number; total: number }

export type CopyReport = { blocks: number; txs: number; stateKeys: number; meta: number; blobs: number; blobBytes: number; headHash: string | null }

/** Blobs of one side: the data dir's files or the store's table. */
type BlobSide = {
  list(): AsyncIterable<string>
  read(sha256: string): Promise<Uint8Array>
  put(sha256: string, bytes: Uint8Array): Promise<void>
}

type Side = { label: string; store: Store; blobs: BlobSide }

function dirBlobs(dataDir: string): BlobSide {
  const files = new BlobStore(dataDir, 1024 * 1024 * 1024)
  return {
    async *list() {
      for (const dir of files.directories().sort()) yield* files.listDirectory(dir).sort()
    },
    read: (sha) => files.read(sha),
    put: async (sha, bytes) => void (await files.put(bytes, { expected: sha })),
  }
}

function tableBlobs(table: BlobTable): BlobSide {
  return {
    async *list() {
      let after: string | null = null
      for (;;) {
        const page = await table.listBlobs(after, 500)
        for (const b of page) yield b.sha256
        if (page.length < 500) return
        after = page[page.length - 1].sha256
      }
    },
    read: async (sha) => {
      const bytes = await table.getBlob(sha)
      if (!bytes) throw new SinewError({ code: 'not_found', message: `blob not found: ${sha}`, details: { blob: sha } })
      return bytes
    },
    put: async (sha, bytes) => void (await table.putBlob(sha, bytes)),
  }
}

/** Opens `where` (a data dir or a postgres:// URL) as a source (read-only) or a target. */
async function openSide(where: string, role: 'source' | 'target'): Promise<Side> {
  if (isPostgresUrl(where)) {
    const store = await openStore(where, { readonly: role === 'source' })
    return { label: redactUrl(where), store, blobs: tableBlobs(store.blobs!) }
  }
  const file = storeFile(where)
  if (role === 'source' && !existsSync(file)) {
    throw new SinewError({
      code: 'not_found',
      message: `No chain in ${where}`,
      details: { file },
      hint: 'Name the data dir of the network to copy (it holds sinew.db).',
    })
  }
  const store = await openStore(file, { readonly: role === 'source' })
  return { label: where, store, blobs: dirBlobs(where) }
}

/** True if the target holds no block, meta entry, state row or blob. */
async function isEmpty(side: Side): Promise<boolean> {
  if (await side.store.head()) return false
  if ((await side.store.listMeta()).length > 0) return false
  for await (const _ of side.store.scanState()) return false
  for await (const _ of side.blobs.list()) return false
  return true
}

export async function copyStore(from: string, to: string, onProgress: (p: CopyProgress) => void = () => {}): Promise<CopyReport> {
  const source = await openSide(from, 'source')
  let target: Side | undefined
  try {
    target = await openSide(to, 'target')
    if (!(await isEmpty(target))) {
      throw new SinewError({
        code: 'store_not_empty',
        message: `${target.label} already holds a chain, settings or blobs: a copy goes to an empty store only`,
        details: { target: target.label },
        hint: 'Copy to a new database (CREATE DATABASE …) or an empty data dir.',
      })
    }
    const head = await source.store.head()
    // The state rows grouped by the block that last wrote them: each goes in with that block.
    const stateAt = new Map<bigint, Map<string, Uint8Array>>()
    let stateKeys = 0
    for await (const row of source.store.scanState()) {
      const writes = stateAt.get(row.height) ?? new Map<string, Uint8Array>()
      stateAt.set(row.height, writes)
      writes.set(row.key, row.value)
      stateKeys++
    }
    const total = head ? Number(head.height) + 1 : 0
    let blocks = 0
    let txs = 0
    for (let from = 0n; head && from <= head.height; ) {
      const page = await source.store.listBlocks(from, 200)
      if (page.length === 0) break
      for (const block of page) {
        const blockTxs = await source.store.getBlockTxs(block.height)
        await target.store.commitBlock({ block, txs: blockTxs, writes: stateAt.get(block.height) ?? new Map() })
        stateAt.delete(block.height)
        blocks++
        txs += blockTxs.length
        onProgress({ phase: 'blocks', done: blocks, total })
      }
      from = page[page.length - 1].height + 1n
    }
    if (stateAt.size > 0) {
      const heights = [...stateAt.keys()].map(String).slice(0, 5)
      throw new SinewError({
        code: 'integrity',
        message: `The source's state table has rows written at heights it holds no block of (${heights.join(', ')})`,
        details: { heights },
        hint: 'Run `sinew verify` on the source: its store is damaged.',
      })
    }
    const meta = await source.store.listMeta()
    for (const [key, value] of meta) await target.store.putMeta(key, value)
    // The copy carries each key's last write, not every earlier one: the target's state history
    // (proofs at past heights, GET /v1/proof?height=) starts at the head, so an earlier height is
    // refused `proof_height_unavailable` there rather than proved from incomplete history.
    if (head) await target.store.putMeta('state_history_from', head.height.toString())
    let blobs = 0
    let blobBytes = 0
    for await (const sha of source.blobs.list()) {
      const bytes = await source.blobs.read(sha)
      await target.blobs.put(sha, bytes)
      blobs++
      blobBytes += bytes.length
      onProgress({ phase: 'blobs', done: blobs, total: 0 })
    }
    return { blocks, txs, stateKeys, meta: meta.length, blobs, blobBytes, headHash: head?.hash ?? null }
  } finally {
    await target?.store.close()
    await source.store.close()
  }
}
