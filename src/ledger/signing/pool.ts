/**
 * Batch signer recovery on worker threads. Recovery is ~70 µs of CPU per tx and the ledger
 * thread has everything else to do (parsing, hashing, state, SQLite), so large batches are
 * recovered off-thread; small ones inline, because a round trip to a worker costs more
 * than it saves (threshold measured in bench/signatures.bench.ts, see INLINE_BELOW).
 *
 * A batch travels as ONE SharedArrayBuffer, not as per-item objects:
 *
 *   [ item 0: digest 32 ‖ sig 65 ] … [ item m-1 ]   m × 97 bytes, written by the main thread
 *   [ status 0 … status m-1 ]                        m bytes, 1 = recovered, 0 = failed
 *   [ address 0: 20 bytes ] … [ address m-1 ]        m × 20 bytes
 *
 * Each worker gets a contiguous range and writes only its own slots, so no locking is
 * needed; the postMessage that says "done" orders its writes before our reads.
 * Signatures are checked (length, v, r/s range, low s) on the main thread first, so the
 * results — including errors — are exactly those of inline `recoverSigner`.
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { toHex, type Hex } from '../../core/index.ts'
import { InvalidSignatureError, checkSignature, recoverChecked, recoveryFailed } from './signature.ts'

export type RecoveryItem = { digest: Uint8Array; signature: Uint8Array }
export type RecoveryResult = Hex | InvalidSignatureError

const ITEM = 97

/**
 * Batches smaller than this are recovered inline. Measured on 2 cores, Node 20
 * (bench/signatures.bench.ts, median latency, 2 workers): a worker round trip costs
 * ~0.15 ms, so 1 item is 3x slower pooled (0.20 vs 0.07 ms); 4–8 items break even (within
 * noise); 16 items are 1.2x faster pooled (0.80 vs 0.99 ms), 100 items 1.5x, 1000 items
 * 1.8x (28.8k vs 14.9k recoveries/s). Below 16 the gain is at most ~0.1 ms and a worker
 * wake-up under load can cost more, so those stay inline. From 16 up the pool also leaves
 * the ledger thread ~96% of the recovery time (2.6 ms of main-thread time per 1000 tx vs 67).
 */
export const INLINE_BELOW = 16

type Job = { resolve: () => void; reject: (e: Error) => void; worker: PoolWorker }
type PoolWorker = { worker: Worker; pending: number; dead: boolean }

export class SignatureRecoveryPool {
  /** Number of worker threads; 0 means every batch is recovered inline. */
  readonly size: number
  readonly inlineBelow: number
  private workers: PoolWorker[] = []
  private jobs = new Map<number, Job>()
  private nextId = 1
  private closed = false

  constructor(opts: { workers?: number; inlineBelow?: number } = {}) {
    // Default: one worker per core. On 2 cores the main thread keeps working (parsing and
    // hashing the next batch) while both workers recover; the OS shares the cores.
    this.size = Math.max(0, Math.floor(opts.workers ?? Math.min(availableParallelism(), 4)))
    this.inlineBelow = opts.inlineBelow ?? INLINE_BELOW
    for (let i = 0; i < this.size; i++) this.workers.push(this.spawn())
  }

