/**
 * Content-addressed blob store (DESIGN section 4): `<dataDir>/blobs/sha256/ab/cdef…`.
 * A write streams into a temp file while hashing, is fsynced, then renamed into place, so
 * a blob is either absent or complete. Reads check the hash. Blobs are not ledger state.
 *
 * On a store that keeps blobs itself (PostgreSQL, shared by several nodes: `shared`), the
 * files are this node's cache of that table: a write is in the table before it resolves,
 * and a read the cache lacks comes from the table (hash checked), so every node on the
 * database serves every blob and can rebuild any index from the database alone.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs'
import { open, readFile, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Readable } from 'node:stream'
import { SinewError } from '../core/index.ts'
import { storageFault, type BlobTable } from '../store/index.ts'

export const SHA256_HEX = /^[0-9a-f]{64}$/
export const DEFAULT_MAX_BLOB_BYTES = 64 * 1024 * 1024

export type BlobInfo = { sha256: string; size: number }

/** The blob is over `limit` bytes (the store's limit, or a lower one an upload was held to). */
export const blobTooLarge = (limit: number): SinewError =>
  new SinewError({ code: 'blob_too_large', message: `The blob is over the ${limit}-byte limit`, details: { field: 'body', limitBytes: limit } })

/** A blob of another length than a signed tx declares. */
export const sizeMismatch = (declared: number | bigint | string, actual: number | string): SinewError =>
  new SinewError({
    code: 'size_mismatch',
    message: `The content has ${actual} bytes, but the signed tx declares ${declared}`,
    details: { field: 'tx.message.size', declared: String(declared), actual: String(actual) },
    hint: 'Sign the size of exactly these bytes.',
  })

/** Normalises `abc…`, `0xabc…` or `sha256:abc…` to 64 lowercase hex digits. */
export function parseSha256(value: string, field = 'sha256'): string {
  const hex = value.replace(/^(0x|sha256:)/i, '').toLowerCase()
  if (!SHA256_HEX.test(hex))
    throw new SinewError({
      code: 'invalid_field',
      message: `${field} must be a sha256: 64 hex digits (optionally 0x-prefixed)`,
      details: { field, got: value.slice(0, 80) },
    })
  return hex
}

/** The same bytes stored again: the file's mtime (its age for garbage collection) starts again. False if it is not there. */
function refreshed(path: string): boolean {
  const now = new Date()
  try {
    utimesSync(path, now, now)
    return true
  } catch {
    return false
  }
}

export class BlobStore {
  readonly root: string
  private readonly tmp: string

  /** Told of every blob newly stored, however it came (upload, a replica's fetch, a test). */
  onCreate: ((sha256: string) => void) | undefined

  constructor(
    dataDir: string,
    readonly maxBytes: number = DEFAULT_MAX_BLOB_BYTES,
    /** The store's blob table, where several nodes share it (PostgreSQL). */
    readonly shared?: BlobTable,
  ) {
    this.root = join(dataDir, 'blobs', 'sha256')
    this.tmp = join(dataDir, 'blobs', 'tmp')
    mkdirSync(this.root, { recursive: true })
    mkdirSync(this.tmp, { recursive: true })
    // Temp files of writes cut short by a crash are garbage.
    for (const name of readdirSync(this.tmp)) rmSync(join(this.tmp, name), { force: true })
  }

  path(sha256: string): string {
    return join(this.root, sha256.slice(0, 2), sha256.slice(2))
  }

  has(sha256: string): boolean {
    return existsSync(this.path(sha256))
  }

  /** Size and mtime (when it was stored, or last paid for again: its age for garbage collection). */
  stat(sha256: string): (BlobInfo & { mtimeMs: number }) | undefined {
    try {
      const st = statSync(this.path(sha256))
      return { sha256, size: st.size, mtimeMs: st.mtimeMs }
    } catch {
      return undefined
    }
  }

  /** Removes a blob (garbage collection). */
  remove(sha256: string): void {
    rmSync(this.path(sha256), { force: true })
  }

  /** The two-hex-digit directories blobs live in. */
  directories(): string[] {
    return readdirSync(this.root).filter((d) => /^[0-9a-f]{2}$/.test(d))
  }

  /** The sha256s of the blobs in one of `directories()`. */
  listDirectory(dir: string): string[] {
    try {
      return readdirSync(join(this.root, dir))
        .map((name) => dir + name)
        .filter((sha) => SHA256_HEX.test(sha))
    } catch {
      return []
    }
  }

  /**
   * Stores bytes from a stream or buffer. With `expected`, refuses content whose sha256
   * differs (`hash_mismatch`); with `size`, content of another length (`size_mismatch`);
   * with `maxBytes`, a lower limit than the store's, whose excess throws `tooLarge()`.
   * A refused upload keeps nothing.
   */
  async put(
    source: Readable | Uint8Array,
    opts: { expected?: string; size?: number; maxBytes?: number; tooLarge?: () => SinewError; cacheOnly?: boolean } = {},
  ): Promise<BlobInfo & { created: boolean }> {
    const stored = await this.putFile(source, opts)
    // Durable in the shared table before the write is answered (unless it came from there).
    if (this.shared && !opts.cacheOnly) await this.shared.putBlob(stored.sha256, await readFile(this.path(stored.sha256)))
    return stored
  }

  private async putFile(
    source: Readable | Uint8Array,
    opts: { expected?: string; size?: number; maxBytes?: number; tooLarge?: () => SinewError },
  ): Promise<BlobInfo & { created: boolean }> {
    const limit = Math.min(this.maxBytes, opts.maxBytes ?? this.maxBytes)
    const tmpFile = join(this.tmp, randomBytes(12).toString('hex'))
    const hash = createHash('sha256')
    let size = 0
    const out = createWriteStream(tmpFile, { flags: 'wx' })
    // A failed write (a full disk) reaches the write and end callbacks below; without a
    // listener the stream's 'error' event would also be thrown, and take the node down.
    out.on('error', () => {})
    const write = (chunk: Uint8Array) =>
      new Promise<void>((resolve, reject) => {
        out.write(chunk, (e) => (e ? reject(e) : resolve()))
      })
    try {
      const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = source instanceof Uint8Array ? [source] : (source as AsyncIterable<Uint8Array>)
      for await (const chunk of chunks) {
        size += chunk.length
        if (size > limit) throw limit < this.maxBytes && opts.tooLarge ? opts.tooLarge() : blobTooLarge(this.maxBytes)
        hash.update(chunk)
        await write(chunk)
      }
      await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())))
      const sha256 = hash.digest('hex')
      if (opts.expected !== undefined && opts.expected !== sha256) {
        throw new SinewError({
          code: 'hash_mismatch',
          message: `The content hashes to ${sha256}, not to the declared ${opts.expected}`,
          details: { field: 'sha256', declared: opts.expected, actual: sha256, size },
          hint: 'The bytes changed on the way, or the declared hash is of another file.',
        })
      }
      if (size === 0) throw new SinewError({ code: 'empty_blob', message: 'The blob is empty', details: { field: 'body' } })
      if (opts.size !== undefined && size !== opts.size) throw sizeMismatch(opts.size, size)
      const fh = await open(tmpFile, 'r+')
      await fh.sync()
      await fh.close()
      const dest = this.path(sha256)
      if (refreshed(dest)) {
        await rm(tmpFile, { force: true })
        return { sha256, size, created: false }
      }
      mkdirSync(join(this.root, sha256.slice(0, 2)), { recursive: true })
      await rename(tmpFile, dest)
      const dir = await open(join(this.root, sha256.slice(0, 2)), 'r')
      await dir.sync().catch(() => {})
      await dir.close()
      this.onCreate?.(sha256)
      return { sha256, size, created: true }
    } catch (e) {
      out.destroy()
      await rm(tmpFile, { force: true }).catch(() => {})
      // Drain what the client still sends so the answer reaches it.
      if (!(source instanceof Uint8Array)) source.resume?.()
      throw storageFault(e, dirname(this.root), 'the blob was not stored') ?? e
    }
  }

  /** The whole blob, its sha256 checked: a blob changed on disk is an `integrity` error, never served. */
  async read(sha256: string): Promise<Buffer> {
    let bytes: Buffer
    try {
      bytes = await readFile(this.path(sha256))
    } catch {
      const fromTable = await this.shared?.getBlob(sha256)
      if (fromTable) {
        await this.put(fromTable, { expected: sha256, cacheOnly: true })
        return Buffer.from(fromTable)
      }
      throw new SinewError({
        code: 'not_found',
        message: `blob not found: ${sha256}`,
        details: { blob: sha256 },
        hint: 'Upload it with PUT /v1/blobs (the answer gives its sha256).',
      })
    }
    const actual = createHash('sha256').update(bytes).digest('hex')
    if (actual !== sha256) {
      throw new SinewError({
        code: 'integrity',
        message: `Blob ${sha256} on disk hashes to ${actual}: it was changed or damaged`,
        details: { sha256, actual, path: this.path(sha256) },
      })
    }
    return bytes
  }
}