  private spawn(): PoolWorker {
    // execArgv: [] — the worker is plain JS; inheriting `--import tsx` would only slow its start.
    const worker = new Worker(new URL('./recover-worker.mjs', import.meta.url), { execArgv: [] })
    const pw: PoolWorker = { worker, pending: 0, dead: false }
    worker.unref() // idle workers never keep the process alive; ref()'d while a job runs
    worker.on('message', (msg: { id: number; error?: string }) => {
      const job = this.jobs.get(msg.id)
      if (!job) return
      this.jobs.delete(msg.id)
      this.release(pw)
      if (msg.error) job.reject(new Error(`signature worker failed: ${msg.error}`))
      else job.resolve()
    })
    const fail = (err: Error) => {
      if (pw.dead) return
      pw.dead = true
      for (const [id, job] of this.jobs) {
        if (job.worker === pw) {
          this.jobs.delete(id)
          job.reject(err)
        }
      }
      // Replace a crashed worker so one bad event does not shrink the pool for good.
      const i = this.workers.indexOf(pw)
      if (i !== -1 && !this.closed) this.workers[i] = this.spawn()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`signature worker exited with code ${code}`)))
    return pw
  }

  private release(pw: PoolWorker): void {
    if (--pw.pending === 0 && !pw.dead) pw.worker.unref()
  }

  private run(pw: PoolWorker, sab: SharedArrayBuffer, count: number, start: number, end: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const id = this.nextId++
      this.jobs.set(id, { resolve, reject, worker: pw })
      if (pw.pending++ === 0) pw.worker.ref()
      pw.worker.postMessage({ id, sab, count, start, end })
    })
  }

  /** Recovers every item's signer; order preserved; a bad signature gives its InvalidSignatureError in place. */
  async recoverMany(items: readonly RecoveryItem[]): Promise<RecoveryResult[]> {
    const results: RecoveryResult[] = new Array(items.length)
    if (this.size === 0 || this.closed || items.length < this.inlineBelow) {
      for (let i = 0; i < items.length; i++) results[i] = recoverOne(items[i])
      return results
    }

    // Check on this thread (cheap) and pack only the well-formed items.
    const valid: number[] = []
    for (let i = 0; i < items.length; i++) {
      const { digest, signature } = items[i]
      const err = digest.length !== 32 ? digestError(digest) : checkSignature(signature)
      if (err) results[i] = err
      else valid.push(i)
    }
    const m = valid.length
    if (m === 0) return results
    const sab = new SharedArrayBuffer(m * (ITEM + 21))
    const buf = new Uint8Array(sab)
    for (let j = 0; j < m; j++) {
      const { digest, signature } = items[valid[j]]
      buf.set(digest, j * ITEM)
      buf.set(signature, j * ITEM + 32)
    }

    const workers = this.workers.filter((w) => !w.dead)
    const parts = Math.min(workers.length, m)
    const runs: Promise<void>[] = []
    for (let p = 0; p < parts; p++) {
      const start = Math.floor((p * m) / parts)
      const end = Math.floor(((p + 1) * m) / parts)
      runs.push(this.run(workers[p], sab, m, start, end))
    }
    await Promise.all(runs)

    const statusAt = m * ITEM
    const addrAt = statusAt + m
    for (let j = 0; j < m; j++) {
      results[valid[j]] = buf[statusAt + j] === 1 ? toHex(buf.subarray(addrAt + 20 * j, addrAt + 20 * j + 20)) : recoveryFailed()
    }
    return results
  }

  /** Stops the workers. Batches still running are rejected; later calls recover inline. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    const workers = this.workers
    this.workers = []
    for (const w of workers) w.dead = true
    for (const [id, job] of this.jobs) {
      this.jobs.delete(id)
      job.reject(new Error('SignatureRecoveryPool closed'))
    }
    // Ask each worker to close its port and end on its own: terminate() tears a worker down
    // from outside, which can abort the process when a native addon (secp256k1) is mid-call
    // or finalizing (secp256k1-node#172). terminate() stays as the fallback after 2 s.
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(
              () =>
                void w.worker.terminate().then(
                  () => resolve(),
                  () => resolve(),
                ),
              2000,
            )
            timer.unref()
            w.worker.once('exit', () => {
              clearTimeout(timer)
              resolve()
            })
            w.worker.ref()
            w.worker.postMessage({ close: true })
          }),
      ),
    )
  }
}

function digestError(digest: Uint8Array): InvalidSignatureError {
  return new InvalidSignatureError({ reason: 'recovery_failed', message: 'Digest must be 32 bytes', details: { digestLength: digest.length } })
}

/** The inline path, returning errors instead of throwing (same results as recoverSigner). */
export function recoverOne(item: RecoveryItem): RecoveryResult {
  if (item.digest.length !== 32) return digestError(item.digest)
  const err = checkSignature(item.signature)
  if (err) return err
  return recoverChecked(item.digest, item.signature) ?? recoveryFailed()
}
